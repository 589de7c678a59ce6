/**
 * The data plane of a replicated cluster, with real processes: etcd and three sluice-server
 * --coordinator nodes (RF 3) on loopback, a keyed write load, and real faults (SIGKILL, SIGSTOP).
 * What is acknowledged is read back exactly once in key order whatever happened to the primary.
 */
import { SluiceClient } from '@sluice/client';
import { containerOfSegment } from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';

import { clusterMapOf, evenlySpreadOver, startCoordinatedCluster, waitForMap, type CoordinatedCluster } from './helpers/coordinated-cluster.js';
import { etcdAvailable } from './helpers/etcd-process.js';
import { readBackPerKey, startKeyedLoad, type KeyedLoad } from './helpers/keyed-load.js';
import type { ServerProcess } from './helpers/server-process.js';

const LEASE_TTL_MS = 2_000;
const CONTAINERS = 4;
const STREAM = 'shop/orders';
const KEYS = Array.from({ length: 8 }, (_, k) => `key-${k}`);

const describeEtcd = etcdAvailable() ? describe : describe.skip;

let cluster: CoordinatedCluster | null = null;
let client: SluiceClient | null = null;
afterEach(async (context) => {
  if (context.task.result?.state === 'fail') {
    // What the data plane did, for the failure report.
    for (const node of cluster?.nodes ?? []) {
      console.log(`--- ${node.address}\n${node.output().split('\n').slice(-60).join('\n')}`);
    }
  }
  await client?.close();
  await cluster?.stop();
  client = null;
  cluster = null;
});

