import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkEnvelope,
  decodeHeaders,
  encodeHeaders,
  ENVELOPE_FIXED_SIZE,
  MAX_HEADERS_BYTES,
  MAX_ROUTING_KEY_BYTES,
  type EventHeaders,
} from './envelope.js';
import { ProtocolError } from './errors.js';
import { encodeEvents, envelopesOf, eventsOf, validateEventBlock, type EventInput } from './event-block.js';
import { DEFAULT_LIMITS } from './limits.js';
import { expectProtocolError } from '../test-support/expect-protocol-error.js';

const MAX_EVENT = DEFAULT_LIMITS.maxEventSize;

function roundTrip(events: EventInput[]): ReturnType<typeof envelopesOf> {
  const block = encodeEvents(events);
  expect(validateEventBlock(block, MAX_EVENT)).toBe(events.length);
  return envelopesOf(block);
}

/** Headers whose encoded size is exactly `size` bytes (one header, ASCII). */
function headersOfSize(size: number): EventHeaders {
  return { h: 'v'.repeat(size - 3 - 1) };
}

describe('event envelope layout', () => {
  it('frames version, u64 timestamp, key, headers and data big-endian, as docs/protocol.md shows', () => {
    const block = encodeEvents([{ routingKey: 'k1', timestamp: 0x0102_0304_0506, headers: { a: 'xy' }, data: 'hi' }]);
    // prettier-ignore
    expect([...block]).toEqual([
      0, 0, 0, 23, // the block's record length: 13 + key 2 + headers 6 + data 2
      1, // envelope version
      0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, // u64 timestamp
      0, 2, 0x6b, 0x31, // u16 key length, key 'k1'
      0, 6, 1, 0x61, 0, 2, 0x78, 0x79, // u16 headers length; u8 name length, 'a', u16 value length, 'xy'
      0x68, 0x69, // data 'hi'
    ]);
  });

  it('takes 13 bytes plus key and headers around the data', () => {
    const [record] = eventsOf(encodeEvents([{ routingKey: 'abc', data: Buffer.alloc(100) }]));
    expect(record!.byteLength).toBe(ENVELOPE_FIXED_SIZE + 3 + 100);
  });
});

describe('event envelope round trip', () => {
  it('keeps routing keys: empty, unicode, 1 KiB and the 64 KiB - 1 maximum', () => {
    const keys = ['', 'customer-42', 'ключ-🔑-鍵', 'k'.repeat(1024), 'é'.repeat(512), 'x'.repeat(MAX_ROUTING_KEY_BYTES)];
    const read = roundTrip(keys.map((routingKey) => ({ routingKey, data: 'd' })));
    expect(read.map((event) => event.routingKey)).toEqual(keys);
    expect(read.every((event) => event.data.toString() === 'd')).toBe(true);
  });

  it('keeps timestamps: 0, now, and the largest safe integer', () => {
    const timestamps = [0, Date.now(), 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
    expect(roundTrip(timestamps.map((timestamp) => ({ timestamp, data: '' }))).map((event) => event.timestamp)).toEqual(timestamps);
  });

  it('keeps headers: none, many, unicode, and headers exactly at the bound', () => {
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`name-${i}`, `value-${i}`]));
    const unicode = { 'trace-état': 'ünïcødé ✓', '名前': '値', empty: '' };
    const atBound = headersOfSize(MAX_HEADERS_BYTES);
    expect(encodeHeaders(atBound)!.byteLength).toBe(MAX_HEADERS_BYTES);
    const read = roundTrip([{ data: 'a' }, { headers: {}, data: 'b' }, { headers: many, data: 'c' }, { headers: unicode, data: 'd' }, { headers: atBound, data: 'e' }]);
    expect(read.map((event) => (event.headers === null ? null : decodeHeaders(event.headers)))).toEqual([null, null, many, unicode, atBound]);
    expect(read.map((event) => event.data.toString())).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('keeps any key, timestamp, headers and data (property)', () => {
    const unit = fc.constantFrom('a', 'Z', '0', '-', ' ', 'é', 'ж', '鍵', '🔑', '\u0000');
    const headerName = fc.string({ minLength: 1, maxLength: 20, unit });
    const event = fc.record({
      routingKey: fc.string({ maxLength: 50, unit }),
      timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      headers: fc.dictionary(headerName, fc.string({ maxLength: 30, unit }), { maxKeys: 5 }),
      data: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 10 }), (events) => {
        const read = roundTrip(events);
        events.forEach((written, index) => {
          const got = read[index]!;
          expect(got.routingKey).toBe(written.routingKey);
          expect(got.timestamp).toBe(written.timestamp);
          expect(got.data.equals(Buffer.from(written.data))).toBe(true);
          expect(got.headers === null ? {} : decodeHeaders(got.headers)).toEqual(written.headers);
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe('envelope validation (what the server checks)', () => {
  const record = (bytes: number[]): Buffer => {
    const block = Buffer.alloc(4 + bytes.length);
    block.writeUInt32BE(bytes.length, 0);
    Buffer.from(bytes).copy(block, 4);
    return block;
  };
  const minimal = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

  it('accepts the smallest envelope: empty key, no headers, no data', () => {
    expect(validateEventBlock(record(minimal), MAX_EVENT)).toBe(1);
  });

  it('refuses an event shorter than the envelope, a wrong version, a key or headers past the event', () => {
    expectProtocolError(() => validateEventBlock(record(minimal.slice(0, 12)), MAX_EVENT), 'MALFORMED_ENVELOPE');
    expectProtocolError(() => validateEventBlock(record([2, ...minimal.slice(1)]), MAX_EVENT), 'MALFORMED_ENVELOPE');
    const keyTooLong = [...minimal.slice(0, 9), 0, 1, 0, 0];
    expectProtocolError(() => validateEventBlock(record(keyTooLong), MAX_EVENT), 'MALFORMED_ENVELOPE');
    const headersTooLong = [...minimal.slice(0, 11), 0, 5, 1, 0x61];
    expectProtocolError(() => validateEventBlock(record(headersTooLong), MAX_EVENT), 'MALFORMED_ENVELOPE');
  });

  it('refuses a header with an empty name or a value past the headers', () => {
    const emptyName = [...minimal.slice(0, 11), 0, 3, 0, 0, 0];
    expectProtocolError(() => validateEventBlock(record(emptyName), MAX_EVENT), 'MALFORMED_ENVELOPE');
    const longValue = [...minimal.slice(0, 11), 0, 4, 1, 0x61, 0, 1, 0x62];
    expectProtocolError(() => validateEventBlock(record(longValue), MAX_EVENT), 'MALFORMED_ENVELOPE');
  });

  it('refuses headers one byte past the bound with HEADERS_TOO_LARGE', () => {
    const block = encodeEvents([{ headers: headersOfSize(MAX_HEADERS_BYTES + 1), data: '' }]);
    const error = expectProtocolError(() => validateEventBlock(block, MAX_EVENT), 'HEADERS_TOO_LARGE');
    expect(error.message).toContain(String(MAX_HEADERS_BYTES));
  });

  it('checks envelopes of random bytes without throwing anything but a ProtocolError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        try {
          checkEnvelope(view, 0, bytes.byteLength);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
