import { decodeBody, encodeBody } from './body-codec.js';
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
const LENGTH_PREFIX_SIZE = 4;
const MIN_LENGTH = FRAME_HEADER_SIZE - LENGTH_PREFIX_SIZE;

/** A frame whose header is parsed and whose body is still msgpack bytes. */
export interface RawFrame {
  type: number;
  flags: number;
  flowId: number;
  sequence: number;
  /** A view into the received bytes; valid as long as the caller keeps it. */
  body: Buffer;
}

export interface DecodedFrame {
  flowId: number;
  sequence: number;
  command: Command;
}

export function encodeFrame(flowId: number, sequence: number, command: Command): Buffer {
  const body = encodeBody(command);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + body.byteLength);
  frame.writeUInt32BE(MIN_LENGTH + body.byteLength, 0);
  frame.writeUInt16BE(entryByName(command.type).code, 4);
  frame.writeUInt16BE(0, 6);
  frame.writeUInt32BE(flowId >>> 0, 8);
  frame.writeUInt32BE(sequence >>> 0, 12);
  body.copy(frame, FRAME_HEADER_SIZE);
  return frame;
}

export function decodeFrameBody(frame: RawFrame): DecodedFrame {
  return { flowId: frame.flowId, sequence: frame.sequence, command: decodeBody(frame.type, frame.body) };
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
 * within one chunk is emitted as a view (no copy); only a frame spanning chunks is assembled.
 * A length prefix over maxFrameSize is refused as soon as its 4 bytes arrive, so a hostile peer can
 * make us buffer at most one legal frame.
 */
export class FrameDecoder {
  private readonly maxFrameSize: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Size of the frame being assembled from pending chunks, once its length prefix has arrived. */
  private pendingFrameSize: number | null = null;
  private failed: ProtocolError | null = null;

  constructor(options: { maxFrameSize?: number } = {}) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize;
  }

  /** Bytes held for a frame that has not fully arrived. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer, onFrame: (frame: RawFrame) => void): void {
    if (this.failed) throw this.failed;
    let bytes = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.byteLength;
      const needed = (this.pendingFrameSize ??= this.frameSizeOfPending());
      if (needed === null || this.pendingBytes < needed) return;
      bytes = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.pendingFrameSize = null;
    }
    let at = 0;
    while (bytes.byteLength - at >= LENGTH_PREFIX_SIZE) {
      const size = LENGTH_PREFIX_SIZE + this.checkedLength(bytes.readUInt32BE(at));
      if (bytes.byteLength - at < size) break;
      onFrame({
        type: bytes.readUInt16BE(at + 4),
        flags: bytes.readUInt16BE(at + 6),
        flowId: bytes.readUInt32BE(at + 8),
        sequence: bytes.readUInt32BE(at + 12),
        body: bytes.subarray(at + FRAME_HEADER_SIZE, at + size),
      });
      at += size;
    }
    if (at < bytes.byteLength) {
      this.pending.push(bytes.subarray(at));
      this.pendingBytes = bytes.byteLength - at;
    }
  }

  /** Total size of the frame at the start of the pending bytes, or null while its prefix is incomplete. */
  private frameSizeOfPending(): number | null {
    if (this.pendingBytes < LENGTH_PREFIX_SIZE) return null;
    // Copy only the prefix: concatenating everything pending on each chunk would be quadratic.
    const head =
      this.pending[0]!.byteLength >= LENGTH_PREFIX_SIZE ? this.pending[0]! : Buffer.concat(this.pending, LENGTH_PREFIX_SIZE);
    return LENGTH_PREFIX_SIZE + this.checkedLength(head.readUInt32BE(0));
  }

  private checkedLength(length: number): number {
    if (length < MIN_LENGTH) {
      this.failed = new ProtocolError('FRAME_TOO_SHORT', `frame length ${length} is shorter than its header`);
    } else if (length + LENGTH_PREFIX_SIZE > this.maxFrameSize) {
      this.failed = new ProtocolError(
        'FRAME_TOO_LARGE',
        `frame of ${length + LENGTH_PREFIX_SIZE} bytes exceeds the maximum frame size ${this.maxFrameSize}`,
      );
    }
    if (this.failed) throw this.failed;
    return length;
  }
}
