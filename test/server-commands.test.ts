/**
 * Every request a node serves, and every error reply, over a real socket to a real sluice-server.
 */
import { clusterFingerprint, LOCAL_VERSION_RANGE, type Command } from '@sluice/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RawClient, block, eventStrings, expectReply, storedSize } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const MAX_WRITERS = 64;

let server: ServerProcess;
let client: RawClient;
let counter = 0;
/** A fresh segment name per test: "scope/name/0", as auth and streams expect. */
const freshSegment = (): string => `cmd/s${++counter}/0`;

beforeAll(async () => {
  server = await startServer({ args: ['--max-event-size', '1KiB', '--max-writers-per-connection', String(MAX_WRITERS)] });
  client = await RawClient.connect(server.address);
  await client.hello();
});

afterAll(() => client?.close());

async function connected(): Promise<RawClient> {
  const other = await RawClient.connect(server.address);
  await other.hello();
  return other;
}

async function createSegment(segment: string, on: RawClient = client): Promise<void> {
  expectReply(await on.call({ type: 'CreateSegment', segment, token: null }), 'SegmentCreated');
}

async function setupAppend(segment: string, writerId: string, on: RawClient = client, flowId = 1): Promise<number> {
  return expectReply(await on.call({ type: 'SetupAppend', segment, writerId, token: null }, flowId), 'AppendSetup').lastEventNumber;
}

function appendBlock(segment: string, writerId: string, lastEventNumber: number, events: string[], on: RawClient = client, flowId = 1): Promise<Command> {
  return on.call(
    { type: 'AppendBlock', segment, writerId, lastEventNumber, eventCount: events.length, data: block(events) },
    flowId,
  );
}

function read(segment: string, offset = 0, waitMs = 0, maxBytes = 1 << 20, on: RawClient = client): Promise<Command> {
  return on.call({ type: 'ReadSegment', segment, offset, maxBytes, waitMs, token: null }, 2);
}

