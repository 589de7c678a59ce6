import { crc32 } from 'node:zlib';

import type { AttributeValue } from '@sluice/protocol';

/**
 * The byte layout of one log record:
 *
 *   u32 crc32 | u8 magic | u8 type | u32 body length | body
 *
 * The CRC covers everything after itself (magic, type, length and body), so a flipped length or
 * type is caught as surely as a flipped payload byte, and recovery checks a record with one crc32
 * call over one contiguous range. The magic byte lets recovery skip garbage cheaply when it scans
 * for valid records past a bad one.
 * All integers are big-endian; offsets and event numbers are JS numbers stored as f64, which holds
 * every safe integer exactly.
 */
export const RECORD_MAGIC = 0x53;
export const RECORD_HEADER_SIZE = 10;
/** A body longer than this is taken as a corrupt length field, not a real record. */
export const MAX_RECORD_BODY = 1024 * 1024 * 1024;

export const RecordType = {
  CreateSegment: 1,
  Append: 2,
  Seal: 3,
  Truncate: 4,
  Delete: 5,
  Attribute: 6,
} as const;
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

export function isRecordType(type: number): type is RecordTypeCode {
  return type >= RecordType.CreateSegment && type <= RecordType.Attribute;
}

/** Byte positions inside the header. */
const CRC_AT = 0;
const MAGIC_AT = 4;
const TYPE_AT = 5;
const LENGTH_AT = 6;

export type LogRecord =
  | { type: typeof RecordType.CreateSegment; segmentId: number; name: string }
  | {
      type: typeof RecordType.Append;
      segmentId: number;
      /** '' when the append had no writer. */
      writerId: string;
      lastEventNumber: number;
      eventCount: number;
      /** Where the block starts inside the body: the index points reads straight at the block bytes. */
      blockOffset: number;
      blockLength: number;
    }
  | { type: typeof RecordType.Seal; segmentId: number }
  | { type: typeof RecordType.Truncate; segmentId: number; offset: number }
  | { type: typeof RecordType.Delete; segmentId: number }
  | { type: typeof RecordType.Attribute; segmentId: number; key: string; value: AttributeValue };

/** A record ready for the log writer: its chunks are written back to back with one writev. */
export interface EncodedRecord {
  chunks: Buffer[];
  byteLength: number;
}

const SEGMENT_ID_SIZE = 4;
/** segment id u32, event count u32, last event number f64, writer id length u16. */
const APPEND_FIXED_SIZE = 18;
const MAX_SHORT_STRING = 0xffff;

const ATTRIBUTE_ABSENT = 0;
const ATTRIBUTE_NUMBER = 1;
const ATTRIBUTE_BYTES = 2;

function shortStringBytes(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.byteLength > MAX_SHORT_STRING) throw new RangeError(`${what} is ${bytes.byteLength} bytes; the limit is ${MAX_SHORT_STRING}`);
  return bytes;
}

/**
 * Fills in magic, type, length and the CRC. head holds the header and the start of the body; tail
 * (the caller's block, for appends) is the rest of the body, written as its own chunk.
 */
function sealHeader(head: Buffer, type: RecordTypeCode, bodyLength: number, tail?: Buffer): void {
  head[MAGIC_AT] = RECORD_MAGIC;
  head[TYPE_AT] = type;
  head.writeUInt32BE(bodyLength, LENGTH_AT);
  const crc = crc32(head.subarray(MAGIC_AT));
  head.writeUInt32BE(tail ? crc32(tail, crc) : crc, CRC_AT);
}

function singleBufferRecord(type: RecordTypeCode, bodyLength: number, fillBody: (body: Buffer) => void): EncodedRecord {
  const record = Buffer.allocUnsafe(RECORD_HEADER_SIZE + bodyLength);
  const body = record.subarray(RECORD_HEADER_SIZE);
  fillBody(body);
  sealHeader(record, type, bodyLength);
  return { chunks: [record], byteLength: record.byteLength };
}

export function encodeCreateSegment(segmentId: number, name: string): EncodedRecord {
  const nameBytes = shortStringBytes(name, 'segment name');
  return singleBufferRecord(RecordType.CreateSegment, SEGMENT_ID_SIZE + 2 + nameBytes.byteLength, (body) => {
    body.writeUInt32BE(segmentId, 0);
    body.writeUInt16BE(nameBytes.byteLength, 4);
    nameBytes.copy(body, 6);
  });
}

/**
 * The block is not copied: the record is a small head (header + fixed fields + writer id) followed
 * by the caller's block as its own chunk. `blockOffset` is where the block sits in the record.
 */
