import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress } from './address.js';

describe('parseAddress (client endpoints and the server --node/--cluster alike)', () => {
  it('reads host:port, [ipv6]:port and names', () => {
    expect(parseAddress('127.0.0.1:9090')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseAddress('[::1]:9091')).toEqual({ host: '::1', port: 9091 });
    expect(parseAddress('node-2.example:65535')).toEqual({ host: 'node-2.example', port: 65535 });
    expect(formatAddress('::1', 9091)).toBe('[::1]:9091');
    expect(formatAddress('127.0.0.1', 9090)).toBe('127.0.0.1:9090');
  });

  it('says what is wrong with anything else', () => {
    expect(parseAddress('localhost')).toBe('"localhost" is not host:port');
    expect(parseAddress(':9090')).toBe('":9090" is not host:port');
    expect(parseAddress('a b:9090')).toBe('"a b:9090" has no usable host');
    expect(parseAddress('a,b:9090')).toBe('"a,b:9090" has no usable host');
    expect(parseAddress('host:0')).toBe('"host:0" has no port in 1-65535');
    expect(parseAddress('host:0', true)).toEqual({ host: 'host', port: 0 });
    expect(parseAddress('host:65536')).toBe('"host:65536" has no port in 1-65535');
    expect(parseAddress('host:+80')).toBe('"host:+80" has no port in 1-65535');
    expect(parseAddress('host:8.0')).toBe('"host:8.0" has no port in 1-65535');
  });
});
