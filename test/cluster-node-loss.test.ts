/**
 * One node of three is killed (SIGKILL) in the middle of a write load with fsync always, and
 * started again. Writers to the other nodes' segments keep completing while it is down; writers to
 * its segments retry until it is back; a reader that was reading all along catches up; every
 * acknowledged event is stored exactly once and each key keeps its order. No client restart.
 */
import { SluiceClient } from '@sluice/client';
import { ownerOfSegment, segmentIndexForKey, segmentNameOf } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';

import { startKeyedLoad } from './helpers/keyed-load.js';
import { scrape } from './helpers/prometheus.js';
import { clusterForFile } from './helpers/server-process.js';

const SEGMENTS = 12;
const KEYS_PER_NODE = 4;
/** Writes in flight per key. */
const WINDOW = 16;

const file = clusterForFile(3, 64, { fsync: 'always', args: ['--metrics-port', '0'] });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function ownerOfKey(stream: string, key: string): string {
  return ownerOfSegment(file.map, segmentNameOf(stream, segmentIndexForKey(key, SEGMENTS)));
}

/** A stream name whose segments fall on every member, and KEYS_PER_NODE routing keys per member. */
function streamAndKeys(): { stream: string; keysByNode: Map<string, string[]> } {
  for (let n = 0; ; n++) {
    const stream = `loss/orders-${n}`;
    const owners = new Set(Array.from({ length: SEGMENTS }, (_, index) => ownerOfSegment(file.map, segmentNameOf(stream, index))));
    if (owners.size < file.map.members.length) continue;
    const keysByNode = new Map(file.map.members.map((member) => [member, [] as string[]]));
    for (let k = 0; [...keysByNode.values()].some((keys) => keys.length < KEYS_PER_NODE); k++) {
      const key = `key-${k}`;
      const keys = keysByNode.get(ownerOfKey(stream, key))!;
      if (keys.length < KEYS_PER_NODE) keys.push(key);
    }
    return { stream, keysByNode };
  }
}

describe('a node killed and restarted under a write load (fsync always)', () => {
  it('loses and duplicates nothing acknowledged, and the other nodes keep taking writes meanwhile', async () => {
    const { cluster } = file;
    const [seed, , victim] = cluster.nodes as [(typeof cluster.nodes)[0], unknown, (typeof cluster.nodes)[0]];
    const client = new SluiceClient({ endpoints: [seed.address], retryWindowMs: 30_000, connectTimeoutMs: 1_000 });
    const { stream, keysByNode } = streamAndKeys();
    await client.createStream(stream, { segments: SEGMENTS });
    const keys = [...keysByNode.values()].flat();
    const survivorKeys = keys.filter((key) => ownerOfKey(stream, key) !== victim.address);
    const victimKeys = keysByNode.get(victim.address)!;

    // A reader from the head, reading all along: it waits while the victim is down, then catches up.
    const reader = client.createReader(stream, { from: 'head', tailWaitMs: 500 });
    const seen = new Map(keys.map((key) => [key, [] as number[]]));
    let readCount = 0;
    const reading = (async () => {
      for await (const event of reader) {
        const [key, seq] = event.data.toString().split(':') as [string, string];
        seen.get(key)!.push(Number(seq));
        readCount += 1;
      }
    })();

    // One writer per key, each keeping WINDOW writes in flight, in order.
    const load = startKeyedLoad(client, stream, keys, { window: WINDOW });
    const { acked, written, failures } = load;
    const snapshot = (): Map<string, number> => new Map(acked);

    // Every key under way before the kill (bounded: a loaded machine may need more than the usual 600 ms).
    const warmDeadline = Date.now() + 20_000;
    await sleep(600);
    while ([...acked.values()].some((count) => count === 0) && Date.now() < warmDeadline) await sleep(50);
    const beforeKill = snapshot();
    await victim.kill('SIGKILL');
    const atKill = snapshot();
    await sleep(1_500);
    const beforeRestart = snapshot();
    await victim.restart();
    await sleep(1_000);
    await load.stop();

    // Writers on the survivors kept completing while the victim was down: every one of their keys.
    for (const key of survivorKeys) {
      expect(beforeRestart.get(key)! - atKill.get(key)!, `${key} progressed during the outage`).toBeGreaterThan(0);
    }
    for (const key of keys) expect(beforeKill.get(key)!, `${key} before the kill`).toBeGreaterThan(0);
    // The victim's keys resumed after the restart, with no client restart.
    for (const key of victimKeys) expect(acked.get(key)!, `${key} after the restart`).toBeGreaterThan(beforeRestart.get(key)!);
    expect(failures).toEqual([]);
    for (const key of keys) expect(acked.get(key)).toBe(written.get(key));

    // The reader, running all along, gets every event exactly once, each key in order.
    const total = [...written.values()].reduce((a, b) => a + b, 0);
    const deadline = Date.now() + 20_000;
    while (readCount < total && Date.now() < deadline) await sleep(50);
    await sleep(300); // anything beyond `total` would be a duplicate: give it a moment to show up
    await reader.close();
    await reading;
    for (const key of keys) {
      expect(seen.get(key), key).toEqual(Array.from({ length: written.get(key)! }, (_, seq) => seq));
    }
    expect(readCount).toBe(total);

    // The restarted node recovered its log; fsyncs batched appends on every node.
    const victimMetrics = await scrape(victim);
    expect(victimMetrics.value('sluice_recovered_log_bytes')).toBeGreaterThan(0);
    for (const node of cluster.nodes) {
      const metrics = await scrape(node);
      const fsyncs = metrics.value('sluice_fsyncs_total');
      expect(fsyncs, node.address).toBeGreaterThan(0);
      const perFsync = metrics.value('sluice_appends_per_fsync');
      expect(perFsync, node.address).toBeCloseTo(metrics.value('sluice_appends_total') / fsyncs, 6);
    }
    const survivorMetrics = await scrape(seed);
    const seedKeys = keysByNode.get(seed.address)!;
    expect(survivorMetrics.value('sluice_events_total')).toBeGreaterThanOrEqual(seedKeys.reduce((sum, key) => sum + acked.get(key)!, 0));
    console.log('node loss:', {
      total,
      duringOutage: survivorKeys.reduce((sum, key) => sum + beforeRestart.get(key)! - atKill.get(key)!, 0),
      appendsPerFsync: survivorMetrics.value('sluice_appends_per_fsync').toFixed(2),
    });
    await client.close();
  });
});
