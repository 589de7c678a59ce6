import { describe, expect, it } from 'vitest';
import { commitPlan, initialLayout, planScale, withoutSegments, withPlan, type StreamLayout } from '../stream/stream-layout.js';
import { checkPosition, finishedEntries, positionState } from './reader-position.js';

const scaled = (layout: StreamLayout, count: number): StreamLayout => commitPlan(withPlan(layout, planScale(layout, count, 1)!));
// Segments 0,1 -> 2..6 -> 7,8,9 (7 continues 2,3; 8 continues 3,4,5; 9 continues 5,6).
const layout = scaled(scaled(initialLayout(2), 5), 3);

describe('reader positions across epochs', () => {
  it('reads finished segments from -1 entries and from the ancestors of listed ones', () => {
    const state = positionState(layout, { stream: 'a/b', offsets: { 7: 40, 4: -1, 5: 12, 6: 0 } });
    expect([...state.finished].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    expect(state.reading).toEqual(
      new Map([
        [5, 12],
        [6, 0],
        [7, 40],
      ]),
    );
  });

  it('lists only the finished segments no listed segment continues, and none retention deleted', () => {
    expect(finishedEntries(layout, new Set([0, 1, 2, 3, 4]), [7, 5, 6])).toEqual({ 4: -1 });
    expect(finishedEntries(layout, new Set([0, 1, 2, 3, 4, 5, 6]), [7, 8, 9])).toEqual({});
    expect(finishedEntries(withoutSegments(layout, [4]), new Set([0, 1, 2, 3, 4]), [7, 5, 6])).toEqual({});
  });

  it('accepts a position saved before streams could scale (offsets as an array)', () => {
    const legacy = checkPosition({ stream: 'a/b', offsets: [10, 20] }, 'a/b');
    expect(positionState(initialLayout(2), legacy).reading).toEqual(
      new Map([
        [0, 10],
        [1, 20],
      ]),
    );
  });

  it('refuses a malformed position naming the option', () => {
    expect(() => checkPosition({ stream: 'a/b', offsets: { x: 1 } }, 'a/b')).toThrow(/from/);
    expect(() => checkPosition({ stream: 'a/b', offsets: { 1: -2 } }, 'a/b', 'position')).toThrow(/position/);
    expect(() => checkPosition({ stream: 'c/d', offsets: {} }, 'a/b')).toThrow(/belongs to stream c\/d/);
  });
});
