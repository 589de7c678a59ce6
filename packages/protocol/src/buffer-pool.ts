/** Capacities past this are multiples of it rather than powers of two. */
const CAPACITY_STEP = 64 * 1024;

/**
 * The capacity lent for size bytes: a power of two up to 64 KiB, then the next multiple of 64 KiB. A
 * 1 MiB read's reply frame (1 MiB and a few bytes) so takes 1 MiB + 64 KiB, not 2 MiB: most such
 * frames are never handed back (a reader's events are views of them), and V8 counts every byte lent
 * as external memory, which brings its full garbage collections forward.
 */
export function capacityFor(size: number): number {
  return size <= CAPACITY_STEP ? 2 ** Math.ceil(Math.log2(size)) : Math.ceil(size / CAPACITY_STEP) * CAPACITY_STEP;
}

/**
 * Buffers lent out for bytes that are written once and then only read (an append block being built,
 * a large frame being assembled from socket chunks), handed back by their user once nothing reads
 * them any more, and lent again. A fresh buffer of 1 MiB is memory the process never touched: filling
 * it cost ~100 page faults and 2-5 ms on a loaded machine, against well under 1 ms for a reused one
 * (docs/benchmarks.md, "Buffer reuse"). Buffers are kept by capacity (capacityFor), the last handed
 * back lent first (its pages are the most likely still cached); requests under minBytes and buffers
 * past maxPooledBytes are left to the garbage collector.
 *
 * Only buffers this pool lent are taken back, each once: a user may hand back whatever bytes it holds
 * (bytes in memory the pool did not lend are ignored), and handing one buffer back twice cannot make
 * two users share it. Only the user knows when nothing reads the bytes any more; one that gave views
 * of them away (to application code) must not hand them back.
 */
export class BufferPool {
  /** Free memory by capacity. */
  readonly #free = new Map<number, ArrayBuffer[]>();
  /** Lent and not yet handed back; weak, so memory its user keeps is collected as usual. */
  readonly #lent = new WeakSet<ArrayBuffer>();
  #pooledBytes = 0;

  constructor(
    readonly maxPooledBytes: number,
    readonly minBytes: number,
  ) {}

  /** Bytes held for reuse now. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** A buffer of exactly size bytes; its contents are whatever it held. */
  take(size: number): Buffer {
    if (size < this.minBytes) return Buffer.allocUnsafe(size);
    const capacity = capacityFor(size);
    let memory = this.#free.get(capacity)?.pop();
    if (memory === undefined) {
      // Memory of its own: allocUnsafe may give a slice of the shared Buffer pool, which must never be lent.
      memory = Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
    } else {
      this.#pooledBytes -= capacity;
    }
    this.#lent.add(memory);
    return Buffer.from(memory, 0, size);
  }

  /** Takes back the memory bytes lie in, if this pool lent it and it was not handed back yet. */
  giveBack(bytes: Uint8Array): void {
    const memory = bytes.buffer;
    if (!(memory instanceof ArrayBuffer) || !this.#lent.has(memory)) return;
    this.#lent.delete(memory);
    const capacity = memory.byteLength;
    if (this.#pooledBytes + capacity > this.maxPooledBytes) return;
    let free = this.#free.get(capacity);
    if (free === undefined) {
      free = [];
      this.#free.set(capacity, free);
    }
    free.push(memory);
    this.#pooledBytes += capacity;
  }
}
