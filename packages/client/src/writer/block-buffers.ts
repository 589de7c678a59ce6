/** Bytes of block buffers a client keeps for reuse: a few of the largest default blocks (1 MiB). */
export const POOLED_BLOCK_BYTES = 4 * 1024 * 1024;

/**
 * Buffers of acknowledged append blocks, kept for the client's next blocks. A new Buffer of a block's
 * size is memory the process never touched: copying events into it costs a page fault per 4 KiB, which
 * showed as the writer's largest cost in profiles of pipelined small appends (docs/benchmarks.md). A
 * buffer is reused by the size it was made with (block sizes are powers of two, or an event's own
 * size), the last one returned first (its pages are the most likely still cached).
 *
 * Only the writer decides when a buffer is free: after its block was acknowledged on the one
 * connection it was sent on (so the server read every byte, the socket holds none of it and no resend
 * will read it again). Buffers of blocks resent or given up are left to the garbage collector.
 */
export class BlockBuffers {
  readonly #free = new Map<number, Buffer[]>();
  #pooledBytes = 0;

  constructor(readonly maxPooledBytes = POOLED_BLOCK_BYTES) {}

  /** Bytes held for reuse now. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** A buffer of exactly capacity bytes, reused when one is free. Its contents are whatever it held. */
  take(capacity: number): Buffer {
    const buffer = this.#free.get(capacity)?.pop();
    if (buffer === undefined) return Buffer.allocUnsafe(capacity);
    this.#pooledBytes -= capacity;
    return buffer;
  }

  /** Keeps buffer for a later take() while under the bound; the caller must not use it again. */
  give(buffer: Buffer): void {
    const size = buffer.byteLength;
    if (this.#pooledBytes + size > this.maxPooledBytes) return;
    let free = this.#free.get(size);
    if (free === undefined) {
      free = [];
      this.#free.set(size, free);
    }
    free.push(buffer);
    this.#pooledBytes += size;
  }
}
