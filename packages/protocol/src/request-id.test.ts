import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, FrameDecoder, type RawFrame } from './frame.js';
import {
  CONNECTION_FLOW_ID,
  formatRequestId,
  MAX_FLOW_ID,
  MAX_SEQUENCE,
  nextFlowId,
  nextSequence,
  requestIdOf,
  splitRequestId,
} from './request-id.js';

const PRAVEGA_SEQUENCE_MASK = 0x0fff_ffff;

describe('request id in the frame header', () => {
  it.each([
    ['all 32 sequence bits and the largest flowId', MAX_FLOW_ID, MAX_SEQUENCE],
    ['the sequence bit Pravega masked away', MAX_FLOW_ID, 0x8000_0000],
    ['bit 28 of the sequence', 1, 0x1000_0000],
    ['the connection flow', CONNECTION_FLOW_ID, 0],
  ])('round trips %s', (_label, flowId, sequence) => {
    const frame = encodeFrame(flowId, sequence, { type: 'KeepAlive' });
    const decoded = decodeFrame(frame);
    expect(decoded.flowId).toBe(flowId);
    expect(decoded.sequence).toBe(sequence);
  });

  it('keeps the sequence bits a 28-bit mask would drop', () => {
    const sequence = 0xf000_0001;
    expect(sequence & PRAVEGA_SEQUENCE_MASK).not.toBe(sequence);
    expect(decodeFrame(encodeFrame(7, sequence, { type: 'KeepAlive' })).sequence).toBe(sequence);
  });

  it('is readable from the header alone, before the body is decoded', () => {
    const frame = encodeFrame(MAX_FLOW_ID, MAX_SEQUENCE, { type: 'SegmentCreated', segment: 'shop/orders/0' });
    // Garbage body: routing must not depend on it.
    frame.fill(0xc1, 16);
    const raw: RawFrame[] = [];
    new FrameDecoder().push(frame, (f) => raw.push(f));
    expect(raw).toHaveLength(1);
    expect(requestIdOf(raw[0]!.flowId, raw[0]!.sequence)).toBe(requestIdOf(MAX_FLOW_ID, MAX_SEQUENCE));
  });

  it('round trips any flowId and sequence (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_FLOW_ID }), fc.integer({ min: 0, max: MAX_SEQUENCE }), (flowId, sequence) => {
        const decoded = decodeFrame(encodeFrame(flowId, sequence, { type: 'KeepAlive' }));
        expect([decoded.flowId, decoded.sequence]).toEqual([flowId, sequence]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('nextSequence', () => {
  it('counts up through all 32 bits', () => {
    expect(nextSequence(0)).toBe(1);
    expect(nextSequence(PRAVEGA_SEQUENCE_MASK)).toBe(0x1000_0000);
    expect(nextSequence(0x7fff_ffff)).toBe(0x8000_0000);
    expect(nextSequence(MAX_SEQUENCE - 1)).toBe(MAX_SEQUENCE);
  });

  it('wraps 2^32-1 to 0', () => {
    expect(MAX_SEQUENCE).toBe(2 ** 32 - 1);
    expect(nextSequence(MAX_SEQUENCE)).toBe(0);
  });
});

describe('nextFlowId', () => {
  it('counts up to 2^31-1', () => {
    expect(nextFlowId(1)).toBe(2);
    expect(nextFlowId(MAX_FLOW_ID - 1)).toBe(MAX_FLOW_ID);
    expect(MAX_FLOW_ID).toBe(2 ** 31 - 1);
  });

  it('wraps 2^31-1 to 1, skipping the connection flow 0', () => {
    expect(nextFlowId(MAX_FLOW_ID)).toBe(1);
    expect(nextFlowId(CONNECTION_FLOW_ID)).toBe(1);
  });

  it('never yields 0 or a value outside 1..2^31-1 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 32), max: 2 ** 33 }), (flowId) => {
        const next = nextFlowId(flowId);
        expect(next).toBeGreaterThanOrEqual(1);
        expect(next).toBeLessThanOrEqual(MAX_FLOW_ID);
      }),
      { numRuns: 500 },
    );
  });
});

describe('requestIdOf / splitRequestId', () => {
  it('puts flowId in the high 32 bits and the sequence in the low 32', () => {
    expect(requestIdOf(1, 0)).toBe(1n << 32n);
    expect(requestIdOf(0, MAX_SEQUENCE)).toBe(0xffff_ffffn);
    expect(requestIdOf(MAX_FLOW_ID, MAX_SEQUENCE)).toBe(0x7fff_ffff_ffff_ffffn);
  });

  it('round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_FLOW_ID }), fc.integer({ min: 0, max: MAX_SEQUENCE }), (flowId, sequence) => {
        expect(splitRequestId(requestIdOf(flowId, sequence))).toEqual({ flowId, sequence });
      }),
      { numRuns: 300 },
    );
    expect(splitRequestId(requestIdOf(MAX_FLOW_ID, MAX_SEQUENCE))).toEqual({ flowId: MAX_FLOW_ID, sequence: MAX_SEQUENCE });
    expect(splitRequestId(requestIdOf(MAX_FLOW_ID, 0x8000_0000))).toEqual({ flowId: MAX_FLOW_ID, sequence: 0x8000_0000 });
  });

  it('formats for logs', () => {
    expect(formatRequestId(3, MAX_SEQUENCE)).toBe('3:4294967295');
  });
});