describe('connection commands', () => {
  it('answers Hello with its version range, fingerprint and address', async () => {
    const other = await RawClient.connect(server.address);
    const hello = expectReply(await other.hello(), 'Hello');
    expect(hello).toMatchObject({ ...LOCAL_VERSION_RANGE, node: server.address });
    expect(hello.clusterFingerprint).toBe(clusterFingerprint({ members: [server.address], containerCount: 16 }));
    // Knowing the fingerprint is fine too.
    const again = await RawClient.connect(server.address);
    expectReply(await again.hello({ clusterFingerprint: hello.clusterFingerprint }), 'Hello');
    other.close();
    again.close();
  });

  it('echoes KeepAlive with the same request id', async () => {
    const reply = await client.request(0, 4242, { type: 'KeepAlive' });
    expect(reply).toMatchObject({ flowId: 0, sequence: 4242, command: { type: 'KeepAlive' } });
    const onFlow = await client.request(0x7fffffff, 0xffffffff, { type: 'KeepAlive' });
    expect(onFlow).toMatchObject({ flowId: 0x7fffffff, sequence: 0xffffffff });
  });

  it('returns the cluster map', async () => {
    const map = expectReply(await client.call({ type: 'GetClusterMap' }, 0), 'ClusterMap');
    expect(map).toEqual({
      type: 'ClusterMap',
      members: [server.address],
      containerCount: 16,
      fingerprint: clusterFingerprint({ members: [server.address], containerCount: 16 }),
      epoch: 0,
      primaries: Array.from({ length: 16 }, () => server.address),
      backups: Array.from({ length: 16 }, () => []),
    });
  });

  it('refuses a reply type sent as a request with OperationUnsupported and keeps the connection', async () => {
    const reply = expectReply(await client.call({ type: 'SegmentCreated', segment: 'x/y/0' }), 'OperationUnsupported');
    expect(reply.message).toContain('SegmentCreated');
    expectReply(await client.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
  });
});

describe('segment administration', () => {
  it('creates a segment once; a second create is SegmentAlreadyExists', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    expect(await client.call({ type: 'CreateSegment', segment, token: null })).toEqual({ type: 'SegmentAlreadyExists', segment });
    expect(await client.call({ type: 'GetSegmentInfo', segment, token: null })).toEqual({
      type: 'SegmentInfo',
      segment,
      startOffset: 0,
      length: 0,
      sealed: false,
    });
  });

  it('answers NoSuchSegment for every operation on a missing segment', async () => {
    const segment = freshSegment();
    const requests: Command[] = [
      { type: 'GetSegmentInfo', segment, token: null },
      { type: 'SealSegment', segment, token: null },
      { type: 'TruncateSegment', segment, offset: 0, token: null },
      { type: 'DeleteSegment', segment, token: null },
      { type: 'GetAttribute', segment, key: 'k', token: null },
      { type: 'UpdateAttribute', segment, key: 'k', expected: null, value: 1, token: null },
      { type: 'SetupAppend', segment, writerId: 'w', token: null },
      { type: 'ConditionalAppend', segment, writerId: null, eventNumber: -1, expectedOffset: 0, data: block(['x']), token: null },
      { type: 'ReadSegment', segment, offset: 0, maxBytes: 100, waitMs: 0, token: null },
    ];
    for (const request of requests) {
      expect(await client.call(request), request.type).toEqual({ type: 'NoSuchSegment', segment });
    }
  });

  it('seals: appends then fail with SegmentIsSealed, reads see the end', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    await setupAppend(segment, 'w');
    const appended = expectReply(await appendBlock(segment, 'w', 1, ['a', 'b']), 'DataAppended');
    expect(await client.call({ type: 'SealSegment', segment, token: null })).toEqual({ type: 'SegmentSealed', segment, length: appended.length });
    // Sealing twice is fine.
    expectReply(await client.call({ type: 'SealSegment', segment, token: null }), 'SegmentSealed');
    expect(await appendBlock(segment, 'w', 2, ['c'])).toEqual({ type: 'SegmentIsSealed', segment, length: appended.length });
    const conditional = await client.call({
      type: 'ConditionalAppend',
      segment,
      writerId: null,
      eventNumber: -1,
      expectedOffset: appended.length,
      data: block(['c']),
      token: null,
    });
    expect(conditional).toEqual({ type: 'SegmentIsSealed', segment, length: appended.length });
    const atEnd = expectReply(await read(segment, appended.length, 5_000), 'SegmentRead');
    expect(atEnd).toMatchObject({ data: Buffer.alloc(0), endOfSegment: true, length: appended.length });
    expect(expectReply(await client.call({ type: 'GetSegmentInfo', segment, token: null }), 'SegmentInfo').sealed).toBe(true);
  });

  it('truncates: reads below the start get SegmentIsTruncated with the first readable offset', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    await setupAppend(segment, 'w');
    const first = expectReply(await appendBlock(segment, 'w', 1, ['one', 'two']), 'DataAppended');
    await appendBlock(segment, 'w', 2, ['three']);
    expect(await client.call({ type: 'TruncateSegment', segment, offset: first.length, token: null })).toEqual({
      type: 'SegmentTruncated',
      segment,
      startOffset: first.length,
    });
    expect(await read(segment, 0)).toEqual({ type: 'SegmentIsTruncated', segment, startOffset: first.length });
    const rest = expectReply(await read(segment, first.length), 'SegmentRead');
    expect(eventStrings(rest.data)).toEqual(['three']);
    expect(expectReply(await client.call({ type: 'GetSegmentInfo', segment, token: null }), 'SegmentInfo').startOffset).toBe(first.length);
  });

  it('deletes: the segment is gone afterwards', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    expect(await client.call({ type: 'DeleteSegment', segment, token: null })).toEqual({ type: 'SegmentDeleted', segment });
    expect(await client.call({ type: 'GetSegmentInfo', segment, token: null })).toEqual({ type: 'NoSuchSegment', segment });
  });

  it('keeps attributes with compare-and-set', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    expect(await client.call({ type: 'GetAttribute', segment, key: 'mark', token: null })).toEqual({
      type: 'Attribute',
      segment,
      key: 'mark',
      value: null,
    });
    const set = (expected: number | Buffer | null, value: number | Buffer | null): Promise<Command> =>
      client.call({ type: 'UpdateAttribute', segment, key: 'mark', expected, value, token: null });
    expect(await set(null, 5)).toEqual({ type: 'AttributeUpdated', segment, key: 'mark', success: true, current: 5 });
    expect(await set(null, 6)).toEqual({ type: 'AttributeUpdated', segment, key: 'mark', success: false, current: 5 });
    expect(await set(5, Buffer.from('bytes'))).toMatchObject({ success: true, current: Buffer.from('bytes') });
    expect(await client.call({ type: 'GetAttribute', segment, key: 'mark', token: null })).toMatchObject({ value: Buffer.from('bytes') });
    expect(await set(Buffer.from('bytes'), null)).toMatchObject({ success: true, current: null });
  });
});

