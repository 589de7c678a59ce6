import { BufferPool } from '@sluice/protocol';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Append blocks, from the smallest (4 KiB) to the largest default (1 MiB): a few of those are what a
 * busy writer has in flight. A block's buffer comes back only when the block was acknowledged after
 * its only send (SegmentWriter): the server read the whole frame, the socket holds none of it, and
 * no resend will read it.
 */
export function newBlockBufferPool(): BufferPool {
  return new BufferPool(4 * MiB, 4 * KiB);
}

/**
 * Large frames (over 32 KiB, e.g. 1 MiB read replies), which the socket reads straight into. A frame
 * whose command carries no bytes comes back as soon as it is decoded; of read replies, only a reader
 * that copies every event out (copyEventData) hands one back, once it delivered the reply's last
 * event: by default events are views of the reply, which the application may keep.
 */
export function newFrameBufferPool(): BufferPool {
  return new BufferPool(8 * MiB, 64 * KiB);
}
