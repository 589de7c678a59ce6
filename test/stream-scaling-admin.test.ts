/**
 * scaleStream as an admin operation on a real 2-node cluster: the epoch and history it records,
 * concurrent calls, a scale interrupted after recording its plan (completed by the next call), and
 * the streams it refuses: sealed, deleted, unknown, revisioned.
 */
import {
  NoSuchStreamError,
  type ReadEvent,
  type Truncation,
  SluiceClient,
  StreamNotScalableError,
  StreamSealedError,
  type StreamLayout,
} from '@sluice/client';
import { metadataSegmentOf, segmentNameOf } from '@sluice/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startCluster, type ClusterProcesses } from './helpers/server-process.js';

let cluster: ClusterProcesses;
let client: SluiceClient;

beforeAll(async () => {
  cluster = await startCluster(2);
  client = new SluiceClient({ endpoints: [cluster.nodes[0]!.address] });
});

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

async function layoutOf(stream: string): Promise<StreamLayout> {
  const raw = await client.segments.getAttribute(metadataSegmentOf(stream), 'layout');
  return JSON.parse((raw as Buffer).toString('utf8')) as StreamLayout;
}

describe('scaleStream', () => {
  it('records each epoch: count, epoch and history in getStreamInfo, successors created, predecessors sealed', async () => {
    const stream = 'sc/admin';
    await client.createStream(stream, { segments: 2 });
    expect(await client.getStreamInfo(stream)).toMatchObject({ segments: 2, epoch: 0 });

    await client.scaleStream(stream, { segments: 5 });
    const five = await client.getStreamInfo(stream);
    expect(five).toMatchObject({ segments: 5, epoch: 1, sealed: false });
    expect(five.segmentInfos.map((info) => info.segment)).toEqual([2, 3, 4, 5, 6].map((n) => segmentNameOf(stream, n)));
    expect((await client.segments.getSegmentInfo(segmentNameOf(stream, 0))).sealed).toBe(true);

    await client.scaleStream(stream, { segments: 3 });
    const three = await client.getStreamInfo(stream);
    expect(three.segments).toBe(3);
    expect(three.history.map((epoch) => [epoch.epoch, epoch.segments])).toEqual([
      [0, 2],
      [1, 5],
      [2, 3],
    ]);
    // Scaling to the count it has is a no-op.
    await client.scaleStream(stream, { segments: 3 });
    expect((await client.getStreamInfo(stream)).epoch).toBe(2);
    // createStream stays idempotent on a scaled stream (same creation count).
    await client.createStream(stream, { segments: 2 });
    expect((await client.getStreamInfo(stream)).segments).toBe(3);
  });

  it('serialises concurrent scale calls: one epoch per change, metadata consistent', async () => {
    const stream = 'sc/concurrent';
    await client.createStream(stream, { segments: 2 });
    const others = Array.from({ length: 3 }, () => new SluiceClient({ endpoints: [cluster.nodes[1]!.address] }));
    try {
      await Promise.all([4, 6, 8, 4, 6, 8].map((segments, i) => others[i % 3]!.scaleStream(stream, { segments })));
    } finally {
      await Promise.all(others.map((other) => other.close()));
    }
    const info = await client.getStreamInfo(stream);
    expect([4, 6, 8]).toContain(info.segments);
    const layout = await layoutOf(stream);
    expect(layout.pending).toBeNull();
    // Every epoch's active segments tile the key space, and every sealed segment is sealed in the store.
    const active = layout.segments.filter((segment) => segment.sealedEpoch === null).sort((a, b) => a.low - b.low);
    expect(active[0]!.low).toBe(0);
    expect(active.at(-1)!.high).toBe(1);
    for (let i = 1; i < active.length; i++) expect(active[i]!.low).toBe(active[i - 1]!.high);
    for (const segment of layout.segments) {
      const stored = await client.segments.getSegmentInfo(segmentNameOf(stream, segment.number));
      expect(stored.sealed).toBe(segment.sealedEpoch !== null);
    }
    expect(layout.history.map((epoch) => epoch.epoch)).toEqual(Array.from({ length: layout.epoch + 1 }, (_, i) => i));
  });

  it('completes a scale whose caller died after recording the plan', async () => {
    const stream = 'sc/interrupted';
    await client.createStream(stream, { segments: 2 });
    // What a crashed scale leaves: the plan recorded, one predecessor sealed, no successor created.
    const plan = {
      epoch: 1,
      sealed: [0, 1],
      created: [0, 1, 2].map((i) => ({
        number: 2 + i,
        low: i / 3,
        high: i === 2 ? 1 : (i + 1) / 3,
        predecessors: i === 0 ? [0] : i === 1 ? [0, 1] : [1],
        createdEpoch: 1,
        sealedEpoch: null,
      })),
      at: Date.now(),
    };
    const half: StreamLayout = {
      version: 1,
      initialSegments: 2,
      epoch: 0,
      nextSegment: 2,
      segments: [0, 1].map((number) => ({ number, low: number / 2, high: (number + 1) / 2, predecessors: [], createdEpoch: 0, sealedEpoch: null })),
      history: [{ epoch: 0, segments: 2, at: 0 }],
      pending: plan,
      policy: null,
    };
    await client.segments.updateAttribute(metadataSegmentOf(stream), 'layout', null, Buffer.from(JSON.stringify(half)));
    await client.segments.sealSegment(segmentNameOf(stream, 0));

    await client.scaleStream(stream, { segments: 4 });
    const layout = await layoutOf(stream);
    expect(layout.epoch).toBe(2);
    expect(layout.history.map((epoch) => epoch.segments)).toEqual([2, 3, 4]);
    expect((await client.segments.getSegmentInfo(segmentNameOf(stream, 3))).sealed).toBe(true);
  });

  it('refuses sealed, deleted, unknown and revisioned streams with typed errors', async () => {
    await client.createStream('sc/sealed', { segments: 2 });
    await client.sealStream('sc/sealed');
    await expect(client.scaleStream('sc/sealed', { segments: 3 })).rejects.toBeInstanceOf(StreamSealedError);

    await client.createStream('sc/deleted', { segments: 2 });
    await client.scaleStream('sc/deleted', { segments: 3 });
    await client.deleteStream('sc/deleted');
    await expect(client.scaleStream('sc/deleted', { segments: 4 })).rejects.toBeInstanceOf(NoSuchStreamError);
    await expect(client.segments.getSegmentInfo(segmentNameOf('sc/deleted', 3))).rejects.toMatchObject({ code: 'NO_SUCH_SEGMENT' });

    await expect(client.scaleStream('sc/unknown', { segments: 2 })).rejects.toBeInstanceOf(NoSuchStreamError);
    await expect(client.scaleStream('sc/unknown', { segments: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'segments' });

    await client.createStream('sc/revisions', { segments: 1 });
    const revisioned = client.createRevisionedClient('sc/revisions');
    await revisioned.writeConditionally(await revisioned.fetchLatestRevision(), 'state');
    const error = await client.scaleStream('sc/revisions', { segments: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamNotScalableError);
    expect((error as Error).message).toMatch(/revisioned client/);
    expect((await client.getStreamInfo('sc/revisions')).segments).toBe(1);

    // And a scaled stream cannot become a revisioned one.
    await client.createStream('sc/scaled-one', { segments: 1 });
    await client.scaleStream('sc/scaled-one', { segments: 2 });
    await client.scaleStream('sc/scaled-one', { segments: 1 });
    await expect(client.createRevisionedClient('sc/scaled-one').fetchLatestRevision()).rejects.toThrow(/never scaled/);
  });

  it('truncateStream deletes the sealed segments a position read to the end and truncates the others', async () => {
    const stream = 'sc/retention';
    await client.createStream(stream, { segments: 2 });
    const writer = client.createWriter(stream);
    const write = async (from: number, to: number): Promise<void> => {
      await Promise.all(Array.from({ length: to - from }, (_, i) => writer.write(`key-${(from + i) % 7}`, String(from + i))));
    };
    await write(0, 50);
    await client.scaleStream(stream, { segments: 3 });
    await write(50, 100);
    await client.scaleStream(stream, { segments: 2 });
    await write(100, 120);

    const reader = client.createReader(stream, { from: 'head', tailWaitMs: 200 });
    const events: ReadEvent[] = [];
    for await (const event of reader) if (events.push(event) === 120) break;
    const early = JSON.parse(JSON.stringify(events[10]!.position)) as ReadEvent['position'];

    expect(await client.truncateStream(stream, events[119]!.position)).toEqual([0, 1, 2, 3, 4]);
    await expect(client.segments.getSegmentInfo(segmentNameOf(stream, 0))).rejects.toMatchObject({ code: 'NO_SUCH_SEGMENT' });
    expect((await layoutOf(stream)).segments.map((segment) => segment.number)).toEqual([5, 6]);
    const info = await client.getStreamInfo(stream);
    expect(info.segments).toBe(2);
    expect(info.segmentInfos.every((segment) => segment.startOffset === segment.length)).toBe(true);

    // From the head: only what comes after the truncation.
    await writer.write('key-1', 'after');
    const fromHead = client.createReader(stream, { from: 'head', tailWaitMs: 200 });
    expect((await fromHead.next()).value?.data.toString()).toBe('after');
    fromHead.close();

    // From a position saved before it: told what retention skipped, then the rest.
    const skipped: Truncation[] = [];
    const resumed = client.createReader(stream, { from: early, tailWaitMs: 200, onTruncated: (t) => skipped.push(t) });
    expect((await resumed.next()).value?.data.toString()).toBe('after');
    expect(skipped.length).toBeGreaterThan(0);
    resumed.close();
    await writer.close();
  });

  it('truncateStream deletes the segments an earlier call took out of the layout and crashed before deleting', async () => {
    const stream = 'sc/retention-crash';
    await client.createStream(stream, { segments: 2 });
    const writer = client.createWriter(stream);
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.write(`key-${i}`, String(i))));
    await writer.close();
    await client.scaleStream(stream, { segments: 3 });
    // What the first step of an earlier truncateStream recorded before its process died: segments
    // 0 and 1 out of the layout, named in `retiring`, still in the store.
    const meta = metadataSegmentOf(stream);
    const raw = (await client.segments.getAttribute(meta, 'layout')) as Buffer;
    const before = JSON.parse(raw.toString('utf8')) as StreamLayout;
    const cut = { ...before, segments: before.segments.filter((segment) => segment.number > 1), retiring: [0, 1] };
    expect((await client.segments.updateAttribute(meta, 'layout', raw, Buffer.from(JSON.stringify(cut)))).success).toBe(true);
    expect((await client.segments.getSegmentInfo(segmentNameOf(stream, 0))).length).toBeGreaterThan(0);

    expect(await client.truncateStream(stream, { stream, offsets: { 2: 0, 3: 0, 4: 0 } })).toEqual([0, 1]);
    for (const number of [0, 1]) {
      await expect(client.segments.getSegmentInfo(segmentNameOf(stream, number))).rejects.toMatchObject({ code: 'NO_SUCH_SEGMENT' });
    }
    const after = await layoutOf(stream);
    expect(after.retiring).toEqual([]);
    expect(after.segments.map((segment) => segment.number)).toEqual([2, 3, 4]);
  });
});