async function startReplicated(): Promise<{ cluster: CoordinatedCluster; client: SluiceClient }> {
  cluster = await startCoordinatedCluster(3, { containers: CONTAINERS, leaseTtl: `${LEASE_TTL_MS / 1000}s`, args: process.env.REPL_DEBUG ? ['--log-level', 'debug'] : [] });
  const addresses = cluster.endpoints;
  // Settled (primaries spread evenly): no primary moves during a test unless a test makes it.
  await waitForMap(cluster.nodes[0]!, evenlySpreadOver(addresses), 30_000, 'primaries spread over the three nodes');
  client = new SluiceClient({ endpoints: addresses });
  let lastError: unknown = null;
  await until(async () => {
    try {
      await client!.createStream(STREAM, { segments: CONTAINERS });
      return true;
    } catch (error) {
      lastError = error; // primaries still promoting: NotEnoughReplicas
      return false;
    }
  }, 30_000, 'the stream is created').catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last: ${String(lastError)}`);
  });
  return { cluster, client };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the load has `count` more writes acknowledged than when called. */
async function untilMoreAcked(load: KeyedLoad, count: number, what: string): Promise<void> {
  const from = load.total();
  await until(() => load.total() >= from + count, 60_000, what);
}

/** The node the cluster map names primary of the most of the stream's segments (keys are written to them). */
async function busiestPrimary(cluster: CoordinatedCluster, client: SluiceClient): Promise<ServerProcess> {
  const map = await clusterMapOf(cluster.nodes.find((node) => node.isRunning)!);
  const { segmentInfos } = await client.getStreamInfo(STREAM);
  const led = new Map<string, number>();
  for (const { segment } of segmentInfos) {
    const primary = map.primaries[containerOfSegment(segment, map.containerCount)]!;
    led.set(primary, (led.get(primary) ?? 0) + 1);
  }
  const [address] = [...led].sort((x, y) => y[1] - x[1])[0]!;
  return cluster.nodes.find((node) => node.address === address)!;
}

/** Samples each key's acknowledged count; the longest time one key's did not grow is the longest write stall. */
function stallMeter(load: KeyedLoad): { stop(): number } {
  const last = new Map(KEYS.map((key) => [key, { count: load.acked.get(key)!, since: Date.now() }]));
  let longest = 0;
  const sample = (): void => {
    for (const [key, seen] of last) {
      const count = load.acked.get(key)!;
      longest = Math.max(longest, Date.now() - seen.since);
      if (count !== seen.count) last.set(key, { count, since: Date.now() });
    }
  };
  const timer = setInterval(sample, 20);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return longest;
    },
  };
}

async function expectEveryAckedEventOnce(sdk: SluiceClient, load: KeyedLoad): Promise<void> {
  expect(load.failures).toEqual([]);
  const total = load.total();
  const seen = await readBackPerKey(sdk, STREAM, KEYS, total, 60_000);
  for (const key of KEYS) {
    const acked = load.acked.get(key)!;
    expect(seen.get(key), `${key}: every acknowledged event once, in order`).toEqual(Array.from({ length: acked }, (_, seq) => seq));
  }
}

describeEtcd('replicated containers (RF 3) under faults', () => {
  it('kill -9 of a primary under a keyed load: writes resume, every acknowledged event is read back once in order; the node returns, catches up and serves as a backup', async () => {
    const { cluster, client } = await startReplicated();
    const load = startKeyedLoad(client, STREAM, KEYS, { window: 4, maxMs: 90_000 });
    await until(() => load.total() >= 200, 30_000, '200 writes before the kill');
    const victim = await busiestPrimary(cluster, client);
    const meter = stallMeter(load);
    await victim.kill('SIGKILL');
    const atKill = load.total();
    // Until every key, those of the victim's segments too, has writes acknowledged after the kill.
    const perKeyAtKill = new Map(load.acked);
    await until(() => KEYS.every((key) => load.acked.get(key)! >= perKeyAtKill.get(key)! + 20), 60_000, 'every key written after the kill');
    const stall = meter.stop();
    console.log(`replicated failover: longest write stall of a key ${stall} ms after kill -9 of a primary (lease TTL ${LEASE_TTL_MS} ms)`);
    // The liveness bound issue #13 asks this test to check (the one timing assertion here): no key
    // waits longer than the lease TTL + 5 s. Measured 2.3-3.3 s at load average 8-10 on 2 cores;
    // bench/ `failover` measures the kill-to-first-ack time.
    expect(stall).toBeLessThan(LEASE_TTL_MS + 5_000);

    // The victim returns and catches up. With another node then lost, every append needs the
    // victim's acknowledgement (a majority of 3 is 2): the load going on shows it serves as a backup,
    // and the read-back (its logs may now serve as primary) shows it holds everything.
    await victim.restart();
    await waitForMap(cluster.nodes.find((node) => node !== victim)!, (next) => next.members.includes(victim.address), 20_000, 'the victim rejoined');
    await until(() => load.total() >= atKill + 600, 60_000, 'writes with the victim back');
    await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS)); // its catch-up to settle
    const other = cluster.nodes.find((node) => node !== victim && node.isRunning)!;
    await other.kill('SIGKILL');
    await untilMoreAcked(load, 200, 'writes acknowledged by the returned node and one other');
    await load.stop();
    await expectEveryAckedEventOnce(client, load);
  }, 180_000);

  it('a primary stopped (SIGSTOP) for twice the lease gets nothing acknowledged after it is fenced; the load carries on', async () => {
    const { cluster, client } = await startReplicated();
    const load = startKeyedLoad(client, STREAM, KEYS, { window: 4, maxMs: 90_000 });
    await until(() => load.total() >= 200, 30_000, '200 writes before the pause');
    const paused = await busiestPrimary(cluster, client);
    process.kill(paused.pid!, 'SIGSTOP');
    try {
      await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_TTL_MS));
      await untilMoreAcked(load, 200, 'writes while the primary is paused');
    } finally {
      process.kill(paused.pid!, 'SIGCONT');
    }
    await untilMoreAcked(load, 200, 'writes after the paused node resumed');
    await load.stop();
    await expectEveryAckedEventOnce(client, load);
  }, 180_000);

  it('with two of three nodes gone, appends fail typed and retriable; they resume when one returns, and reads with one node down return everything', async () => {
    const { cluster } = await startReplicated();
    const impatient = new SluiceClient({ endpoints: cluster.endpoints, retryWindowMs: 4_000, requestTimeoutMs: 3_000 });
    try {
      const writer = impatient.createWriter(STREAM);
      for (let n = 0; n < 20; n++) await writer.write('k', `before-${n}`);
      const [, second, third] = cluster.nodes;
      await second!.kill('SIGKILL');
      await third!.kill('SIGKILL');
      const failure = await writer.write('k', 'without-majority').then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).not.toBeNull();
      expect((failure as { retriable?: boolean }).retriable).toBe(true);
      await writer.close().catch(() => undefined);

      await second!.restart();
      const again = impatient.createWriter(STREAM, { retryWindowMs: 60_000 } as never);
      await again.write('k', 'after');
      await again.close();
      const reader = impatient.createReader(STREAM, { from: 'head' });
      const events: string[] = [];
      const timer = setTimeout(() => void reader.close(), 30_000);
      for await (const event of reader) {
        events.push(event.data.toString());
        if (events.includes('after')) break;
      }
      clearTimeout(timer);
      await reader.close();
      expect(events.filter((event) => event.startsWith('before-'))).toEqual(Array.from({ length: 20 }, (_, n) => `before-${n}`));
    } finally {
      await impatient.close();
    }
  }, 180_000);

  it('a node joins and another leaves under a keyed load: containers move (catch up, then switch) and every acknowledged event is read back once in order', async () => {
    const { cluster, client } = await startReplicated();
    const load = startKeyedLoad(client, STREAM, KEYS, { window: 4, maxMs: 90_000 });
    await until(() => load.total() >= 200, 30_000, '200 writes before the join');
    const newcomer = await cluster.addNode();
    const four = cluster.nodes.map((node) => node.address);
    await waitForMap(cluster.nodes[0]!, evenlySpreadOver(four), 30_000, 'primaries spread over four nodes');
    await untilMoreAcked(load, 200, 'writes with the newcomer as a primary');

    const leaving = cluster.nodes.find((node) => node !== newcomer)!;
    await leaving.stop();
    const three = cluster.nodes.filter((node) => node.isRunning).map((node) => node.address);
    await waitForMap(newcomer, evenlySpreadOver(three), 30_000, 'primaries spread over the three left');
    await untilMoreAcked(load, 200, 'writes after the node left');
    await load.stop();
    await expectEveryAckedEventOnce(client, load);
  }, 180_000);
});