export function encodeAppend(
  segmentId: number,
  writerId: string,
  lastEventNumber: number,
  eventCount: number,
  block: Buffer,
): EncodedRecord & { blockOffset: number } {
  const writerBytes = writerId === '' ? null : shortStringBytes(writerId, 'writer id');
  const writerLength = writerBytes?.byteLength ?? 0;
  const head = Buffer.allocUnsafe(RECORD_HEADER_SIZE + APPEND_FIXED_SIZE + writerLength);
  const fixed = head.subarray(RECORD_HEADER_SIZE);
  fixed.writeUInt32BE(segmentId, 0);
  fixed.writeUInt32BE(eventCount, 4);
  fixed.writeDoubleBE(lastEventNumber, 8);
  fixed.writeUInt16BE(writerLength, 16);
  writerBytes?.copy(fixed, APPEND_FIXED_SIZE);
  const bodyLength = fixed.byteLength + block.byteLength;
  sealHeader(head, RecordType.Append, bodyLength, block);
  return { chunks: [head, block], byteLength: head.byteLength + block.byteLength, blockOffset: head.byteLength };
}

function segmentOnlyRecord(type: RecordTypeCode, segmentId: number): EncodedRecord {
  return singleBufferRecord(type, SEGMENT_ID_SIZE, (body) => body.writeUInt32BE(segmentId, 0));
}

export function encodeSeal(segmentId: number): EncodedRecord {
  return segmentOnlyRecord(RecordType.Seal, segmentId);
}

export function encodeDelete(segmentId: number): EncodedRecord {
  return segmentOnlyRecord(RecordType.Delete, segmentId);
}

export function encodeTruncate(segmentId: number, offset: number): EncodedRecord {
  return singleBufferRecord(RecordType.Truncate, SEGMENT_ID_SIZE + 8, (body) => {
    body.writeUInt32BE(segmentId, 0);
    body.writeDoubleBE(offset, 4);
  });
}

export function encodeAttribute(segmentId: number, key: string, value: AttributeValue): EncodedRecord {
  const keyBytes = shortStringBytes(key, 'attribute key');
  const valueSize = value === null ? 0 : typeof value === 'number' ? 8 : 4 + value.byteLength;
  const bodyLength = SEGMENT_ID_SIZE + 2 + keyBytes.byteLength + 1 + valueSize;
  return singleBufferRecord(RecordType.Attribute, bodyLength, (body) => {
    body.writeUInt32BE(segmentId, 0);
    body.writeUInt16BE(keyBytes.byteLength, 4);
    let position = 6 + keyBytes.copy(body, 6);
    if (value === null) {
      body[position] = ATTRIBUTE_ABSENT;
    } else if (typeof value === 'number') {
      body[position] = ATTRIBUTE_NUMBER;
      body.writeDoubleBE(value, position + 1);
    } else {
      body[position] = ATTRIBUTE_BYTES;
      position = body.writeUInt32BE(value.byteLength, position + 1);
      value.copy(body, position);
    }
  });
}

export interface RecordHeader {
  type: number;
  bodyLength: number;
}

/** Null when the magic byte is wrong: whatever is here was not written as a record header. */
export function readRecordHeader(bytes: Buffer, position: number): RecordHeader | null {
  if (bytes[position + MAGIC_AT] !== RECORD_MAGIC) return null;
  return { type: bytes[position + TYPE_AT]!, bodyLength: bytes.readUInt32BE(position + LENGTH_AT) };
}

/** Checks the record at position, whose header and body are both in bytes. */
export function recordChecksumMatches(bytes: Buffer, position: number, bodyLength: number): boolean {
  const covered = bytes.subarray(position + MAGIC_AT, position + RECORD_HEADER_SIZE + bodyLength);
  return crc32(covered) === bytes.readUInt32BE(position + CRC_AT);
}

/** Bytes of an append record before its block, apart from the writer id (0 to 65 535 bytes). */
export const APPEND_HEAD_SIZE = RECORD_HEADER_SIZE + APPEND_FIXED_SIZE;
export const MAX_WRITER_ID_BYTES = MAX_SHORT_STRING;

/**
 * Where the append record holding the block bytes[blockAt, blockAt + blockLength) starts in bytes,
 * checked by its CRC; -1 when no CRC-valid record ends with that block (corrupt, or its start lies
 * before bytes[0]). Reads know where a block is, not its record (the writer id before the block
 * varies in length), so each writer id length is tried: a candidate must have the magic, the
 * append type, that length in its length field and a body length that ends at the block's end.
 */
export function verifiedAppendStart(bytes: Buffer, blockAt: number, blockLength: number): number {
  const longest = Math.min(MAX_SHORT_STRING, blockAt - APPEND_HEAD_SIZE);
  for (let writerLength = 0; writerLength <= longest; writerLength++) {
    const start = blockAt - writerLength - APPEND_HEAD_SIZE;
    if (bytes[start + MAGIC_AT] !== RECORD_MAGIC || bytes[start + TYPE_AT] !== RecordType.Append) continue;
    const bodyLength = APPEND_FIXED_SIZE + writerLength + blockLength;
    if (bytes.readUInt16BE(blockAt - writerLength - 2) !== writerLength || bytes.readUInt32BE(start + LENGTH_AT) !== bodyLength) continue;
    if (recordChecksumMatches(bytes, start, bodyLength)) return start;
  }
  return -1;
}

