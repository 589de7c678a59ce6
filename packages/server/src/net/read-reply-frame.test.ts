import { describe, expect, it } from 'vitest';

import { decodeFrame, encodeFrame, type CommandOf } from '@sluice/protocol';

import { readReplyParts } from './read-reply-frame.js';

const MiB = 1024 * 1024;

function readReply(data: Buffer): CommandOf<'SegmentRead'> {
  return { type: 'SegmentRead', segment: 'hol/reads/0', offset: 4096, length: 1 << 30, endOfSegment: false, data };
}

describe('readReplyParts', () => {
  it('gives the bytes encodeFrame gives, with the data as its own part, not copied', () => {
    const data = Buffer.from('\u0000\u0000\u0000\u0005hello\u0000\u0000\u0000\u0002hi');
    const reply = readReply(data);
    const parts = readReplyParts(7, 42, reply)!;
    expect(parts[1]).toBe(data);
    expect(Buffer.concat(parts)).toEqual(encodeFrame(7, 42, reply));
    const decoded = decodeFrame(Buffer.concat(parts));
    expect(decoded).toMatchObject({ flowId: 7, sequence: 42, command: { ...reply, data } });
  });

  it('encodes empty and large data alike', () => {
    for (const bytes of [0, 1, 70_000, 3 * MiB]) {
      const reply = readReply(Buffer.alloc(bytes, 1));
      // Buffer.equals: vitest's deep equality walks megabytes byte by byte.
      expect(Buffer.concat(readReplyParts(1, 1, reply)!).equals(encodeFrame(1, 1, reply))).toBe(true);
    }
  });
});
