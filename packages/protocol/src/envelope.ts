import { ProtocolError } from './errors.js';

/**
 * The envelope of one event: what a block's `u32 length + bytes` record holds (docs/protocol.md,
 * "Event envelope"). All integers big-endian:
 *
 *   u8 version (1) | u64 timestamp (ms since the epoch) | u16 routing key length K | K bytes key (UTF-8)
 *   | u16 headers length H (0: none) | H bytes headers | data (the rest of the record)
 *
 * headers: repeated `u8 name length (1..255) | name (UTF-8) | u16 value length | value (UTF-8)`.
 *
 * Fixed-width binary fields, so a writer frames an event with a few stores and no per-event msgpack,
 * the server checks the framing without decoding anything, and a reader finds the data with a few loads
 * and decodes headers only when asked.
 */
export const ENVELOPE_VERSION = 1;
/** Version, timestamp, key length and headers length: the envelope of an event with an empty key and no headers. */
export const ENVELOPE_FIXED_SIZE = 13;
export const MAX_ROUTING_KEY_BYTES = 0xffff;
/** Bound of one event's encoded headers (names, values and 3 bytes of lengths per header). */
export const MAX_HEADERS_BYTES = 16 * 1024;
export const MAX_HEADER_NAME_BYTES = 0xff;

const TIMESTAMP_AT = 1;
const KEY_LENGTH_AT = 9;
const KEY_AT = 11;
const HEADER_LENGTHS_SIZE = 3;
const TWO_POW_32 = 2 ** 32;

export type EventHeaders = Record<string, string>;

/** An event ready to be framed: the writer measures the key and encodes the headers once, when write() is called. */
export interface OutgoingEvent {
  readonly routingKey: string;
  /** UTF-8 length of routingKey. */
  readonly routingKeyBytes: number;
  /** ms since the epoch. */
  readonly timestamp: number;
  /** Encoded headers (encodeHeaders), or null for none. */
  readonly headers: Uint8Array | null;
  readonly data: Uint8Array;
  /** Bytes the event takes in a block: envelope and data (without the block's u32 length). */
  readonly size: number;
}

export function outgoingEvent(routingKey: string, timestamp: number, headers: Uint8Array | null, data: Uint8Array): OutgoingEvent {
  const routingKeyBytes = utf8Length(routingKey);
  return { routingKey, routingKeyBytes, timestamp, headers, data, size: envelopedSize(routingKeyBytes, headers, data) };
}

/** Bytes an event takes in a block (without the block's u32 length): envelope, key, headers and data. */
export function envelopedSize(routingKeyBytes: number, headers: Uint8Array | null, data: Uint8Array): number {
  return ENVELOPE_FIXED_SIZE + routingKeyBytes + (headers === null ? 0 : headers.byteLength) + data.byteLength;
}

/** UTF-8 length without a native call for the usual short ASCII key. */
export function utf8Length(text: string): number {
  const length = text.length;
  if (length > 64) return Buffer.byteLength(text, 'utf8');
  for (let i = 0; i < length; i++) {
    if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  }
  return length;
}

/**
 * Writes an event's envelope and data at `at` (target and view cover the same bytes); returns the end.
 * The fields come as arguments, not as an OutgoingEvent, so that a writer makes no object per event
 * on its hot path (keyBytes is routingKey's UTF-8 length).
 */
export function writeEnvelope(
  target: Buffer,
  view: DataView,
  at: number,
  routingKey: string,
  keyBytes: number,
  timestamp: number,
  headers: Uint8Array | null,
  data: Uint8Array,
): number {
  target[at] = ENVELOPE_VERSION;
  view.setUint32(at + TIMESTAMP_AT, Math.floor(timestamp / TWO_POW_32));
  view.setUint32(at + TIMESTAMP_AT + 4, timestamp >>> 0);
  view.setUint16(at + KEY_LENGTH_AT, keyBytes);
  let position = at + KEY_AT;
  if (keyBytes === routingKey.length && keyBytes <= 32) {
    // ASCII (byte length = char count): a short loop beats the native UTF-8 encoder's call overhead.
    for (let i = 0; i < keyBytes; i++) target[position + i] = routingKey.charCodeAt(i);
  } else {
    target.write(routingKey, position, keyBytes, 'utf8');
  }
  position += keyBytes;
  const headersBytes = headers === null ? 0 : headers.byteLength;
  view.setUint16(position, headersBytes);
  position += 2;
  if (headers !== null) {
    target.set(headers, position);
    position += headersBytes;
  }
  target.set(data, position);
  return position + data.byteLength;
}

/**
 * Encodes headers as the envelope carries them; null for none. Names must be 1..255 bytes and values
 * strings: the caller (the writer) checks both, and the total against MAX_HEADERS_BYTES, with errors of
 * its own.
 */
