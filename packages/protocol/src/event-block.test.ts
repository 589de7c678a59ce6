import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { expectProtocolError } from '../test-support/expect-protocol-error.js';
import { ENVELOPE_FIXED_SIZE } from './envelope.js';
import {
  encodeEventBlock,
  encodeEvents,
  EVENT_HEADER_SIZE,
  EventBlockBuilder,
  eventsOf,
  forEachEvent,
  framedSize,
  isEventBoundary,
  positionAfterEvents,
  validateEventBlock,
  wholeEventsPrefix,
} from './event-block.js';
import { DEFAULT_LIMITS } from './limits.js';

const ev = (text: string): Buffer => Buffer.from(text);
/** A record as a writer frames it (envelope + data), for what checks envelopes. */
const enveloped = (data: Buffer): Buffer => eventsOf(encodeEvents([{ data, timestamp: 0 }]))[0]!;
const MAX_EVENT = DEFAULT_LIMITS.maxEventSize;

describe('EventBlockBuilder', () => {
  it('frames events as u32 big-endian length + bytes', () => {
    const builder = new EventBlockBuilder(64);
    expect(builder.tryAdd(ev('ab'))).toBe(true);
    expect(builder.tryAdd(ev(''))).toBe(true);
    expect(builder.finish()).toEqual(Buffer.from([0, 0, 0, 2, 0x61, 0x62, 0, 0, 0, 0]));
    expect(builder.eventCount).toBe(2);
    expect(builder.byteLength).toBe(10);
    expect(EVENT_HEADER_SIZE).toBe(4);
    expect(framedSize(ev('ab'))).toBe(6);
  });

  it('fills exactly to capacity and refuses, unchanged, an event that does not fit', () => {
    const builder = new EventBlockBuilder(20);
    expect(builder.tryAdd(Buffer.alloc(6))).toBe(true); // 10 bytes
    expect(builder.tryAdd(Buffer.alloc(7))).toBe(false); // would be 21
    expect([builder.eventCount, builder.byteLength]).toEqual([1, 10]);
    expect(builder.tryAdd(Buffer.alloc(6))).toBe(true); // exactly 20
    expect([builder.eventCount, builder.byteLength]).toEqual([2, 20]);
    expect(builder.tryAdd(Buffer.alloc(0))).toBe(false); // even an empty event needs its header
    expect(eventsOf(builder.finish())).toHaveLength(2);
  });

  it('with capacity 0 or under one header takes nothing and finishes empty', () => {
    for (const capacity of [0, 3]) {
      const builder = new EventBlockBuilder(capacity);
      expect(builder.tryAdd(Buffer.alloc(0))).toBe(false);
      expect(builder.finish().byteLength).toBe(0);
      expect(builder.eventCount).toBe(0);
    }
  });

  it('fills a buffer it is given (one reused by the caller) from its start, and refuses one too small', () => {
    const reused = Buffer.alloc(32, 0xee);
    const builder = new EventBlockBuilder(16, reused);
    expect(builder.tryAdd(ev('ab'))).toBe(true);
    const block = builder.finish();
    expect(block.buffer).toBe(reused.buffer);
    expect(block).toEqual(Buffer.from([0, 0, 0, 2, 0x61, 0x62]));
    expect(builder.tryAdd(Buffer.alloc(7))).toBe(false); // 6 + 11 > capacity 16, though the buffer has room
    expect(() => new EventBlockBuilder(64, reused)).toThrow(RangeError);
  });

  it('accepts plain Uint8Arrays', () => {
    const builder = new EventBlockBuilder(16);
    expect(builder.tryAdd(new Uint8Array([1, 2, 3]))).toBe(true);
    expect(eventsOf(builder.finish())).toEqual([Buffer.from([1, 2, 3])]);
  });
});

