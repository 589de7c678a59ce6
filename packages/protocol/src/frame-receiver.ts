import type { BufferPool } from './buffer-pool.js';
import { entryByCode } from './commands.js';
import { checkedFrameSize, frameAt, LENGTH_PREFIX_SIZE, type RawFrame } from './frame.js';
import type { ProtocolError } from './errors.js';
import { DEFAULT_LIMITS } from './limits.js';

/** Node's own read size: what a socket read without `onread` would get at most. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Decodes frames from a socket that reads into memory chosen here (net.Socket's `onread`): the socket
 * calls target() for where its next read lands and received(n) when n bytes landed there. Without
 * it, every socket read is a fresh 64 KiB buffer and a large frame is then copied out of those into
 * a buffer of its own, i.e. two copies, both into memory never touched before (page faults: a fresh
 * 1 MiB buffer plus the copy cost 2-5 ms on a loaded machine; docs/benchmarks.md, "Session 6").
 *
 * - Small frames are read into one chunk buffer, reused for every read. A frame found there is handed
 *   to onFrame as a view that is valid only while onFrame runs, unless its command carries bytes (its
 *   decoded command would hold views of them): such a frame is copied out first. So nothing outside
 *   onFrame ever sees the chunk.
 * - A frame larger than half the chunk gets a buffer of its own (from the pool) as soon as its length
 *   is known, and the rest of it is read straight into that buffer: no chunk, no copy. A large frame
 *   whose command carries no bytes is handed back to the pool once onFrame returns.
 *
 * The consumer's side of the contract: a frame of a command without bytes fields is decoded within
 * onFrame and not kept (the client's flows settle replies synchronously).
 */
export class FrameReceiver {
  readonly #maxFrameSize: number;
  readonly #buffers: BufferPool | null;
  readonly #chunk: Buffer;
  /** Bytes at the start of the chunk: the beginning of a small frame (or of a length prefix) still arriving. */
  #held = 0;
  /** The large frame being read into, and how much of it arrived. */
  #frame: Buffer | null = null;
  #frameBytes = 0;
  #failed: ProtocolError | null = null;

  constructor(options: { maxFrameSize?: number; buffers?: BufferPool } = {}) {
    this.#maxFrameSize = options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize;
    this.#buffers = options.buffers ?? null;
    this.#chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  }

  /** Bytes of a frame that has not fully arrived. */
  get bufferedBytes(): number {
    return this.#frame === null ? this.#held : this.#frameBytes;
  }

  /** Where the socket's next read should land (never empty). */
  target(): Buffer {
    return this.#frame === null ? this.#chunk.subarray(this.#held) : this.#frame.subarray(this.#frameBytes);
  }

  /** bytes arrived at the start of the last target(); emits every frame they complete. */
  received(bytes: number, onFrame: (frame: RawFrame) => void): void {
    if (this.#failed) throw this.#failed;
    const frame = this.#frame;
    if (frame === null) {
      this.#decodeChunk(this.#held + bytes, onFrame);
      return;
    }
    this.#frameBytes += bytes;
    if (this.#frameBytes < frame.byteLength) return;
    this.#frame = null;
    this.#frameBytes = 0;
    onFrame(frameAt(frame, 0, frame.byteLength));
    if (!carriesBytes(frame.readUInt16BE(4))) this.#buffers?.giveBack(frame);
  }

  /** Emits the whole frames in chunk[0, end) and keeps the start of the next one. */
  #decodeChunk(end: number, onFrame: (frame: RawFrame) => void): void {
    const chunk = this.#chunk;
    let at = 0;
    while (end - at >= LENGTH_PREFIX_SIZE) {
      const size = this.#frameSize(chunk.readUInt32BE(at));
      if (end - at < size) {
        if (size > CHUNK_BYTES / 2) {
          this.#startLargeFrame(size, at, end);
          return;
        }
        break;
      }
      onFrame(carriesBytes(chunk.readUInt16BE(at + 4)) ? frameAt(Buffer.from(chunk.subarray(at, at + size)), 0, size) : frameAt(chunk, at, size));
      at += size;
    }
    this.#held = end - at;
    if (at > 0 && this.#held > 0) chunk.copyWithin(0, at, end);
  }

  #startLargeFrame(size: number, at: number, end: number): void {
    const frame = this.#buffers === null ? Buffer.allocUnsafe(size) : this.#buffers.take(size);
    this.#frameBytes = this.#chunk.copy(frame, 0, at, end);
    this.#frame = frame;
    this.#held = 0;
  }

  #frameSize(length: number): number {
    try {
      return checkedFrameSize(length, this.#maxFrameSize);
    } catch (error) {
      this.#failed = error as ProtocolError;
      throw error;
    }
  }
}

/** Per type code: does its decoded command hold views of the frame (a bytes or attribute field)? */
const CARRIES_BYTES: boolean[] = [];

function carriesBytes(code: number): boolean {
  let carries = CARRIES_BYTES[code];
  if (carries === undefined) {
    // An unknown code carries bytes as far as we know; its decode fails anyway.
    carries = entryByCode(code)?.fieldKinds.some((kind) => kind === 'bytes' || kind === 'attr') ?? true;
    CARRIES_BYTES[code] = carries;
  }
  return carries;
}
