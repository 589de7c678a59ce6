import { describe, expect, it } from 'vitest';

import { ConfigError, parseConfig } from './config.js';

describe('coordinated-cluster flags', () => {
  it('reads --coordinator, --replication-factor and --lease-ttl', () => {
    const config = parseConfig([
      '--coordinator',
      'etcd://10.0.0.9:2379,10.0.0.10:2379',
      '--replication-factor',
      '5',
      '--lease-ttl',
      '3s',
      '--node',
      '10.0.0.1:9090',
    ]);
    expect(config.coordinator).toEqual(['10.0.0.9:2379', '10.0.0.10:2379']);
    expect(config.replicationFactor).toBe(5);
    expect(config.leaseTtlMs).toBe(3_000);
    expect(parseConfig([]).leaseTtlMs).toBe(5_000);
  });

  it.each([
    [['--coordinator', '10.0.0.9:2379'], /--coordinator: must start with etcd:\/\//],
    [['--coordinator', 'etcd://10.0.0.9'], /--coordinator: must be etcd:\/\/host:port/],
    [['--coordinator', 'etcd://a:1', '--cluster', 'a:2'], /give one of them/],
    [['--replication-factor', '3'], /--replication-factor: only with --coordinator/],
    [['--coordinator', 'etcd://a:1', '--port', '0'], /--node: required with --coordinator/],
    [['--coordinator', 'etcd://a:1', '--lease-ttl', '1500ms'], /--lease-ttl: etcd leases count whole seconds/],
    [['--coordinator', 'etcd://a:1', '--lease-ttl', '500ms'], /--lease-ttl: must be a duration/],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseConfig(argv)).toThrow(ConfigError);
    expect(() => parseConfig(argv)).toThrow(message);
  });
});
