import type { Socket } from 'node:net';

/** Past this many buffered bytes a batch goes out at once instead of at the next microtask checkpoint. */
export const FLUSH_THRESHOLD_BYTES = 64 * 1024;
/** Batches up to this size are joined into one buffer; larger ones go out corked (one writev). */
const CONCAT_LIMIT_BYTES = 1024 * 1024;

/**
 * Coalesces reply frames into one socket write per microtask checkpoint (or per threshold): the
 * replies to the frames of one received chunk, or to the appends one group commit made durable, go
 * out together. A socket.write costs ~6 µs here, so one write per reply would cap a node near 160k
 * replies/s; waiting for setImmediate instead would add a loop turn to every awaited request.
 */
export class ReplyWriter {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly socket: Socket,
    private readonly thresholdBytes = FLUSH_THRESHOLD_BYTES,
  ) {}

  /** Bytes encoded but not yet handed to the socket. */
  get pendingBytes(): number {
    return this.bytes;
  }

  write(frame: Buffer): void {
    if (this.socket.destroyed) return;
    this.chunks.push(frame);
    this.bytes += frame.byteLength;
    if (this.bytes >= this.thresholdBytes) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushScheduled);
    }
  }

  flush(): void {
    if (this.bytes === 0) return;
    const chunks = this.chunks;
    const bytes = this.bytes;
    this.chunks = [];
    this.bytes = 0;
    if (this.socket.destroyed || !this.socket.writable) return;
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!);
    } else if (bytes <= CONCAT_LIMIT_BYTES) {
      this.socket.write(Buffer.concat(chunks, bytes));
    } else {
      this.socket.cork();
      for (const chunk of chunks) this.socket.write(chunk);
      this.socket.uncork();
    }
  }
}
