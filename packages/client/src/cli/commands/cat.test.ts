import { describe, expect, it } from 'vitest';
import { commitPlan, initialLayout, planScale, withPlan, type StreamLayout } from '../../stream/stream-layout.js';
import { reachedEnd, type StreamEnd } from './cat.js';

function scaled(layout: StreamLayout, count: number): StreamLayout {
  return commitPlan(withPlan(layout, planScale(layout, count, 1)!));
}

describe('cat: where the stream ended when cat started', () => {
  const two = initialLayout(2);
  const end: StreamEnd = { segments: [{ number: 0, length: 100 }, { number: 1, length: 0 }] };

  it('is reached once every segment of the end was opened and read to its length, not before', () => {
    expect(reachedEnd({ stream: 's/n', offsets: { 0: 60, 1: 0 } }, end, two)).toBe(false);
    expect(reachedEnd({ stream: 's/n', offsets: { 0: 100 } }, end, two)).toBe(false); // 1 not opened yet
    expect(reachedEnd({ stream: 's/n', offsets: { 0: 100, 1: 0 } }, end, two)).toBe(true);
  });

  it('counts segments a scale since sealed, which a position stops listing once they are read', () => {
    const three = scaled(two, 3);
    const both: StreamEnd = { segments: [{ number: 0, length: 100 }, { number: 1, length: 50 }] };
    // Reading the successors: 0 and 1 were read to their (final) ends, so they are not listed.
    expect(reachedEnd({ stream: 's/n', offsets: { 2: 0, 3: 0, 4: 0 } }, both, three)).toBe(true);
    // Only the successor of 0 alone opened: 1 is still being read.
    expect(reachedEnd({ stream: 's/n', offsets: { 1: 20, 2: 0 } }, both, three)).toBe(false);
  });
});
