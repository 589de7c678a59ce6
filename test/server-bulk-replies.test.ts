/**
 * Large read replies do not hold up small replies of other flows on the same connection: the node
 * hands bulk replies to the socket one at a time, and an append ack made while some wait for the
 * peer goes out ahead of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { scrape } from './helpers/prometheus.js';
import { RawClient, block, expectReply, storedSize } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const MiB = 1024 * 1024;
let server: ServerProcess;
const clients: RawClient[] = [];

beforeAll(async () => {
  // Room for every reply below, so that flow control does not stop the node reading the append.
  server = await startServer({ args: ['--metrics-port', '0', '--max-unacked-bytes', '256MiB'] });
});

afterAll(() => {
  for (const client of clients) client.close();
});

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const counter = async (name: string): Promise<number> => (await scrape(server)).value(name);

describe('bulk replies', () => {
  it('let an append ack overtake the read replies a peer has not taken yet', async () => {
    const client = await RawClient.connect(server.address);
    clients.push(client);
    await client.hello();
    const reads = 'bulk/reads/0';
    const writes = 'bulk/writes/0';
    for (const [segment, flow] of [[reads, 1], [writes, 2]] as const) {
      expectReply(await client.call({ type: 'CreateSegment', segment, token: null }, flow), 'SegmentCreated');
      expectReply(await client.call({ type: 'SetupAppend', segment, writerId: `w${flow}`, token: null }, flow), 'AppendSetup');
    }
    const event = Buffer.alloc(4 * MiB, 7);
    const append = (segment: string, flow: number, data: Buffer) =>
      client.call({ type: 'AppendBlock', segment, writerId: `w${flow}`, lastEventNumber: 0, eventCount: 1, data }, flow, 30_000);
    expectReply(await append(reads, 1, block([event])), 'DataAppended');

    const arrivals: string[] = [];
    const readCount = 8;
    const readBytesBefore = await counter('sluice_read_bytes_total');
    client.socket.pause();
    const readReplies = Array.from({ length: readCount }, () =>
      client
        .call({ type: 'ReadSegment', segment: reads, offset: 0, maxBytes: 8 * MiB, waitMs: 0, token: null }, 3, 30_000)
        .then((reply) => {
          arrivals.push('read');
          return reply;
        }),
    );
    // Every read is answered: 32 MiB of replies wait for a peer that takes none.
    await until(async () => (await counter('sluice_read_bytes_total')) - readBytesBefore >= readCount * storedSize(event), 'the reads');

    const appendsBefore = await counter('sluice_appends_total');
    const ack = append(writes, 2, block(['small'])).then((reply) => {
      arrivals.push('ack');
      return reply;
    });
    await until(async () => (await counter('sluice_appends_total')) > appendsBefore, 'the append');
    client.socket.resume();

    expectReply(await ack, 'DataAppended');
    for (const reply of await Promise.all(readReplies)) expect(expectReply(reply, 'SegmentRead').data.byteLength).toBe(storedSize(event));
    // The socket and the kernel's buffers held a few megabytes of read replies when the ack was
    // made; the rest were still the node's to order, and went out behind the ack.
    const readsAfterAck = arrivals.length - 1 - arrivals.indexOf('ack');
    expect(readsAfterAck).toBeGreaterThanOrEqual(readCount / 2);
  });
});