export function encodeHeaders(headers: EventHeaders): Buffer | null {
  const names = Object.keys(headers);
  if (names.length === 0) return null;
  let size = 0;
  for (const name of names) size += HEADER_LENGTHS_SIZE + Buffer.byteLength(name) + Buffer.byteLength(headers[name]!);
  const bytes = Buffer.allocUnsafe(size);
  let position = 0;
  for (const name of names) {
    const nameBytes = bytes.write(name, position + 1, 'utf8');
    bytes[position] = nameBytes;
    position += 1 + nameBytes;
    const valueBytes = bytes.write(headers[name]!, position + 2, 'utf8');
    bytes.writeUInt16BE(valueBytes, position);
    position += 2 + valueBytes;
  }
  return bytes;
}

/** Decodes a headers section (valid: checked by the server when it was appended). */
export function decodeHeaders(bytes: Buffer): EventHeaders {
  const headers: EventHeaders = {};
  const end = bytes.byteLength;
  let position = 0;
  while (position < end) {
    const nameEnd = position + 1 + bytes[position]!;
    const valueEnd = nameEnd + 2 + bytes.readUInt16BE(nameEnd);
    headers[bytes.toString('utf8', position + 1, nameEnd)] = bytes.toString('utf8', nameEnd + 2, valueEnd);
    position = valueEnd;
  }
  return headers;
}

/**
 * Checks the envelope of the record [start, end) of view: the version, and that key, headers and every
 * header fit inside the record, headers within MAX_HEADERS_BYTES. Decodes nothing.
 */
export function checkEnvelope(view: DataView, start: number, end: number): void {
  if (end - start < ENVELOPE_FIXED_SIZE) {
    throw new ProtocolError('MALFORMED_ENVELOPE', `an event of ${end - start} bytes is shorter than the ${ENVELOPE_FIXED_SIZE}-byte envelope`);
  }
  const version = view.getUint8(start);
  if (version !== ENVELOPE_VERSION) {
    throw new ProtocolError('MALFORMED_ENVELOPE', `event envelope version ${version} is not supported (this node reads version ${ENVELOPE_VERSION})`);
  }
  const headersAt = start + KEY_AT + view.getUint16(start + KEY_LENGTH_AT);
  if (headersAt + 2 > end) throw new ProtocolError('MALFORMED_ENVELOPE', 'an event routing key runs past the end of its event');
  const headersLength = view.getUint16(headersAt);
  if (headersLength > MAX_HEADERS_BYTES) {
    throw new ProtocolError('HEADERS_TOO_LARGE', `event headers of ${headersLength} bytes exceed the limit of ${MAX_HEADERS_BYTES} bytes`);
  }
  const headersEnd = headersAt + 2 + headersLength;
  if (headersEnd > end) throw new ProtocolError('MALFORMED_ENVELOPE', 'event headers run past the end of their event');
  let position = headersAt + 2;
  while (position < headersEnd) {
    const nameLength = view.getUint8(position);
    const valueLengthAt = position + 1 + nameLength;
    if (nameLength === 0 || valueLengthAt + 2 > headersEnd) {
      throw new ProtocolError('MALFORMED_ENVELOPE', 'an event header name is empty or runs past the end of the headers');
    }
    position = valueLengthAt + 2 + view.getUint16(valueLengthAt);
    if (position > headersEnd) throw new ProtocolError('MALFORMED_ENVELOPE', 'an event header value runs past the end of the headers');
  }
}

/** An event as read: views into the read buffer, headers still encoded. */
export interface DecodedEnvelope {
  routingKey: string;
  timestamp: number;
  /** The encoded headers section (decodeHeaders), or null when the event has none. */
  headers: Buffer | null;
  data: Buffer;
}

/** Where the routing key of the envelope at `start` begins (it ends at envelopeKeyEnd). */
export const ENVELOPE_KEY_AT = KEY_AT;

/** The timestamp (ms since the epoch) of the envelope at `start` of block. */
export function envelopeTimestamp(block: Buffer, start: number): number {
  return block.readUInt32BE(start + TIMESTAMP_AT) * TWO_POW_32 + block.readUInt32BE(start + TIMESTAMP_AT + 4);
}

/** Where the routing key of the envelope at `start` of block ends: its u16 headers length follows. */
export function envelopeKeyEnd(block: Buffer, start: number): number {
  return start + KEY_AT + block.readUInt16BE(start + KEY_LENGTH_AT);
}

/** Decodes the envelope of the record [start, end) of block, which the server validated. */
export function decodeEnvelope(block: Buffer, start: number, end: number): DecodedEnvelope {
  const keyEnd = envelopeKeyEnd(block, start);
  const headersLength = block.readUInt16BE(keyEnd);
  const dataStart = keyEnd + 2 + headersLength;
  return {
    routingKey: keyEnd === start + KEY_AT ? '' : block.toString('utf8', start + KEY_AT, keyEnd),
    timestamp: envelopeTimestamp(block, start),
    headers: headersLength === 0 ? null : block.subarray(keyEnd + 2, dataStart),
    data: block.subarray(dataStart, end),
  };
}
