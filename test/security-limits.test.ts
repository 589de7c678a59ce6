/**
 * Per-connection limits a hostile or careless peer runs into, each exceeded on a real node: what the
 * peer is told, what is closed or refused, that the node's memory stays bounded, and that the node
 * still serves a well-behaved client afterwards. (Frame size at the raw level, short/unknown/garbage
 * frames, Hello timeout, slow-loris on a small frame and --max-connections are covered in
 * server-protocol-errors.test.ts; TOO_MANY_WRITERS and EVENT_TOO_LARGE at the raw level in
 * server-commands.test.ts.)
 */
import {
  EventTooLargeError,
  InvalidOptionError,
  RetryWindowExceededError,
  ServerError,
  SluiceClient,
  type SluiceClientOptions,
} from '@sluice/client';
import { encodeFrame, FRAME_HEADER_SIZE } from '@sluice/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MiB, canReadProcessMemory, processMemory, sampleRss } from './helpers/process-memory.js';
import { RawClient, block, expectReply, storedSize } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const clients: SluiceClient[] = [];
const raws: RawClient[] = [];

function sdk(server: ServerProcess, options: Partial<SluiceClientOptions> = {}): SluiceClient {
  const client = new SluiceClient({ endpoints: [server.address], requestTimeoutMs: 10_000, ...options });
  clients.push(client);
  return client;
}

