import { describe, expect, it } from 'vitest';
import { capacityFor, MIN_BLOCK_CAPACITY, nextBlockCapacity } from './block-sizing.js';

const MiB = 1024 * 1024;

describe('block sizing', () => {
  it('doubles after a full block, up to the maximum', () => {
    let capacity = MIN_BLOCK_CAPACITY;
    const seen = [capacity];
    for (let step = 0; step < 12; step++) {
      capacity = nextBlockCapacity(capacity, 'full', capacity, MiB);
      seen.push(capacity);
    }
    expect(seen.slice(0, 4)).toEqual([4096, 8192, 16384, 32768]);
    expect(capacity).toBe(MiB);
  });

  it('shrinks to twice what an early-sent block held, never under the minimum', () => {
    expect(nextBlockCapacity(MiB, 'sent-early', 104, MiB)).toBe(MIN_BLOCK_CAPACITY);
    expect(nextBlockCapacity(MiB, 'sent-early', 30_000, MiB)).toBe(65_536);
  });

  it('makes room for an event larger than the preferred capacity', () => {
    expect(capacityFor(5 * MiB, MiB)).toBe(5 * MiB);
    expect(capacityFor(104, MiB)).toBe(MiB);
  });
});
