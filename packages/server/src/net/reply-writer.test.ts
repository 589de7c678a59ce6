import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { FrameDecoder, encodeFrame, encodeFrameParts, type CommandOf } from '@sluice/protocol';

import { ReplyWriter } from './reply-writer.js';

const MiB = 1024 * 1024;
const sockets: net.Socket[] = [];
const servers: net.Server[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/** A real loopback connection: the node's end (written by a ReplyWriter) and the peer's end, paused. */
async function socketPair(): Promise<{ node: net.Socket; peer: net.Socket }> {
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const peer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  peer.pause();
  const node = await accepted;
  sockets.push(node, peer);
  return { node, peer };
}

/** Sequence numbers of the frames the peer receives, in arrival order, until `count` arrived. */
function receivedSequences(peer: net.Socket, count: number): Promise<number[]> {
  const decoder = new FrameDecoder({ maxFrameSize: 64 * MiB });
  const sequences: number[] = [];
  return new Promise((resolve) => {
    peer.on('data', (chunk: Buffer) =>
      decoder.push(chunk, (frame) => {
        sequences.push(frame.sequence);
        if (sequences.length === count) resolve(sequences);
      }),
    );
    peer.resume();
  });
}

function readReply(data: Buffer): CommandOf<'SegmentRead'> {
  return { type: 'SegmentRead', segment: 'hol/reads/0', offset: 4096, length: 1 << 30, endOfSegment: false, data };
}

function bulkFrame(sequence: number, bytes: number): Buffer[] {
  return encodeFrameParts(3, sequence, readReply(Buffer.alloc(bytes, sequence)), 1);
}

function ack(sequence: number): Buffer {
  return encodeFrame(2, sequence, { type: 'DataAppended', segment: 'hol/writes/0', writerId: 'w', lastEventNumber: sequence, length: 100 });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ReplyWriter', () => {
  it('sends a small reply ahead of bulk replies that wait for the socket', async () => {
    const { node, peer } = await socketPair();
    const writer = new ReplyWriter(node);
    // Four 8 MiB read replies: more than loopback buffers hold while the peer does not read, so the
    // socket keeps the first one and the writer holds the others back.
    for (let sequence = 1; sequence <= 4; sequence++) writer.writeBulkFrame(bulkFrame(sequence, 8 * MiB));
    await nextTurn();
    expect(writer.queuedBulkFrames).toBeGreaterThan(0);
    expect(writer.queuedBulkFrames).toBeLessThan(4);
    const waitingBulk = writer.queuedBulkFrames;

    writer.write(ack(100));
    await nextTurn();
    // The ack went to the socket at once; the bulk frames still wait behind it.
    expect(writer.queuedBulkFrames).toBe(waitingBulk);

    const order = await receivedSequences(peer, 5);
    expect([...order].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 100]);
    // Behind the ack: every bulk frame the writer was still holding, in their own order.
    expect(order.slice(order.indexOf(100) + 1)).toEqual([1, 2, 3, 4].slice(4 - waitingBulk));
    expect(writer.pendingBytes).toBe(0);
  });

  it('writes small replies made in the same turn before a bulk reply queued first', async () => {
    const { node, peer } = await socketPair();
    const writer = new ReplyWriter(node);
    writer.writeBulkFrame(bulkFrame(1, 256 * 1024));
    writer.write(ack(2));
    writer.write(ack(3));
    expect(await receivedSequences(peer, 3)).toEqual([2, 3, 1]);
  });

  it('hands the socket bulk frames once per event-loop turn, up to its bytes per turn, none before the turn ends', async () => {
    const { node, peer } = await socketPair();
    const writer = new ReplyWriter(node, undefined, 40 * 1024);
    for (let sequence = 1; sequence <= 5; sequence++) writer.writeBulkFrame(bulkFrame(sequence, 16 * 1024));
    await Promise.resolve();
    // Not at the microtask checkpoint: the rest of this turn's I/O (appends, disk writes) goes first.
    expect(writer.queuedBulkFrames).toBe(5);
    const queued: number[] = [];
    for (let turn = 0; turn < 2; turn++) {
      await nextTurn();
      queued.push(writer.queuedBulkFrames);
    }
    // Frames until 40 KiB were written (three of ~16 KiB), the other two the turn after.
    expect(queued).toEqual([2, 0]);
    expect(await receivedSequences(peer, 5)).toEqual([1, 2, 3, 4, 5]);
  });

  it('writes one bulk frame per turn when a frame alone passes the bytes per turn', async () => {
    const { node } = await socketPair();
    const writer = new ReplyWriter(node, undefined, 64 * 1024);
    for (let sequence = 1; sequence <= 3; sequence++) writer.writeBulkFrame(bulkFrame(sequence, 256 * 1024));
    const queued: number[] = [];
    for (let turn = 0; turn < 3; turn++) {
      await nextTurn();
      queued.push(writer.queuedBulkFrames);
    }
    expect(queued).toEqual([2, 1, 0]);
  });

  it('keeps bulk replies in order and counts them as pending until the socket takes them', async () => {
    const { node, peer } = await socketPair();
    const writer = new ReplyWriter(node);
    for (let sequence = 1; sequence <= 3; sequence++) writer.writeBulkFrame(bulkFrame(sequence, 8 * MiB));
    expect(writer.pendingBytes).toBeGreaterThan(3 * 8 * MiB);
    expect(await receivedSequences(peer, 3)).toEqual([1, 2, 3]);
    expect(writer.pendingBytes).toBe(0);
  });

  it('flushAll hands every bulk reply to the socket at once', async () => {
    const { node, peer } = await socketPair();
    const writer = new ReplyWriter(node);
    for (let sequence = 1; sequence <= 3; sequence++) writer.writeBulkFrame(bulkFrame(sequence, 8 * MiB));
    writer.write(ack(9));
    writer.flushAll();
    expect(writer.queuedBulkFrames).toBe(0);
    expect(writer.pendingBytes).toBe(0);
    node.end();
    expect(await receivedSequences(peer, 4)).toEqual([9, 1, 2, 3]);
  });
});
