/**
 * Flows on one connection are independent; tail reads wake on append; flow control pauses and
 * resumes a connection that sends faster than it is answered without losing a request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RawClient, block, eventStrings, expectReply, storedSize } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

let server: ServerProcess;
let counter = 0;
const freshSegment = (): string => `flows/s${++counter}/0`;
const clients: RawClient[] = [];

beforeAll(async () => {
  server = await startServer({ args: ['--max-unacked-bytes', '256KiB', '--log-level', 'debug'] });
});

afterAll(() => {
  for (const client of clients) client.close();
});

async function connected(): Promise<RawClient> {
  const client = await RawClient.connect(server.address);
  clients.push(client);
  await client.hello();
  return client;
}

async function createWithWriter(client: RawClient, segment: string, writerId: string, flowId: number): Promise<void> {
  expectReply(await client.call({ type: 'CreateSegment', segment, token: null }, flowId), 'SegmentCreated');
  expectReply(await client.call({ type: 'SetupAppend', segment, writerId, token: null }, flowId), 'AppendSetup');
}

describe('tail reads', () => {
  it('wake on append, well before their wait time', async () => {
    const reader = await connected();
    const writer = await connected();
    const segment = freshSegment();
    await createWithWriter(writer, segment, 'w', 1);

    const waitMs = 10_000;
    let readAt = 0;
    const pendingRead = reader
      .call({ type: 'ReadSegment', segment, offset: 0, maxBytes: 1 << 20, waitMs, token: null }, 7)
      .then((reply) => {
        readAt = performance.now();
        return reply;
      });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(readAt).toBe(0);

    const appendSent = performance.now();
    expectReply(
      await writer.call({ type: 'AppendBlock', segment, writerId: 'w', lastEventNumber: 0, eventCount: 1, data: block(['hello']) }),
      'DataAppended',
    );
    const reply = expectReply(await pendingRead, 'SegmentRead');
    const wakeMs = readAt - appendSent;
    expect(eventStrings(reply.data)).toEqual(['hello']);
    // The read answers as soon as the data is durable: milliseconds, not the 10 s it was allowed.
    expect(wakeMs).toBeLessThan(250);
    console.log(`tail read woke ${wakeMs.toFixed(1)} ms after the append was sent`);
  });

  it('on flow A never delay flow B on the same connection', async () => {
    const client = await connected();
    const idle = freshSegment();
    const busy = freshSegment();
    await createWithWriter(client, idle, 'wa', 1);
    await createWithWriter(client, busy, 'wb', 2);

    // Flow 10 waits at the tail of `idle` for up to 5 s.
    let readDone = false;
    const waitingRead = client
      .call({ type: 'ReadSegment', segment: idle, offset: 0, maxBytes: 1024, waitMs: 5_000, token: null }, 10)
      .finally(() => {
        readDone = true;
      });

    // Flow 2 appends 20 blocks while it waits; each ack comes at once.
    const started = performance.now();
    for (let n = 0; n < 20; n++) {
      expectReply(
        await client.call({ type: 'AppendBlock', segment: busy, writerId: 'wb', lastEventNumber: n, eventCount: 1, data: block([`e${n}`]) }, 2),
        'DataAppended',
      );
    }
    const elapsed = performance.now() - started;
    expect(readDone).toBe(false);
    expect(elapsed).toBeLessThan(2_000);

    // Waking the read ends it with the new data.
    expectReply(
      await client.call({ type: 'AppendBlock', segment: idle, writerId: 'wa', lastEventNumber: 0, eventCount: 1, data: block(['late']) }, 1),
      'DataAppended',
    );
    expect(eventStrings(expectReply(await waitingRead, 'SegmentRead').data)).toEqual(['late']);
  });
});

describe('many flows on one connection', () => {
  it('answers every pipelined request with its own request id, in order within each flow', async () => {
    const client = await connected();
    const flows = 40;
    const blocksPerFlow = 25;
    for (let flow = 1; flow <= flows; flow++) await createWithWriter(client, `flows/many${flow}/0`, `w${flow}`, flow);

    const replies: Array<Promise<{ flow: number; n: number; length: number }>> = [];
    for (let n = 0; n < blocksPerFlow; n++) {
      for (let flow = 1; flow <= flows; flow++) {
        const segment = `flows/many${flow}/0`;
        const sequence = client.nextSequence(flow);
        replies.push(
          client
            .request(flow, sequence, { type: 'AppendBlock', segment, writerId: `w${flow}`, lastEventNumber: n, eventCount: 1, data: block([`${flow}:${n}`]) })
            .then((frame) => {
              expect(frame.flowId).toBe(flow);
              expect(frame.sequence).toBe(sequence);
              const appended = expectReply(frame.command, 'DataAppended');
              expect(appended.lastEventNumber).toBe(n);
              return { flow, n, length: appended.length };
            }),
        );
      }
    }
    const results = await Promise.all(replies);
    for (let flow = 1; flow <= flows; flow++) {
      const lengths = results.filter((result) => result.flow === flow).map((result) => result.length);
      expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
      const read = expectReply(
        await client.call({ type: 'ReadSegment', segment: `flows/many${flow}/0`, offset: 0, maxBytes: 1 << 20, waitMs: 0, token: null }, flow),
        'SegmentRead',
      );
      expect(eventStrings(read.data)).toEqual(Array.from({ length: blocksPerFlow }, (_, n) => `${flow}:${n}`));
    }
  });
});

describe('flow control', () => {
  it('pauses a connection past --max-unacked-bytes and serves every request in the end', async () => {
    const client = await connected();
    const segment = freshSegment();
    await createWithWriter(client, segment, 'w', 1);
    const payload = 'p'.repeat(16 * 1024);
    const blocks = 200; // ~3.2 MiB pipelined against a 256 KiB bound
    const acks: Array<Promise<unknown>> = [];
    for (let n = 0; n < blocks; n++) {
      acks.push(
        client.call({ type: 'AppendBlock', segment, writerId: 'w', lastEventNumber: n, eventCount: 1, data: block([payload]) }, 1, 30_000),
      );
    }
    const replies = await Promise.all(acks);
    for (const reply of replies) expectReply(reply as never, 'DataAppended');
    const info = expectReply(await client.call({ type: 'GetSegmentInfo', segment, token: null }), 'SegmentInfo');
    expect(info.length).toBe(blocks * storedSize(payload));
    await server.waitForLog('reading paused');
    await server.waitForLog('reading resumed');
  });

  it('keeps serving a connection that reads its replies slowly', async () => {
    const client = await connected();
    const segment = freshSegment();
    await createWithWriter(client, segment, 'w', 1);
    await client.call({
      type: 'AppendBlock',
      segment,
      writerId: 'w',
      lastEventNumber: 0,
      eventCount: 1,
      data: block(['r'.repeat(60 * 1024)]),
    });
    // 100 reads of 60 KiB each, sent while the socket is not read: the node stops reading us
    // instead of buffering everything, and answers every read once we read again.
    const pausesBefore = server.logCount('reading paused');
    client.socket.pause();
    const reads = Array.from({ length: 100 }, () =>
      client.call({ type: 'ReadSegment', segment, offset: 0, maxBytes: 1 << 20, waitMs: 0, token: null }, 3, 30_000),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    client.socket.resume();
    for (const reply of await Promise.all(reads)) expect(expectReply(reply, 'SegmentRead').data.length).toBe(storedSize('r'.repeat(60 * 1024)));
    await server.waitForLog('reading paused', pausesBefore + 1);
  });
});