async function helloed(server: ServerProcess): Promise<RawClient> {
  const client = await RawClient.connect(server.address);
  raws.push(client);
  await client.hello();
  return client;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A well-behaved client still gets everything done on the node: create, write, read back. */
async function servesWellBehavedClient(server: ServerProcess, stream: string): Promise<void> {
  const client = sdk(server);
  await client.createStream(stream, { segments: 1 });
  const writer = client.createWriter(stream);
  await writer.write('k', 'still-served');
  await writer.close();
  const reader = client.createReader(stream);
  const next = await reader.next();
  reader.close();
  expect(next.done).toBe(false);
  expect(next.value!.data.toString()).toBe('still-served');
}

async function rejectionOf(promise: Promise<unknown>, withinMs: number): Promise<unknown> {
  const outcome = await Promise.race([
    promise.then(
      () => ({ error: new Error('expected a rejection, but it resolved') as unknown, settled: false }),
      (error: unknown) => ({ error, settled: true }),
    ),
    sleep(withinMs).then(() => ({ error: new Error(`still pending after ${withinMs} ms`) as unknown, settled: false })),
  ]);
  if (!outcome.settled) throw outcome.error;
  return outcome.error;
}

afterAll(async () => {
  for (const raw of raws) raw.close();
  await Promise.all(clients.map((client) => client.close()));
});

describe.skipIf(!canReadProcessMemory)('bytes buffered while decoding: at most one frame per connection (--max-frame-size, --frame-timeout)', () => {
  let node: ServerProcess;

  beforeAll(async () => {
    node = await startServer({ args: ['--max-frame-size', '8MiB', '--max-event-size', '7MiB', '--frame-timeout', '1500ms', '--cache-bytes', '8MiB'] });
  });

  it('a 6 MiB frame trickled in 8 KiB pieces is answered, costing the node about the frame itself', async () => {
    const client = await helloed(node);
    const segment = 'trickle/big/0';
    expectReply(await client.call({ type: 'CreateSegment', segment, token: null }), 'SegmentCreated');
    const data = block([Buffer.alloc(6 * MiB, 0x5a)]);
    const frame = encodeFrame(7, 1, { type: 'ConditionalAppend', segment, writerId: null, eventNumber: -1, expectedOffset: 0, data, token: null });
    const before = processMemory(node.pid!).rss;
    const sampler = sampleRss(node.pid!, 20);
    const piece = 8 * 1024;
    for (let at = 0; at < frame.length; at += piece) {
      client.sendRaw(frame.subarray(at, at + piece));
      if ((at / piece) % 16 === 0) await sleep(1); // ~800 pieces over ~0.5 s
    }
    const reply = await client.nextFrame(10_000);
    const highest = sampler.stop();
    expect(reply).toMatchObject({ flowId: 7, sequence: 1 });
    expect(expectReply(reply!.command, 'DataAppended').length).toBe(data.length);
    // The frame (6 MiB) + the stored copy in the cache (6 MiB) + slack; a decoder that re-joined
    // its buffer per piece would churn through gigabytes of copies.
    expect(highest - before).toBeLessThan(64 * MiB);
  });

  it('20 connections stalled inside 8 MiB frames hold no more than they sent and are closed with FRAME_TIMEOUT', async () => {
    const header = Buffer.alloc(FRAME_HEADER_SIZE);
    header.writeUInt32BE(8 * MiB - 4, 0); // the largest frame allowed
    header.writeUInt16BE(0x24, 4); // ConditionalAppend
    header.writeUInt32BE(1, 8);
    const partial = Buffer.concat([header, Buffer.alloc(4 * MiB, 1)]);
    const before = processMemory(node.pid!).rss;
    const sampler = sampleRss(node.pid!, 20);
    const stallers = await Promise.all(Array.from({ length: 20 }, () => helloed(node)));
    for (const staller of stallers) staller.sendRaw(partial);
    const closedWith = await Promise.all(
      stallers.map(async (staller) => {
        // The node closes each at --frame-timeout (1.5 s) after its frame began; a loaded machine may take
        // much longer to move 80 MiB over loopback and answer, so the wait is generous (not a timing claim).
        const frame = await staller.nextFrame(30_000);
        await staller.closed;
        return frame?.command.type === 'ErrorMessage' ? frame.command.code : frame?.command.type;
      }),
    );
    const peak = sampler.stop();
    expect(new Set(closedWith)).toEqual(new Set(['FRAME_TIMEOUT']));
    // The bound is connections x --max-frame-size (each stalled frame's buffer is allocated whole when
    // its length prefix arrives); what is resident is closer to what was sent (20 x 4 MiB).
    // (That memory is garbage once the connections close; the node frees it at its next GC.)
    expect(peak - before).toBeLessThan(20 * 8 * MiB + 32 * MiB);
    await servesWellBehavedClient(node, 'trickle/after');
  });
});

describe.skipIf(!canReadProcessMemory)('unacknowledged bytes: a peer that does not read its replies (--max-unacked-bytes)', () => {
  let node: ServerProcess;

  beforeAll(async () => {
    node = await startServer({ args: ['--max-unacked-bytes', '1MiB', '--cache-bytes', '8MiB', '--log-level', 'debug'] });
  });

  it('600 pipelined reads of a 512 KiB segment: the node stops reading that peer and stays small; others are served', async () => {
    const setup = await helloed(node);
    const segment = 'unacked/reads/0';
    expectReply(await setup.call({ type: 'CreateSegment', segment, token: null }), 'SegmentCreated');
    expectReply(await setup.call({ type: 'SetupAppend', segment, writerId: 'w', token: null }), 'AppendSetup');
    // 128 blocks of 4 KiB: more than a reply writes as views of the stored blocks (MAX_REPLY_PIECES), so
    // each read's 512 KiB reply is joined into memory of its own, which only the reply budget bounds.
    for (let n = 0; n < 128; n++) {
      const data = block([Buffer.alloc(4 * 1024 - storedSize(''), n)]);
      expectReply(await setup.call({ type: 'AppendBlock', segment, writerId: 'w', lastEventNumber: n, eventCount: 1, data }), 'DataAppended');
    }
    const before = processMemory(node.pid!).rss;
    const pausedBefore = node.logCount('reading paused');
    const sampler = sampleRss(node.pid!, 20);
    const attacker = await helloed(node);
    attacker.socket.pause(); // never reads: every reply stays with the node (or in the kernel)
    // 600 x 512 KiB = 300 MiB of replies asked for with 22 KiB of requests, in one write: they
    // arrive together and are all dispatched before any reply is written.
    const reads = 600;
    attacker.sendRaw(
      Buffer.concat(
        Array.from({ length: reads }, (_, n) =>
          encodeFrame(9, n, { type: 'ReadSegment', segment, offset: 0, maxBytes: 1 * MiB, waitMs: 0, token: null }),
        ),
      ),
    );
    await sleep(1_000);
    // Meanwhile another connection is served as usual.
    const reader = await helloed(node);
    const read = expectReply(await reader.call({ type: 'ReadSegment', segment, offset: 0, maxBytes: 1 * MiB, waitMs: 0, token: null }), 'SegmentRead');
    expect(read.data.length).toBe(512 * 1024);
    const highest = sampler.stop();
    await node.waitForLog('reading paused', pausedBefore + 1);
    // Without the reply budget (request bytes only) the node held ~300 MiB here within a second.
    expect(highest - before).toBeLessThan(64 * MiB);

    // Once the peer reads again, every read is answered in full.
    attacker.socket.resume();
    const answered = new Set<number>();
    for (let n = 0; n < reads; n++) {
      const frame = await attacker.nextFrame(10_000);
      expect(frame?.flowId).toBe(9);
      expect(expectReply(frame!.command, 'SegmentRead').data.length).toBe(512 * 1024);
      answered.add(frame!.sequence);
    }
    expect(answered.size).toBe(reads);
  });

  it('pipelined appends (50 MiB) with replies never read: reading pauses, memory stays bounded, every append is acknowledged', async () => {
    const client = await helloed(node);
    const segment = 'unacked/appends/0';
    expectReply(await client.call({ type: 'CreateSegment', segment, token: null }), 'SegmentCreated');
    expectReply(await client.call({ type: 'SetupAppend', segment, writerId: 'w', token: null }), 'AppendSetup');
    const before = processMemory(node.pid!).rss;
    const pausedBefore = node.logCount('reading paused');
    const sampler = sampleRss(node.pid!, 20);
    client.socket.pause();
    const event = Buffer.alloc(64 * 1024 - storedSize(''), 7);
    const acks = Array.from({ length: 800 }, (_, n) =>
      client.request(1, 100 + n, { type: 'AppendBlock', segment, writerId: 'w', lastEventNumber: n, eventCount: 1, data: block([event]) }, 30_000),
    );
    await sleep(800);
    const bystander = await helloed(node);
    expectReply(await bystander.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
    await node.waitForLog('reading paused', pausedBefore + 1);
    client.socket.resume();
    const replies = await Promise.all(acks);
    const highest = sampler.stop();
    expect(replies.every((frame) => frame.command.type === 'DataAppended')).toBe(true);
    expect(expectReply(await client.call({ type: 'GetSegmentInfo', segment, token: null }), 'SegmentInfo').length).toBe(800 * 64 * 1024);
    // 50 MiB went through; the node held about the bound, the cache (8 MiB) and socket buffers.
    expect(highest - before).toBeLessThan(96 * MiB);
    await servesWellBehavedClient(node, 'unacked/after');
  });
});

describe('limits through the client SDK', () => {
  let node: ServerProcess;

  beforeAll(async () => {
    node = await startServer({ args: ['--max-writers-per-connection', '3', '--max-frame-size', '128KiB', '--max-event-size', '64KiB'] });
  });

  it('--max-writers-per-connection: a writer over the limit still goes (the oldest setup is dropped and set up again when used)', async () => {
    const client = sdk(node, { maxConnectionsPerEndpoint: 1 });
    await client.createStream('limits/writers', { segments: 1 });
    const writers = Array.from({ length: 4 }, (_, n) => client.createWriter('limits/writers', { writerId: `writer-${n}` }));
    for (const writer of writers) await writer.write('k', 'ok');
    // Each writer in turn finds its setup dropped by the others' and sets up again: nobody is refused.
    for (const writer of writers) await writer.write('k', 'still ok');
    expect(client.stats().endpoints[node.address]!.connectionsLost).toBe(0);
    const reader = client.createReader('limits/writers');
    const seen: string[] = [];
    for await (const event of reader) {
      seen.push(event.data.toString());
      if (seen.length === 8) break;
    }
    expect(seen).toEqual([...Array(4).fill('ok'), ...Array(4).fill('still ok')]);
    await Promise.all(writers.map((writer) => writer.close()));
  });

  it('an event over the writer maxEventSize is refused before sending: EventTooLargeError saying what to do', async () => {
    const client = sdk(node);
    await client.createStream('limits/events', { segments: 1 });
    const writer = client.createWriter('limits/events', { maxEventSize: 1024 });
    // The size counts the envelope (13 bytes and the key) with the data: 1 byte too many.
    const atLimit = 1024 - (storedSize('', 'k') - 4);
    const error = await rejectionOf(writer.write('k', Buffer.alloc(atLimit + 1)), 1_000);
    expect(error).toBeInstanceOf(EventTooLargeError);
    expect(error).toMatchObject({ code: 'EVENT_TOO_LARGE', size: 1025, maxEventSize: 1024 });
    expect((error as Error).message).toContain('maxEventSize');
    expect(writer.stats()).toMatchObject({ blocksSent: 0, eventsWritten: 0 });
    await writer.write('k', Buffer.alloc(atLimit)); // at the limit: fine
  });

  it("an event over the node's --max-event-size fails with EVENT_TOO_LARGE naming both limits; the writer then writes again", async () => {
    const client = sdk(node);
    await client.createStream('limits/node-events', { segments: 1 });
    const writer = client.createWriter('limits/node-events', { maxBlockBytes: 96 * 1024 });
    const error = await rejectionOf(writer.write('k', Buffer.alloc(64 * 1024 + 1)), 5_000);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).serverCode).toBe('EVENT_TOO_LARGE');
    expect((error as Error).message).toContain('--max-event-size');
    expect((error as Error).message).toContain('maxEventSize to 65536');
    await writer.write('k', Buffer.alloc(64 * 1024 - (storedSize('', 'k') - 4))); // envelope and data at the limit
  });

  it('client maxFrameSize is checked at construction, naming the option', () => {
    for (const maxFrameSize of [0, 64 * 1024, 2 ** 31, 1.5]) {
      const construct = (): SluiceClient => new SluiceClient({ endpoints: [node.address], maxFrameSize });
      expect(construct).toThrow(InvalidOptionError);
      expect(construct).toThrow(/maxFrameSize/);
    }
  });

  it('a node with a small --max-frame-size: writers with smaller blocks work; larger blocks fail (never hang) and the node serves others', async () => {
    const client = sdk(node, { retryWindowMs: 1_500 });
    await client.createStream('limits/frames', { segments: 1 });
    // Blocks under the node's 128 KiB frame limit: fine, however many events.
    const fitting = client.createWriter('limits/frames', { maxBlockBytes: 64 * 1024 });
    await Promise.all(Array.from({ length: 1_000 }, (_, n) => fitting.write('k', Buffer.alloc(1_000, n))));
    // The default 1 MiB blocks exceed it: the node closes the connection at each such frame (a
    // protocol error), and the writes fail once the retry window is over.
    const oversized = client.createWriter('limits/frames');
    const writes = Array.from({ length: 1_000 }, (_, n) => oversized.write('k', Buffer.alloc(1_000, n)));
    const error = await rejectionOf(Promise.all(writes), 6_000);
    expect(error).toBeInstanceOf(RetryWindowExceededError);
    await servesWellBehavedClient(node, 'limits/frames-after');
    expect(node.isRunning).toBe(true);
  });
});
