/**
 * Scaling under load on a real 3-node cluster: several writers keep writing keyed events while the
 * stream goes 2 -> 5 -> 3 segments, and again while a node is killed and restarted. Every
 * acknowledged event is read back exactly once, each key in write order, by a reader that was
 * reading all along, by a reader group of two members reading along, by one from the head
 * afterwards, and by one resumed from a saved position.
 */
import { SluiceClient, type EventWriter, type ReadEvent, type ReaderPosition } from '@sluice/client';
import { metadataSegmentOf, ownerOfSegment } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';

import { clusterForFile } from './helpers/server-process.js';

const WRITERS = 4;
const KEYS_PER_WRITER = 6;
/** Writes in flight per key. */
const WINDOW = 8;

const file = clusterForFile(3, 32);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Keyed writers, each key with a window of writes in flight, until stop(); returns what was acknowledged. */
function keyedLoad(clients: SluiceClient[], stream: string): { stop: () => Promise<{ acked: Map<string, number>; failures: unknown[] }>; acked: Map<string, number> } {
  let stopped = false;
  const acked = new Map<string, number>();
  const failures: unknown[] = [];
  const writers: EventWriter[] = [];
  const loads = Array.from({ length: WRITERS }, async (_, w) => {
    const writer = clients[w % clients.length]!.createWriter(stream);
    writers.push(writer);
    const keys = Array.from({ length: KEYS_PER_WRITER }, (__, k) => `w${w}-k${k}`);
    for (const key of keys) acked.set(key, 0);
    await Promise.all(
      keys.map(async (key) => {
        const window = new Set<Promise<void>>();
        // A failure ends the load (the test then reports it) rather than spinning on rejected writes.
        for (let seq = 0; !stopped && failures.length === 0; seq++) {
          const write = writer.write(key, `${key}:${seq}`).then(
            () => void acked.set(key, Math.max(acked.get(key)!, seq + 1)),
            (error: unknown) => void failures.push(error),
          );
          window.add(write);
          void write.finally(() => window.delete(write));
          if (window.size >= WINDOW) await Promise.race(window);
        }
        await Promise.all(window);
      }),
    );
    await writer.close();
  });
  return {
    acked,
    stop: async () => {
      stopped = true;
      await Promise.all(loads);
      return { acked, failures };
    },
  };
}

/** A plain reader, or one member of a reader group. */
type Reader = AsyncIterable<ReadEvent> & { close(): unknown };

/**
 * Reads with readers (one plain reader, or a group's members, sharing what was seen) until `total`
 * events came, bounded in time; checks each key's sequence as it goes, over all readers.
 */
async function readAll(readers: Reader[], total: () => number, seen = new Map<string, number>(), limitMs = 60_000): Promise<{
  seen: Map<string, number>;
  /** Every 500th event's position, with what had been read up to it. */
  positions: Array<{ position: ReaderPosition; seen: Map<string, number> }>;
}> {
  const positions: Array<{ position: ReaderPosition; seen: Map<string, number> }> = [];
  let count = [...seen.values()].reduce((a, b) => a + b, 0);
  const closeAll = (): Promise<unknown> => Promise.all(readers.map((reader) => reader.close()));
  const timer = setTimeout(() => void closeAll(), limitMs);
  // The target may be set while the readers wait at the tail with everything read.
  const check = setInterval(() => {
    if (count >= total()) void closeAll();
  }, 100);
  try {
    await Promise.all(
      readers.map(async (reader) => {
        for await (const event of reader) {
          const [key, seq] = event.data.toString().split(':') as [string, string];
          const next = seen.get(key) ?? 0;
          if (Number(seq) !== next) throw new Error(`${key}: read ${seq} after ${next - 1} (in ${event.segment})`);
          seen.set(key, next + 1);
          if (++count % 500 === 0) positions.push({ position: event.position, seen: new Map(seen) });
          if (count >= total()) break;
        }
      }),
    );
  } finally {
    clearTimeout(timer);
    clearInterval(check);
    await closeAll();
  }
  return { seen, positions };
}

