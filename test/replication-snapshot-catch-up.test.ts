/**
 * A backup that returns after its primary retired the log files it would catch up from (issue #13):
 * etcd and three sluice-server --coordinator nodes (RF 3) with small log files and checkpoints, so
 * files roll and are removed quickly. A node is killed; meanwhile streams are deleted and another
 * written until both other nodes have removed the files the dead node's log ends in, for some
 * container; that container's primary is then killed and restarted, so it changes (a new epoch):
 * whoever leads it when the node returns ships from a new start, with nothing of the gap in memory.
 * The node returns, is sent a snapshot, installs it, counts as caught up, and then holds every
 * acknowledged event: writes are acknowledged with it as the only backup, and after the other nodes
 * are killed in turn (a majority always up), everything acknowledged is read back exactly once in
 * key order.
 *
 * And the same gap on a promotion: a node that leads nothing dies, the others retire the files its
 * log ends in, then both die; it returns alone and is chosen primary, one of them returns, and the
 * promotion takes that one's log as a snapshot (FetchLog cannot send it: LOG_RETIRED; before the
 * fix the promotion retried that forever), then serves every acknowledged event.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { SluiceClient } from '@sluice/client';
import { Etcd3 } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';

import { evenlySpreadOver, startCoordinatedCluster, waitForMap, type CoordinatedCluster } from './helpers/coordinated-cluster.js';
import { etcdAvailable } from './helpers/etcd-process.js';
import { readBackPerKey, startKeyedLoad, type KeyedLoad } from './helpers/keyed-load.js';
import type { ServerProcess } from './helpers/server-process.js';

const LEASE_TTL_MS = 2_000;
const CONTAINERS = 3;
const OLD = 'snap/old';
const FILLER = 'snap/filler';
const STREAM = 'snap/orders';
const KEYS = Array.from({ length: 6 }, (_, k) => `key-${k}`);
/** Small files and checkpoints: the primaries retire files after a few hundred KiB. */
const SMALL_LOGS = ['--log-file-bytes', '64k', '--checkpoint-interval-bytes', '64k'];

const describeEtcd = etcdAvailable() ? describe : describe.skip;

