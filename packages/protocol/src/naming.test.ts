import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { metadataSegmentOf, segmentIndexForKey, segmentNameOf, streamNameProblem } from './naming.js';

describe('streamNameProblem', () => {
  it.each(['shop/orders', 'a/b', 'Shop-1/orders_2.v3', `${'a'.repeat(128)}/${'b'.repeat(128)}`])('accepts %s', (name) => {
    expect(streamNameProblem(name)).toBeNull();
  });

  it.each([
    ['no scope', 'shop'],
    ['three parts', 'a/b/c'],
    ['a # (reserved for metadata segments)', '#x/y'],
    ['# inside the name', 'x/y#'],
    ['an empty scope', '/orders'],
    ['an empty name', 'shop/'],
    ['the empty string', ''],
    ['a lone slash', '/'],
    ['a part starting with a dot', 'shop/.orders'],
    ['a part starting with a dash', '-shop/orders'],
    ['a space', 'shop/my orders'],
    ['a part over 128 characters', `shop/${'b'.repeat(129)}`],
    ['a non-ASCII letter', 'shöp/orders'],
  ])('rejects %s: %s', (_why, name) => {
    const problem = streamNameProblem(name);
    expect(problem).toEqual(expect.any(String));
    expect(problem).toContain(name);
  });
});

describe('segment names', () => {
  it('numbers segments under the stream and keeps metadata apart', () => {
    expect(segmentNameOf('shop/orders', 0)).toBe('shop/orders/0');
    expect(segmentNameOf('shop/orders', 7)).toBe('shop/orders/7');
    expect(metadataSegmentOf('shop/orders')).toBe('shop/orders/#meta');
  });
});

describe('segmentIndexForKey', () => {
  it('is stable and in range (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), fc.integer({ min: 1, max: 1024 }), (key, segmentCount) => {
        const index = segmentIndexForKey(key, segmentCount);
        expect(Number.isInteger(index)).toBe(true);
        expect(index).toBeGreaterThanOrEqual(0);
        expect(index).toBeLessThan(segmentCount);
        expect(segmentIndexForKey(key, segmentCount)).toBe(index);
      }),
      { numRuns: 500 },
    );
  });

  it('maps every key to segment 0 of a one-segment stream', () => {
    for (const key of ['', 'customer-42', '🚀']) expect(segmentIndexForKey(key, 1)).toBe(0);
  });

  it('spreads keys over the segments', () => {
    const counts = new Array<number>(8).fill(0);
    for (let customer = 0; customer < 8000; customer++) counts[segmentIndexForKey(`customer-${customer}`, 8)]! += 1;
    for (const count of counts) {
      expect(count).toBeGreaterThan(800);
      expect(count).toBeLessThan(1200);
    }
  });
});
