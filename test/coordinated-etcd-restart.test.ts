/**
 * etcd killed (SIGKILL) and restarted in the middle of a keyed write load on a coordinated cluster.
 * Nodes keep their leases across etcd's restart (etcd renews them), so no primary moves; writes may
 * stall while etcd is away (a node that cannot renew its lease stops serving as primary) and resume
 * by themselves. Every acknowledged event is read back exactly once, in key order; no client restart.
 */
import { SluiceClient } from '@sluice/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { evenlySpreadOver, startCoordinatedCluster, waitForMap, type CoordinatedCluster } from './helpers/coordinated-cluster.js';
import { etcdAvailable } from './helpers/etcd-process.js';
import { readBackPerKey, startKeyedLoad } from './helpers/keyed-load.js';

const CONTAINERS = 8;
const SEGMENTS = 6;
const KEYS = 12;
const WINDOW = 8;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const describeEtcd = etcdAvailable() ? describe : describe.skip;

describeEtcd('etcd restarted under a write load', () => {
  let cluster: CoordinatedCluster;

  beforeAll(async () => {
    cluster = await startCoordinatedCluster(3, { containers: CONTAINERS, leaseTtl: '3s' });
    // Settled: no primary moves during the test (there is no replication here to carry data along).
    await waitForMap(cluster.nodes[0]!, evenlySpreadOver(cluster.endpoints), 20_000, 'an even spread');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('keeps every acknowledged event exactly once, in key order, and writes resume without a client restart', async () => {
    const client = new SluiceClient({ endpoints: cluster.endpoints, retryWindowMs: 60_000, connectTimeoutMs: 1_000 });
    const stream = 'etcd/restart';
    await client.createStream(stream, { segments: SEGMENTS });
    const keys = Array.from({ length: KEYS }, (_, k) => `key-${k}`);
    const load = startKeyedLoad(client, stream, keys, { window: WINDOW });

    await sleep(500);
    const beforeKill = load.total();
    await cluster.etcd.kill('SIGKILL');
    await sleep(1_000);
    await cluster.etcd.restart();
    const afterRestart = load.total();
    // Writes resume once etcd is back: wait (bounded) for clear progress past the restart.
    const deadline = Date.now() + 30_000;
    while (load.total() < afterRestart + 200 && Date.now() < deadline) await sleep(50);
    await load.stop();

    expect(beforeKill).toBeGreaterThan(0);
    expect(load.total()).toBeGreaterThanOrEqual(afterRestart + 200);
    expect(load.failures).toEqual([]);
    for (const key of keys) expect(load.acked.get(key)).toBe(load.written.get(key));

    const seen = await readBackPerKey(client, stream, keys, load.total());
    for (const key of keys) expect(seen.get(key), key).toEqual(Array.from({ length: load.written.get(key)! }, (_, seq) => seq));
    await client.close();
  });
});