function expectExactly(seen: Map<string, number>, acked: Map<string, number>): void {
  expect(Object.fromEntries([...seen].sort())).toEqual(Object.fromEntries([...acked].sort()));
}

describe('scaling a stream under a keyed write load', () => {
  it('2 -> 5 -> 3 segments: every acknowledged event read once, each key in order, live, by a reader group, from the head and resumed', async () => {
    const clients = [0, 1].map((i) => new SluiceClient({ endpoints: [file.cluster.nodes[i]!.address] }));
    const [admin] = clients as [SluiceClient];
    const stream = 'scale/load';
    try {
      await admin.createStream(stream, { segments: 2 });
      let liveTarget = Infinity;
      const liveRead = readAll([admin.createReader(stream, { from: 'head', tailWaitMs: 300 })], () => liveTarget);
      // A reader group of two members (on both clients) reads along too: successors are assigned
      // only once their predecessors were read to the end, so each key stays in order across members.
      const group = clients.map((client, index) =>
        client.createReader(stream, { group: 'scaling', readerId: `member-${index}`, tailWaitMs: 300, commitIntervalMs: 200 }),
      );
      const groupRead = readAll(group, () => liveTarget);

      const load = keyedLoad(clients, stream);
      await sleep(700);
      await admin.scaleStream(stream, { segments: 5 });
      expect((await admin.getStreamInfo(stream)).segments).toBe(5);
      await sleep(700);
      await admin.scaleStream(stream, { segments: 3 });
      await sleep(700);
      const { acked, failures } = await load.stop();
      expect(failures).toEqual([]);
      const total = [...acked.values()].reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(WRITERS * KEYS_PER_WRITER * 10);
      liveTarget = total;

      const info = await admin.getStreamInfo(stream);
      expect(info.segments).toBe(3);
      expect(info.history.map((epoch) => epoch.segments)).toEqual([2, 5, 3]);
      // Events landed in every epoch's segments.
      const lengths = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => admin.segments.getSegmentInfo(`${stream}/${n}`)));
      expect(lengths.every((segment) => segment.length > 0)).toBe(true);

      expectExactly((await liveRead).seen, acked);
      expectExactly((await groupRead).seen, acked);

      const fromHead = await readAll([admin.createReader(stream, { from: 'head', tailWaitMs: 300 })], () => total);
      expectExactly(fromHead.seen, acked);

      // A position saved mid-way (JSON round trip) resumes right after its event, across epochs.
      const saved = fromHead.positions[Math.floor(fromHead.positions.length / 2)]!;
      const position = JSON.parse(JSON.stringify(saved.position)) as ReaderPosition;
      const resumed = await readAll([admin.createReader(stream, { from: position, tailWaitMs: 300 })], () => total, new Map(saved.seen));
      expectExactly(resumed.seen, acked);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });

  it('scales while the node owning the stream metadata is killed and restarted; nothing acknowledged is lost or doubled', async () => {
    const stream = 'scale/restart';
    const { cluster, map } = file;
    const metaOwner = ownerOfSegment(map, metadataSegmentOf(stream));
    const victim = cluster.nodes.find((node) => node.address === metaOwner)!;
    const seed = cluster.nodes.find((node) => node !== victim)!;
    const client = new SluiceClient({ endpoints: [seed.address], retryWindowMs: 30_000, connectTimeoutMs: 1_000 });
    try {
      await client.createStream(stream, { segments: 2 });
      const load = keyedLoad([client], stream);
      await sleep(500);
      await victim.kill('SIGKILL');
      const scaling = client.scaleStream(stream, { segments: 4 });
      await sleep(1_000);
      await victim.restart();
      await scaling;
      await sleep(700);
      const { acked, failures } = await load.stop();
      expect(failures).toEqual([]);
      expect((await client.getStreamInfo(stream)).segments).toBe(4);
      const total = [...acked.values()].reduce((a, b) => a + b, 0);
      const { seen } = await readAll([client.createReader(stream, { from: 'head', tailWaitMs: 300 })], () => total);
      expectExactly(seen, acked);
    } finally {
      await client.close();
    }
  });
});
