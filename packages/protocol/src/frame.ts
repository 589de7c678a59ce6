import { decodeBody, encodeBodyAfter } from './body-codec.js';
import { entryByName, type Command } from './commands.js';
import { ProtocolError } from './errors.js';
import { DEFAULT_LIMITS } from './limits.js';

/**
 * Frame = 16-byte big-endian header + msgpack body:
 *   u32 length of the rest of the frame | u16 command type | u16 flags | u32 flowId | u32 sequence
 * flowId and sequence together are the 64-bit request id; a receiver routes on them before (or
 * without) decoding the body.
 */
export const FRAME_HEADER_SIZE = 16;
/** The length prefix counts the bytes after itself: the rest of the header plus the body. */
export const LENGTH_PREFIX_SIZE = 4;
const MIN_LENGTH = FRAME_HEADER_SIZE - LENGTH_PREFIX_SIZE;

/**
 * A frame whose header is parsed and whose body is still msgpack bytes, in place in the received
 * chunk: no view is made unless asked for (`body`), since making one costs more than a small decode.
 */
export class RawFrame {
  constructor(
    readonly type: number,
    readonly flags: number,
    readonly flowId: number,
    readonly sequence: number,
    /** The received bytes the body lies in. */
    readonly bytes: Buffer,
    readonly bodyStart: number,
    readonly bodyEnd: number,
  ) {}

  get bodyLength(): number {
    return this.bodyEnd - this.bodyStart;
  }

  /** A view of the body (no copy). */
  get body(): Buffer {
    return this.bytes.subarray(this.bodyStart, this.bodyEnd);
  }
}

export interface DecodedFrame {
  flowId: number;
  sequence: number;
  command: Command;
}

export function encodeFrame(flowId: number, sequence: number, command: Command): Buffer {
  const frame = encodeBodyAfter(command, FRAME_HEADER_SIZE);
  frame.writeUInt32BE(frame.byteLength - LENGTH_PREFIX_SIZE, 0);
  frame.writeUInt16BE(entryByName(command.type).code, 4);
  frame.writeUInt16BE(0, 6);
  frame.writeUInt32BE(flowId >>> 0, 8);
  frame.writeUInt32BE(sequence >>> 0, 12);
  return frame;
}

const NO_BYTES = Buffer.alloc(0);
/** The body codec always packs a trailing bytes field as msgpack bin 32: 0xc6, then a u32 length. */
const BIN32_HEADER_SIZE = 5;

/**
 * A frame as parts to write one after the other: [everything before the trailing bytes, those bytes]
 * when the command ends with a bytes field of at least minPartBytes (a block being appended, data being
 * read), else [the whole frame]. The bytes are written as they are instead of being copied into a new
 * frame buffer of their size: no allocation, no copy, no page faults on fresh memory per frame.
 */
export function encodeFrameParts(flowId: number, sequence: number, command: Command, minPartBytes: number): Buffer[] {
  const entry = entryByName(command.type);
  const field = entry.fieldNames.at(-1)!;
  const trailing = entry.trailingBytes ? ((command as unknown as Record<string, unknown>)[field] as Uint8Array) : null;
  if (trailing === null || !(trailing instanceof Uint8Array) || trailing.byteLength < minPartBytes) {
    return [encodeFrame(flowId, sequence, command)];
  }
  const head = encodeFrameHead(flowId, sequence, { ...command, [field]: NO_BYTES } as Command, trailing.byteLength);
  const bytes = Buffer.isBuffer(trailing) ? trailing : Buffer.from(trailing.buffer, trailing.byteOffset, trailing.byteLength);
  return [head, bytes];
}

/**
 * Everything of a frame before its trailing bytes, for a command whose trailing bytes field is empty
 * here and whose trailingBytes bytes the caller writes right after the head (as one buffer or several).
 * The head is encoded with the empty field and its two lengths (frame, bin 32) are then set for the
 * real bytes, which gives exactly encodeFrame's bytes for the whole command.
 */
export function encodeFrameHead(flowId: number, sequence: number, command: Command, trailingBytes: number): Buffer {
  const head = encodeFrame(flowId, sequence, command);
  const binAt = head.byteLength - BIN32_HEADER_SIZE;
  head.writeUInt32BE(trailingBytes, binAt + 1);
  head.writeUInt32BE(head.readUInt32BE(0) + trailingBytes, 0);
  return head;
}

export function decodeFrameCommand(frame: RawFrame): Command {
  return decodeBody(frame.type, frame.bytes, frame.bodyStart, frame.bodyEnd);
}

export function decodeFrameBody(frame: RawFrame): DecodedFrame {
  return { flowId: frame.flowId, sequence: frame.sequence, command: decodeFrameCommand(frame) };
}

/** Decodes one whole frame held in one buffer (tests, tools); streams use FrameDecoder. */
export function decodeFrame(bytes: Buffer, maxFrameSize = DEFAULT_LIMITS.maxFrameSize): DecodedFrame {
  const frames: RawFrame[] = [];
  const decoder = new FrameDecoder({ maxFrameSize });
  decoder.push(bytes, (frame) => frames.push(frame));
  if (frames.length !== 1 || decoder.bufferedBytes !== 0) {
    throw new ProtocolError('MALFORMED_BODY', `expected exactly one whole frame, got ${frames.length}`);
  }
  return decodeFrameBody(frames[0]!);
}