describe('encodeEventBlock / validateEventBlock / eventsOf', () => {
  it('round trips events, empty ones included', () => {
    const events = [ev('first'), ev(''), ev('ünïcødé'), Buffer.alloc(1000, 1), ev('')].map(enveloped);
    const block = encodeEventBlock(events);
    expect(block.byteLength).toBe(events.reduce((sum, event) => sum + 4 + event.byteLength, 0));
    expect(validateEventBlock(block, MAX_EVENT)).toBe(events.length);
    expect(eventsOf(block)).toEqual(events);
  });

  it('round trips the empty block', () => {
    const block = encodeEventBlock([]);
    expect(block.byteLength).toBe(0);
    expect(validateEventBlock(block, MAX_EVENT)).toBe(0);
    expect(eventsOf(block)).toEqual([]);
  });

  it('round trips any events (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 30 }), (arrays) => {
        const events = arrays.map((bytes) => enveloped(Buffer.from(bytes)));
        const block = encodeEventBlock(events);
        expect(validateEventBlock(block, MAX_EVENT)).toBe(events.length);
        expect(eventsOf(block)).toEqual(events);
      }),
      { numRuns: 200 },
    );
  });

  it('hands out views of the block, not copies, with their positions', () => {
    const block = encodeEventBlock([ev('aa'), ev('bbb')]);
    const seen: [string, number][] = [];
    forEachEvent(block, (event, position) => {
      expect(event.buffer).toBe(block.buffer);
      seen.push([event.toString(), position]);
    });
    expect(seen).toEqual([
      ['aa', 0],
      ['bbb', 6],
    ]);
  });

  it('accepts an event of exactly maxEventSize, with the default limit', () => {
    const block = encodeEventBlock([enveloped(Buffer.alloc(MAX_EVENT - ENVELOPE_FIXED_SIZE)), enveloped(Buffer.alloc(0))]);
    expect(validateEventBlock(block, MAX_EVENT)).toBe(2);
  });

  it('refuses an event over maxEventSize (EVENT_TOO_LARGE)', () => {
    expectProtocolError(() => validateEventBlock(encodeEventBlock([enveloped(ev('ok')), Buffer.alloc(21)]), 20), 'EVENT_TOO_LARGE');
    // Refused from its header alone: a huge declared length need not be present.
    const claim = Buffer.alloc(8);
    claim.writeUInt32BE(MAX_EVENT + 1, 0);
    expectProtocolError(() => validateEventBlock(claim, MAX_EVENT), 'EVENT_TOO_LARGE');
    claim.writeUInt32BE(0xffff_ffff, 0);
    expectProtocolError(() => validateEventBlock(claim, MAX_EVENT), 'EVENT_TOO_LARGE');
  });

  it('refuses a block ending inside an event header (MALFORMED_BLOCK)', () => {
    const block = encodeEventBlock([enveloped(ev('abc')), enveloped(ev('de'))]);
    const firstEnd = 4 + ENVELOPE_FIXED_SIZE + 3;
    for (const extra of [1, 2, 3]) {
      expectProtocolError(() => validateEventBlock(block.subarray(0, firstEnd + extra), MAX_EVENT), 'MALFORMED_BLOCK');
    }
    for (const length of [1, 2, 3]) expectProtocolError(() => validateEventBlock(Buffer.alloc(length), MAX_EVENT), 'MALFORMED_BLOCK');
  });

  it('refuses a block ending inside an event payload (MALFORMED_BLOCK)', () => {
    const block = encodeEventBlock([enveloped(ev('abc')), enveloped(ev('de'))]);
    expectProtocolError(() => validateEventBlock(block.subarray(0, 5), MAX_EVENT), 'MALFORMED_BLOCK');
    expectProtocolError(() => validateEventBlock(block.subarray(0, block.byteLength - 1), MAX_EVENT), 'MALFORMED_BLOCK');
  });

  it('validation of random bytes returns a count or throws a ProtocolError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 300 }), (bytes, maxEventSize) => {
        try {
          const count = validateEventBlock(bytes, maxEventSize);
          expect(eventsOf(Buffer.from(bytes))).toHaveLength(count);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('positions within a block', () => {
  // Events of 2, 0 and 5 bytes: boundaries at 0, 6, 10, 19.
  const block = encodeEventBlock([ev('ab'), ev(''), ev('cdefg')]);
  const BOUNDARIES = [0, 6, 10, 19];

  it('positionAfterEvents gives the byte after the first n events, capped at the block', () => {
    expect([0, 1, 2, 3].map((count) => positionAfterEvents(block, count))).toEqual(BOUNDARIES);
    expect(positionAfterEvents(block, 99)).toBe(block.byteLength);
    expect(positionAfterEvents(Buffer.alloc(0), 3)).toBe(0);
  });

  it('isEventBoundary is true exactly at event boundaries, 0 and the end included', () => {
    for (let position = -1; position <= block.byteLength + 1; position++) {
      expect(isEventBoundary(block, position), `position ${position}`).toBe(BOUNDARIES.includes(position));
    }
    expect(isEventBoundary(Buffer.alloc(0), 0)).toBe(true);
  });

  it('wholeEventsPrefix takes whole events up to maxBytes', () => {
    expect(wholeEventsPrefix(block, 19)).toBe(19);
    expect(wholeEventsPrefix(block, 100)).toBe(19);
    expect(wholeEventsPrefix(block, 18)).toBe(10);
    expect(wholeEventsPrefix(block, 10)).toBe(10);
    expect(wholeEventsPrefix(block, 9)).toBe(6);
    expect(wholeEventsPrefix(block, 6)).toBe(6);
  });

  it('wholeEventsPrefix takes at least one event even when it alone is larger than maxBytes', () => {
    expect(wholeEventsPrefix(block, 5)).toBe(6);
    expect(wholeEventsPrefix(block, 0)).toBe(6);
    const big = encodeEventBlock([Buffer.alloc(1000), ev('x')]);
    expect(wholeEventsPrefix(big, 10)).toBe(1004);
    expect(wholeEventsPrefix(Buffer.alloc(0), 10)).toBe(0);
  });

  it('wholeEventsPrefix never cuts into a truncated last event', () => {
    const truncated = block.subarray(0, 15);
    expect(wholeEventsPrefix(truncated, 100)).toBe(10);
    expect(wholeEventsPrefix(block.subarray(0, 3), 100)).toBe(0);
  });

  it('wholeEventsPrefix always lands on a boundary, and within maxBytes unless one event is bigger (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }), fc.nat({ max: 600 }), (arrays, maxBytes) => {
        const events = arrays.map((bytes) => Buffer.from(bytes));
        const data = encodeEventBlock(events);
        const prefix = wholeEventsPrefix(data, maxBytes);
        expect(isEventBoundary(data, prefix)).toBe(true);
        if (events.length > 0) expect(prefix).toBeGreaterThan(0);
        if (prefix > maxBytes) expect(prefix).toBe(positionAfterEvents(data, 1));
        const next = positionAfterEvents(data, eventsOf(data.subarray(0, prefix)).length + 1);
        if (next > prefix) expect(next).toBeGreaterThan(maxBytes);
      }),
      { numRuns: 300 },
    );
  });
});