/** Thrown when a record passed its CRC but its body does not match its type: a bug, not a torn write. */
export class MalformedRecordError extends Error {
  override readonly name = 'MalformedRecordError';
}

/**
 * Decodes the body at [bodyStart, bodyStart + bodyLength) of bytes, whose CRC has already been
 * checked. Reads fields in place (no views of the body are made: replay decodes millions of
 * records); writer ids go through the interner, since a few writers write most records.
 */
export function decodeRecord(
  type: RecordTypeCode,
  bytes: Buffer,
  bodyStart: number,
  bodyLength: number,
  strings: ShortStringInterner = new ShortStringInterner(),
): LogRecord {
  requireBodyLength(type, bodyLength, SEGMENT_ID_SIZE);
  const segmentId = bytes.readUInt32BE(bodyStart);
  switch (type) {
    case RecordType.CreateSegment: {
      requireBodyLength(type, bodyLength, 6);
      const nameLength = bytes.readUInt16BE(bodyStart + 4);
      requireBodyLength(type, bodyLength, 6 + nameLength);
      return { type, segmentId, name: bytes.toString('utf8', bodyStart + 6, bodyStart + 6 + nameLength) };
    }
    case RecordType.Append: {
      requireBodyLength(type, bodyLength, APPEND_FIXED_SIZE);
      const writerLength = bytes.readUInt16BE(bodyStart + 16);
      const blockOffset = APPEND_FIXED_SIZE + writerLength;
      requireBodyLength(type, bodyLength, blockOffset);
      return {
        type,
        segmentId,
        eventCount: bytes.readUInt32BE(bodyStart + 4),
        lastEventNumber: bytes.readDoubleBE(bodyStart + 8),
        writerId: writerLength === 0 ? '' : strings.decode(bytes, bodyStart + APPEND_FIXED_SIZE, bodyStart + blockOffset),
        blockOffset,
        blockLength: bodyLength - blockOffset,
      };
    }
    case RecordType.Seal:
    case RecordType.Delete:
      return { type, segmentId };
    case RecordType.Truncate:
      requireBodyLength(type, bodyLength, SEGMENT_ID_SIZE + 8);
      return { type, segmentId, offset: bytes.readDoubleBE(bodyStart + 4) };
    case RecordType.Attribute: {
      requireBodyLength(type, bodyLength, 7);
      const keyLength = bytes.readUInt16BE(bodyStart + 4);
      const tagAt = 6 + keyLength;
      requireBodyLength(type, bodyLength, tagAt + 1);
      const key = bytes.toString('utf8', bodyStart + 6, bodyStart + tagAt);
      const tag = bytes[bodyStart + tagAt];
      let value: AttributeValue;
      if (tag === ATTRIBUTE_ABSENT) {
        value = null;
      } else if (tag === ATTRIBUTE_NUMBER) {
        requireBodyLength(type, bodyLength, tagAt + 9);
        value = bytes.readDoubleBE(bodyStart + tagAt + 1);
      } else if (tag === ATTRIBUTE_BYTES) {
        requireBodyLength(type, bodyLength, tagAt + 5);
        const length = bytes.readUInt32BE(bodyStart + tagAt + 1);
        requireBodyLength(type, bodyLength, tagAt + 5 + length);
        // A copy: bytes is a recovery read buffer that is reused.
        value = Buffer.from(bytes.subarray(bodyStart + tagAt + 5, bodyStart + tagAt + 5 + length));
      } else {
        throw new MalformedRecordError(`attribute record has unknown value tag ${tag}`);
      }
      return { type, segmentId, key, value };
    }
  }
}

function requireBodyLength(type: number, bodyLength: number, size: number): void {
  if (bodyLength < size) throw new MalformedRecordError(`record of type ${type} has a ${bodyLength}-byte body, needs at least ${size}`);
}

/**
 * Decodes short UTF-8 strings (writer ids) to one shared string per distinct byte sequence, looked
 * up by a hash computed in JS: no native call and no new string per record when the same few
 * writers appear over and over.
 */
export class ShortStringInterner {
  private readonly byHash = new Map<number, Array<{ bytes: Buffer; text: string }>>();

  decode(bytes: Buffer, start: number, end: number): string {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    const candidates = this.byHash.get(hash);
    if (candidates) {
      for (const candidate of candidates) if (sameBytes(candidate.bytes, bytes, start, end)) return candidate.text;
    }
    const copy = Buffer.from(bytes.subarray(start, end));
    const text = copy.toString('utf8');
    if (candidates) candidates.push({ bytes: copy, text });
    else this.byHash.set(hash, [{ bytes: copy, text }]);
    return text;
  }
}

function sameBytes(known: Buffer, bytes: Buffer, start: number, end: number): boolean {
  if (known.byteLength !== end - start) return false;
  for (let i = 0; i < known.byteLength; i++) if (known[i] !== bytes[start + i]) return false;
  return true;
}