describe('appends and reads', () => {
  it('sets up a writer, appends blocks and reads them back', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    expect(await setupAppend(segment, 'writer-1')).toBe(-1);
    const first = expectReply(await appendBlock(segment, 'writer-1', 2, ['e0', 'e1', 'e2']), 'DataAppended');
    expect(first).toEqual({ type: 'DataAppended', segment, writerId: 'writer-1', lastEventNumber: 2, length: block(['e0', 'e1', 'e2']).length });
    const second = expectReply(await appendBlock(segment, 'writer-1', 3, ['e3']), 'DataAppended');
    expect(second.length).toBe(first.length + block(['e3']).length);
    const reply = expectReply(await read(segment), 'SegmentRead');
    expect(reply).toMatchObject({ segment, offset: 0, length: second.length, endOfSegment: false });
    expect(eventStrings(reply.data)).toEqual(['e0', 'e1', 'e2', 'e3']);
    // A new connection sees the writer's last event number.
    const other = await connected();
    expect(await setupAppend(segment, 'writer-1', other)).toBe(3);
    other.close();
  });

  it('reads whole events only, up to maxBytes (at least one)', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    await setupAppend(segment, 'w');
    const events = ['aaaa', 'bbbb', 'cccc'];
    await appendBlock(segment, 'w', 2, events);
    const size = storedSize('aaaa');
    const one = expectReply(await read(segment, 0, 0, size + 1), 'SegmentRead');
    expect(eventStrings(one.data)).toEqual(['aaaa']);
    const atLeastOne = expectReply(await read(segment, size, 0, 1), 'SegmentRead');
    expect(eventStrings(atLeastOne.data)).toEqual(['bbbb']);
  });

  it('drops a resent block as a duplicate and stores it once', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    await setupAppend(segment, 'w');
    const first = expectReply(await appendBlock(segment, 'w', 1, ['x', 'y']), 'DataAppended');
    const resent = expectReply(await appendBlock(segment, 'w', 1, ['x', 'y']), 'DataAppended');
    expect(resent).toEqual(first);
    // A partly duplicate block keeps its new tail.
    const overlapping = expectReply(await appendBlock(segment, 'w', 2, ['y', 'z']), 'DataAppended');
    expect(overlapping.lastEventNumber).toBe(2);
    expect(eventStrings(expectReply(await read(segment), 'SegmentRead').data)).toEqual(['x', 'y', 'z']);
  });

  it('answers InvalidEventNumber for a gap in event numbers', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    await setupAppend(segment, 'w');
    await appendBlock(segment, 'w', 0, ['first']);
    expect(await appendBlock(segment, 'w', 5, ['gap'])).toEqual({ type: 'InvalidEventNumber', segment, writerId: 'w', lastEventNumber: 0 });
  });

  it('requires SetupAppend on the same connection before AppendBlock', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    await setupAppend(segment, 'w');
    const other = await connected();
    const reply = expectReply(await appendBlock(segment, 'w', 0, ['x'], other), 'ErrorMessage');
    expect(reply.code).toBe('NO_APPEND_SETUP');
    expectReply(await other.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
    other.close();
  });

  it('bounds the writers set up on one connection by dropping the oldest setup, never refusing a new one', async () => {
    const other = await connected();
    const segment = freshSegment();
    await createSegment(segment, other);
    for (let i = 0; i < MAX_WRITERS; i++) await setupAppend(segment, `w${i}`, other);
    await setupAppend(segment, 'w0', other); // the same writer again is not a new one: it becomes the newest
    await setupAppend(segment, 'one-more', other); // w1, the oldest setup, goes
    expect(expectReply(await appendBlock(segment, 'one-more', 0, ['x'], other), 'DataAppended').lastEventNumber).toBe(0);
    expect(expectReply(await appendBlock(segment, 'w0', 0, ['x'], other), 'DataAppended').lastEventNumber).toBe(0);
    expect(expectReply(await appendBlock(segment, 'w1', 0, ['x'], other), 'ErrorMessage').code).toBe('NO_APPEND_SETUP');
    await setupAppend(segment, 'w1', other);
    expect(expectReply(await appendBlock(segment, 'w1', 0, ['x'], other), 'DataAppended').lastEventNumber).toBe(0);
    other.close();
  });

  it('ReleaseAppend frees a setup (and answers when there was none)', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    await setupAppend(segment, 'released');
    const reply = await client.call({ type: 'ReleaseAppend', segment, writerId: 'released' });
    expect(reply).toEqual({ type: 'AppendReleased', segment, writerId: 'released' });
    expect(expectReply(await appendBlock(segment, 'released', 0, ['x']), 'ErrorMessage').code).toBe('NO_APPEND_SETUP');
    expect(await client.call({ type: 'ReleaseAppend', segment, writerId: 'never-set-up' })).toMatchObject({ type: 'AppendReleased' });
  });

  it('refuses malformed blocks for that request only', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    await setupAppend(segment, 'w');
    const countMismatch = await client.call({ type: 'AppendBlock', segment, writerId: 'w', lastEventNumber: 2, eventCount: 3, data: block(['a']) });
    expect(expectReply(countMismatch, 'ErrorMessage').code).toBe('EVENT_COUNT_MISMATCH');
    const cutShort = block(['abcdef']).subarray(0, 7);
    const malformed = await client.call({ type: 'AppendBlock', segment, writerId: 'w', lastEventNumber: 0, eventCount: 1, data: cutShort });
    expect(expectReply(malformed, 'ErrorMessage').code).toBe('MALFORMED_BLOCK');
    const tooLarge = await appendBlock(segment, 'w', 0, ['x'.repeat(1025)]);
    expect(expectReply(tooLarge, 'ErrorMessage').code).toBe('EVENT_TOO_LARGE');
    const empty = await client.call({ type: 'AppendBlock', segment, writerId: 'w', lastEventNumber: 0, eventCount: 0, data: Buffer.alloc(0) });
    expect(expectReply(empty, 'ErrorMessage').code).toBe('MALFORMED_BLOCK');
    // Nothing was stored and the connection still works.
    expectReply(await appendBlock(segment, 'w', 0, ['ok']), 'DataAppended');
    expect(eventStrings(expectReply(await read(segment), 'SegmentRead').data)).toEqual(['ok']);
  });

  it('appends conditionally at the expected offset, else ConditionalCheckFailed', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    const conditional = (expectedOffset: number, events: string[]): Promise<Command> =>
      client.call({ type: 'ConditionalAppend', segment, writerId: null, eventNumber: -1, expectedOffset, data: block(events), token: null });
    const first = expectReply(await conditional(0, ['v1']), 'DataAppended');
    expect(first).toMatchObject({ segment, writerId: null, length: block(['v1']).length });
    expect(await conditional(0, ['v1-again'])).toEqual({ type: 'ConditionalCheckFailed', segment, length: first.length });
    const second = expectReply(await conditional(first.length, ['v2', 'v2b']), 'DataAppended');
    expect(eventStrings(expectReply(await read(segment), 'SegmentRead').data)).toEqual(['v1', 'v2', 'v2b']);
    expect(second.length).toBe(first.length + block(['v2', 'v2b']).length);
  });

  it('answers a tail read with no events when nothing comes within waitMs', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    const started = Date.now();
    const reply = expectReply(await read(segment, 0, 300), 'SegmentRead');
    const waited = Date.now() - started;
    expect(reply).toMatchObject({ offset: 0, data: Buffer.alloc(0), length: 0, endOfSegment: false });
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(3_000);
  });

  it('answers a read past the end with an error reply, not a hang', async () => {
    const segment = freshSegment();
    await createSegment(segment);
    const reply = await read(segment, 1_000, 100);
    expect(reply.type).toBe('ErrorMessage');
  });
});