let cluster: CoordinatedCluster | null = null;
let client: SluiceClient | null = null;
let etcd: Etcd3 | null = null;
let load: KeyedLoad | null = null;
afterEach(async (context) => {
  if (context.task.result?.state === 'fail') {
    for (const node of cluster?.nodes ?? []) console.log(`--- ${node.address}\n${node.output().split('\n').slice(-60).join('\n')}`);
  }
  await load?.stop();
  etcd?.close();
  await client?.close();
  await cluster?.stop();
  load = null;
  etcd = null;
  client = null;
  cluster = null;
}, 120_000);

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function retried<T>(what: string, call: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  let lastError: unknown = null;
  await until(async () => {
    try {
      result = await call();
      return true;
    } catch (error) {
      lastError = error; // primaries still promoting: NotEnoughReplicas
      return false;
    }
  }, 30_000, what).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last: ${String(lastError)}`);
  });
  return result!;
}

/** The log file numbers of one container in a node's data dir, ascending. */
function logFiles(node: ServerProcess, container: number): number[] {
  const directory = path.join(node.dataDir, 'containers', String(container));
  return readdirSync(directory)
    .flatMap((name) => /^log-(\d+)\.log$/.exec(name)?.[1] ?? [])
    .map(Number)
    .sort((a, b) => a - b);
}

interface AssignmentRecord {
  epoch: number;
  primary: string | null;
  replicas: string[];
  joining: string[];
}

async function assignmentOf(container: number): Promise<AssignmentRecord> {
  return JSON.parse((await etcd!.get(`/sluice/assignments/${container}`).string())!) as AssignmentRecord;
}

/** Whether etcd counts `node` an in-sync replica of every container: listed, not joining (its catch-up was reported). */
async function inSyncEverywhere(node: string): Promise<boolean> {
  const assignments = (await etcd!.getAll().prefix('/sluice/assignments/').strings()) as Record<string, string>;
  const records = Object.values(assignments).map((text) => JSON.parse(text) as AssignmentRecord);
  return records.length === CONTAINERS && records.every((record) => record.replicas.includes(node) && !record.joining.includes(node));
}

async function untilMoreAcked(load: KeyedLoad, count: number, what: string): Promise<void> {
  const from = load.total();
  await until(() => load.total() >= from + count, 60_000, what);
}

/** count events of 1 KiB over 12 keys, 32 in flight: a few hundred KiB of log over the containers. */
async function writeKilobytes(sdk: SluiceClient, stream: string, count: number): Promise<void> {
  const writer = sdk.createWriter(stream);
  const kilobyte = 'x'.repeat(1024);
  for (let n = 0; n < count; n += 32) {
    await Promise.all(Array.from({ length: Math.min(32, count - n) }, (_, k) => writer.write(`k-${(n + k) % 12}`, kilobyte)));
  }
  await writer.close();
}

/**
 * While a node is away: the old stream goes; a filler rolls the log files past the ones the dead
 * node's log ends in and goes too; a new stream is written (from later files) by a keyed load.
 */
async function rollPastOldFiles(sdk: SluiceClient, maxMs: number): Promise<KeyedLoad> {
  await retried('the filler stream is created', () => sdk.createStream(FILLER, { segments: 6 }));
  await writeKilobytes(sdk, FILLER, 600);
  await retried('the old stream is deleted', () => sdk.deleteStream(OLD));
  await retried('the filler stream is deleted', () => sdk.deleteStream(FILLER));
  await retried('the stream is created', () => sdk.createStream(STREAM, { segments: 6 }));
  load = startKeyedLoad(sdk, STREAM, KEYS, { window: 4, pauseMs: 2, maxMs });
  return load;
}

/**
 * The containers in which every one of `nodes` removed the log files a dead node's log ends in
 * (its last file per container): long-lived segments (the scope's, the streams' metadata) keep a
 * container's early files; in the others every replica retires them (a backup up to the primary's
 * commit point).
 */
function retiredOn(nodes: readonly ServerProcess[], lastFiles: readonly number[]): number[] {
  return lastFiles.flatMap((last, container) => (nodes.every((node) => (logFiles(node, container)[0] ?? 0) > last) ? [container] : []));
}

describeEtcd('a returning replica whose log the primaries no longer hold', () => {
  it('is sent a snapshot when no replica holds what it lacks any more, installs it, counts as in sync, acknowledges, and holds every acknowledged event', async () => {
    cluster = await startCoordinatedCluster(3, { containers: CONTAINERS, leaseTtl: `${LEASE_TTL_MS / 1000}s`, args: SMALL_LOGS });
    etcd = new Etcd3({ hosts: `http://${cluster.etcd.address}` });
    const addresses = cluster.endpoints;
    await waitForMap(cluster.nodes[0]!, evenlySpreadOver(addresses), 30_000, 'primaries spread over the three nodes');
    client = new SluiceClient({ endpoints: addresses });

    // Data every replica holds, in the first log files of every container.
    await retried('the old stream is created', () => client!.createStream(OLD, { segments: 6 }));
    await writeKilobytes(client, OLD, 300);

    const [returning, ...others] = cluster.nodes as [ServerProcess, ServerProcess, ServerProcess];
    await returning.kill('SIGKILL');
    const lastFileWhenKilled = Array.from({ length: CONTAINERS }, (_, c) => logFiles(returning, c).at(-1) ?? 0);
    await waitForMap(others[0], (map) => !map.primaries.includes(returning.address) && !map.primaries.includes(''), 30_000, 'its primaries moved');

    // While it is away, written until both other nodes removed the files it would catch up from.
    const writes = await rollPastOldFiles(client, 150_000);
    let retired: number[] = [];
    await until(() => {
      retired = retiredOn(others, lastFileWhenKilled);
      return retired.length > 0;
    }, 90_000, 'both other nodes retired the log files the dead node would catch up from, in a container').catch((error: unknown) => {
      const files = others.map((node) => `${node.address}: ${Array.from({ length: CONTAINERS }, (_, c) => logFiles(node, c).join(',')).join(' | ')}`);
      throw new Error(`${(error as Error).message}; dead node's last files ${lastFileWhenKilled.join(',')}; ${writes.total()} writes; ${files.join('; ')}`);
    });

    // A primary that shipped to the node before it died may still hold what it lacks in memory (up
    // to 32 MiB) and send it as records. So the container's primary changes while the node is away:
    // killed, its backup takes over at a new epoch (once the killed node is back to make a
    // majority), and no shipper to the returning node holds anything of the gap.
    const container = retired[0]!;
    const before = await assignmentOf(container);
    const leader = others.find((node) => node.address === before.primary)!;
    const [follower] = others.filter((node) => node !== leader) as [ServerProcess];
    await leader.kill('SIGKILL');
    await waitForMap(follower, (map) => map.primaries[container] === follower.address, 30_000, `container ${container} assigned to ${follower.address}`);
    await leader.restart();
    await until(() => inSyncEverywhere(leader.address), 60_000, 'the restarted node back in sync');
    expect((await assignmentOf(container)).epoch).toBeGreaterThan(before.epoch);
    await untilMoreAcked(writes, 100, 'writes after the primary changed');

    // It returns: the container it lags in reaches it only as a snapshot of the new primary's.
    await returning.restart();
    await until(() => inSyncEverywhere(returning.address), 60_000, 'etcd counts the returned node in sync everywhere');
    // The line was logged before the node counted as in sync, but reaches this process through a pipe.
    await returning.waitForLog('snapshot installed', 1, 10_000);
    await untilMoreAcked(writes, 100, 'writes with the returned node in sync');

    // It acknowledges: with one of the others gone, every append needs it (2 of 3).
    const [first, second] = others;
    await first.kill('SIGKILL');
    await untilMoreAcked(writes, 200, 'writes acknowledged by the returned node and one other');
    await first.restart();
    await until(() => inSyncEverywhere(first.address), 60_000, 'the first other node back in sync');
    // And it serves: with the last original holder gone, the returned node or the first serve it all.
    await second.kill('SIGKILL');
    await untilMoreAcked(writes, 200, 'writes after the second other node was killed');
    await writes.stop();

    expect(writes.failures).toEqual([]);
    const seen = await readBackPerKey(client, STREAM, KEYS, writes.total(), 60_000);
    for (const key of KEYS) {
      expect(seen.get(key), `${key}: every acknowledged event once, in order`).toEqual(Array.from({ length: writes.acked.get(key)! }, (_, seq) => seq));
    }
  }, 300_000);

  it('a replica promoted while it lags behind the first log file of the longest log gets that log as a snapshot, then serves every acknowledged event', async () => {
    // A long lease: the lagging node stays listed as a replica for two leases after it dies, and
    // the others must retire its files within that time (it leads nothing, so nothing waits for it).
    const leaseTtlMs = 10_000;
    cluster = await startCoordinatedCluster(3, { containers: 2, leaseTtl: `${leaseTtlMs / 1000}s`, args: SMALL_LOGS });
    etcd = new Etcd3({ hosts: `http://${cluster.etcd.address}` });
    const addresses = cluster.endpoints;
    const settled = await waitForMap(cluster.nodes[0]!, evenlySpreadOver(addresses), 30_000, 'primaries spread over the three nodes');
    const lagging = cluster.nodes.find((node) => !settled.primaries.includes(node.address))!;
    const [first, second] = cluster.nodes.filter((node) => node !== lagging) as [ServerProcess, ServerProcess];
    client = new SluiceClient({ endpoints: addresses });
    await retried('the old stream is created', () => client!.createStream(OLD, { segments: 6 }));
    await writeKilobytes(client, OLD, 300);

    await lagging.kill('SIGKILL');
    const killedAt = Date.now();
    const lastFileWhenKilled = Array.from({ length: 2 }, (_, c) => logFiles(lagging, c).at(-1) ?? 0);
    const writes = await rollPastOldFiles(client, 60_000);
    let container = -1;
    await until(() => {
      container = retiredOn([first, second], lastFileWhenKilled)[0] ?? -1;
      return container >= 0;
    }, 60_000, 'both other nodes retired the log files the lagging node would fetch from, in a container');
    await writes.stop();
    console.log(`promotion by snapshot: files retired ${Date.now() - killedAt} ms after the kill (lease ${leaseTtlMs} ms)`);
    expect((await assignmentOf(container)).replicas, 'the lagging node is still a replica (not yet dropped)').toContain(lagging.address);

    // The holders of the longest log die; the lagging node returns alone and is chosen (the only
    // live replica), then one holder returns: the promotion fences it, takes its log as a snapshot.
    await Promise.all([first.kill('SIGKILL'), second.kill('SIGKILL')]);
    await lagging.restart();
    await waitForMap(lagging, (map) => map.primaries[container] === lagging.address, 60_000, `the lagging node chosen as container ${container}'s primary`);
    await second.restart();
    await lagging.waitForLog('promotion: received a snapshot of the longest log; promoting again once reopened from it', 1, 60_000);
    await lagging.waitForLog('snapshot installed', 1, 30_000);

    expect(writes.failures).toEqual([]);
    const seen = await readBackPerKey(client, STREAM, KEYS, writes.total(), 60_000);
    for (const key of KEYS) {
      expect(seen.get(key), `${key}: every acknowledged event once, in order`).toEqual(Array.from({ length: writes.acked.get(key)! }, (_, seq) => seq));
    }
    await retried('writes acknowledged by the promoted node and the holder', () => writeKilobytes(client!, STREAM, 24));
  }, 300_000);
});