/**
 * Incremental decoder: takes TCP chunks split at any byte and emits whole frames. A frame that lies
 * within one chunk is emitted as a view (no copy); only a frame spanning chunks is assembled. (The
 * client reads its sockets with FrameReceiver instead, into memory it chooses.)
 * A length prefix over maxFrameSize is refused as soon as its 4 bytes arrive, so a hostile peer can
 * make us buffer at most one legal frame.
 */
export class FrameDecoder {
  private readonly maxFrameSize: number;
  /** The length prefix of the next frame while fewer than 4 of its bytes have arrived. */
  private readonly prefix = Buffer.alloc(LENGTH_PREFIX_SIZE);
  private prefixBytes = 0;
  /** The frame being assembled across chunks, allocated once at its final size when its prefix is known. */
  private partial: Buffer | null = null;
  private partialBytes = 0;
  private failed: ProtocolError | null = null;

  constructor(options: { maxFrameSize?: number } = {}) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize;
  }

  /** Bytes held for a frame that has not fully arrived (at most one frame, so at most maxFrameSize). */
  get bufferedBytes(): number {
    return this.partial ? this.partialBytes : this.prefixBytes;
  }

  push(chunk: Buffer, onFrame: (frame: RawFrame) => void): void {
    if (this.failed) throw this.failed;
    let at = this.bufferedBytes > 0 ? this.continuePartial(chunk, onFrame) : 0;
    while (chunk.byteLength - at >= LENGTH_PREFIX_SIZE) {
      const size = LENGTH_PREFIX_SIZE + this.checkedLength(chunk.readUInt32BE(at));
      if (chunk.byteLength - at < size) break;
      onFrame(frameAt(chunk, at, size));
      at += size;
    }
    if (at < chunk.byteLength) this.hold(chunk, at);
  }

  /**
   * Feeds the start of chunk to the frame being assembled and returns how many bytes it used. Each
   * byte is copied once into a buffer of the frame's size: a peer trickling bytes costs no more memory
   * than the frame itself.
   */
  private continuePartial(chunk: Buffer, onFrame: (frame: RawFrame) => void): number {
    let at = 0;
    if (!this.partial) {
      at = chunk.copy(this.prefix, this.prefixBytes, 0, LENGTH_PREFIX_SIZE - this.prefixBytes);
      this.prefixBytes += at;
      if (this.prefixBytes < LENGTH_PREFIX_SIZE) return at;
      this.startPartial(this.prefix, 0);
    }
    const partial = this.partial!;
    const copied = chunk.copy(partial, this.partialBytes, at, at + partial.byteLength - this.partialBytes);
    this.partialBytes += copied;
    at += copied;
    if (this.partialBytes === partial.byteLength) {
      this.partial = null;
      this.partialBytes = 0;
      this.prefixBytes = 0;
      onFrame(frameAt(partial, 0, partial.byteLength));
    }
    return at;
  }

  private hold(chunk: Buffer, at: number): void {
    if (chunk.byteLength - at < LENGTH_PREFIX_SIZE) {
      this.prefixBytes = chunk.copy(this.prefix, 0, at);
      return;
    }
    this.startPartial(chunk, at);
    this.partialBytes = chunk.copy(this.partial!, 0, at);
  }

  private startPartial(prefixSource: Buffer, at: number): void {
    const size = LENGTH_PREFIX_SIZE + this.checkedLength(prefixSource.readUInt32BE(at));
    this.partial = Buffer.allocUnsafe(size);
    this.partialBytes = prefixSource.copy(this.partial, 0, at, at + LENGTH_PREFIX_SIZE);
  }

  private checkedLength(length: number): number {
    try {
      return checkedFrameSize(length, this.maxFrameSize) - LENGTH_PREFIX_SIZE;
    } catch (error) {
      this.failed = error as ProtocolError;
      throw error;
    }
  }
}

/** The size of a frame whose length prefix says length; a ProtocolError when no legal frame has it. */
export function checkedFrameSize(length: number, maxFrameSize: number): number {
  if (length < MIN_LENGTH) throw new ProtocolError('FRAME_TOO_SHORT', `frame length ${length} is shorter than its header`);
  const size = length + LENGTH_PREFIX_SIZE;
  if (size > maxFrameSize) {
    throw new ProtocolError('FRAME_TOO_LARGE', `frame of ${size} bytes exceeds the maximum frame size ${maxFrameSize}`);
  }
  return size;
}

/** The frame of size bytes at bytes[at]. */
export function frameAt(bytes: Buffer, at: number, size: number): RawFrame {
  return new RawFrame(
    bytes.readUInt16BE(at + 4),
    bytes.readUInt16BE(at + 6),
    bytes.readUInt32BE(at + 8),
    bytes.readUInt32BE(at + 12),
    bytes,
    at + FRAME_HEADER_SIZE,
    at + size,
  );
}
