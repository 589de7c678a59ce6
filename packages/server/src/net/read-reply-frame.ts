import { encodeFrame, type CommandOf } from '@sluice/protocol';

/** A read reply with at least this much data is bulk: it goes out in parts, behind small replies. */
export const BULK_REPLY_BYTES = 16 * 1024;

const EMPTY = Buffer.alloc(0);
/** msgpack bin 32: 0xc6, then the length as a u32. The codec packs a trailing bytes field so. */
const BIN32 = 0xc6;
const BIN32_HEADER_SIZE = 5;

/**
 * A SegmentRead frame as [everything before the data, the data]: the data (a view of the cache or of
 * a log read) is written as it is instead of being copied into a new frame buffer, so serving a read
 * allocates no buffer of its size. The protocol ends the body with the data as a bin 32 field; the
 * frame is encoded with empty data and its two lengths (frame, bin) are then set for the real data.
 * Returns null if that layout ever changes; the caller then encodes the frame whole.
 */
export function readReplyParts(flowId: number, sequence: number, reply: CommandOf<'SegmentRead'>): Buffer[] | null {
  const head = encodeFrame(flowId, sequence, { ...reply, data: EMPTY });
  const binAt = head.byteLength - BIN32_HEADER_SIZE;
  if (binAt < 0 || head[binAt] !== BIN32 || head.readUInt32BE(binAt + 1) !== 0) return null;
  const dataBytes = reply.data.byteLength;
  head.writeUInt32BE(dataBytes, binAt + 1);
  head.writeUInt32BE(head.readUInt32BE(0) + dataBytes, 0);
  return [head, reply.data];
}
