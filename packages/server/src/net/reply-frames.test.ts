import { describe, expect, it } from 'vitest';
import pino from 'pino';

import { encodeFrame, type CommandOf } from '@sluice/protocol';

import { block } from '../../test-support/store.js';
import { SegmentReadResult } from '../store/segment-reads.js';
import { BULK_REPLY_BYTES, MAX_REPLY_PIECES, SegmentReadReply, sendReply } from './reply-frames.js';
import type { ReplyWriter } from './reply-writer.js';

/** What sendReply hands a writer: bulk frames as their parts, small frames whole. */
function capture(): { writer: ReplyWriter; bulk: Buffer[][]; small: Buffer[] } {
  const bulk: Buffer[][] = [];
  const small: Buffer[] = [];
  const writer = { writeBulkFrame: (parts: Buffer[]) => bulk.push(parts), write: (frame: Buffer) => small.push(frame) };
  return { writer: writer as unknown as ReplyWriter, bulk, small };
}

/** A reply over `count` blocks of about `bytes` bytes each. */
function replyOver(count: number, bytes: number): SegmentReadReply {
  const blocks = Array.from({ length: count }, (_, k) => block('x'.repeat(bytes - 4) + String(k % 10)));
  const total = blocks.reduce((sum, part) => sum + part.byteLength, 0);
  return new SegmentReadReply('s/0', new SegmentReadResult(4096, blocks, 4096 + total, true));
}

/** The frame encodeFrame makes of the same reply with its data joined. */
function joinedFrame(reply: SegmentReadReply): Buffer {
  const { segment, offset, data, length, endOfSegment } = reply;
  const command: CommandOf<'SegmentRead'> = { type: 'SegmentRead', segment, offset, data: Buffer.from(data), length, endOfSegment };
  return encodeFrame(3, 9, command);
}

describe('sendReply of a read', () => {
  const log = pino({ level: 'silent' });

  it('writes a bulk read as its head and the stored blocks as they are, the bytes of the joined frame', () => {
    const reply = replyOver(4, 8 * 1024);
    const { writer, bulk, small } = capture();
    sendReply(writer, 3, 9, reply, log);
    expect(small).toHaveLength(0);
    expect(bulk).toHaveLength(1);
    const [head, ...pieces] = bulk[0]!;
    expect(pieces).toHaveLength(4);
    pieces.forEach((piece, k) => expect(piece).toBe(reply.parts[k]));
    expect(Buffer.concat([head!, ...pieces])).toEqual(joinedFrame(reply));
  });

  it('joins a read over more blocks than MAX_REPLY_PIECES into one part after the head', () => {
    const reply = replyOver(MAX_REPLY_PIECES + 1, 1024);
    const { writer, bulk } = capture();
    sendReply(writer, 3, 9, reply, log);
    expect(bulk[0]).toHaveLength(2);
    expect(Buffer.concat(bulk[0]!)).toEqual(joinedFrame(reply));
  });

  it('writes a small read as one frame', () => {
    const reply = replyOver(2, 1024);
    expect(reply.data.byteLength).toBeLessThan(BULK_REPLY_BYTES);
    const { writer, bulk, small } = capture();
    sendReply(writer, 3, 9, reply, log);
    expect(bulk).toHaveLength(0);
    expect(small).toEqual([joinedFrame(reply)]);
  });
});
