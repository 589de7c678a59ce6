import type { Transport } from './transport.js';

/**
 * Frames (and frame parts) at least this large are written as they are; smaller ones are copied into
 * one batch. Flows encode a block this large as its own part (encodeFrameParts), so it is never copied.
 */
export const LARGE_FRAME_BYTES = 16 * 1024;

/**
 * Coalesces frames from every flow on a socket: they are queued and written together on the next
 * microtask, or at once past flushThreshold bytes. A socket.write costs microseconds, so one write
 * per frame would cap a connection far below what the wire carries. The parts of a frame are queued
 * together, so frames of different flows never cut each other short.
 */
export class FrameWriter {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;

  constructor(
    private readonly socket: Transport,
    private readonly flushThreshold = 64 * 1024,
  ) {}

  /** Queues the parts of one frame, in order, next to each other. */
  write(parts: readonly Buffer[]): void {
    for (const part of parts) {
      this.queue.push(part);
      this.queuedBytes += part.byteLength;
    }
    if (this.queuedBytes >= this.flushThreshold) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
  }

  readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.queue.length === 0 || this.socket.destroyed) return;
    const frames = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (frames.length === 1) {
      this.socket.write(frames[0]!);
      return;
    }
    this.socket.cork();
    let batchStart = 0;
    let batchBytes = 0;
    const writeBatch = (end: number): void => {
      if (end - batchStart === 1) this.socket.write(frames[batchStart]!);
      else if (end > batchStart) this.socket.write(Buffer.concat(frames.slice(batchStart, end), batchBytes));
      batchBytes = 0;
    };
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      if (frame.byteLength >= LARGE_FRAME_BYTES) {
        writeBatch(i);
        this.socket.write(frame);
        batchStart = i + 1;
      } else {
        batchBytes += frame.byteLength;
      }
    }
    writeBatch(frames.length);
    this.socket.uncork();
  };
}
