import fc from 'fast-check';
import { segmentIndexForKey } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { decodeLayout, encodeLayout } from './layout-codec.js';
import {
  activeSegments,
  ancestorsOf,
  commitPlan,
  initialLayout,
  KeyRouter,
  planMerge,
  planScale,
  planSplit,
  readableSegments,
  successorsOf,
  withoutSegments,
  withPlan,
  type StreamLayout,
} from './stream-layout.js';

function scaled(layout: StreamLayout, count: number): StreamLayout {
  return commitPlan(withPlan(layout, planScale(layout, count, 1)!));
}

describe('KeyRouter', () => {
  it('routes an unscaled stream exactly as hash mod count did (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 4096 }), (key, count) => {
        expect(new KeyRouter(initialLayout(count)).segmentFor(key)).toBe(segmentIndexForKey(key, count));
      }),
    );
  });

  it('sends every key to an active segment whose range holds it, after any scales (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 }), fc.string(), (counts, key) => {
        let layout = initialLayout(3);
        for (const count of counts) layout = planScale(layout, count, 1) === null ? layout : scaled(layout, count);
        const number = new KeyRouter(layout).segmentFor(key);
        expect(activeSegments(layout).map((segment) => segment.number)).toContain(number);
      }),
    );
  });

  it('spreads keys over all segments of a scaled stream', () => {
    const layout = scaled(initialLayout(2), 5);
    const router = new KeyRouter(layout);
    const hits = new Map<number, number>();
    for (let i = 0; i < 5_000; i++) {
      const number = router.segmentFor(`key-${i}`);
      hits.set(number, (hits.get(number) ?? 0) + 1);
    }
    expect([...hits.keys()].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6]);
    for (const count of hits.values()) expect(count).toBeGreaterThan(700);
  });
});

describe('scale plans', () => {
  it('2 -> 5 -> 3: numbers continue, predecessors are the overlapping sealed segments, history grows', () => {
    const five = scaled(initialLayout(2), 5);
    expect(five.epoch).toBe(1);
    expect(activeSegments(five).map((s) => [s.number, s.predecessors])).toEqual([
      [2, [0]],
      [3, [0]],
      [4, [0, 1]],
      [5, [1]],
      [6, [1]],
    ]);
    const three = scaled(five, 3);
    expect(three.epoch).toBe(2);
    expect(activeSegments(three).map((s) => [s.number, s.predecessors])).toEqual([
      [7, [2, 3]],
      [8, [3, 4, 5]],
      [9, [5, 6]],
    ]);
    expect(three.history.map((epoch) => [epoch.epoch, epoch.segments])).toEqual([
      [0, 2],
      [1, 5],
      [2, 3],
    ]);
    expect(successorsOf(three, 3).map((s) => s.number)).toEqual([7, 8]);
  });

  it('is a no-op when the active segments already are that many equal ranges', () => {
    expect(planScale(initialLayout(4), 4, 1)).toBeNull();
    expect(planScale(scaled(initialLayout(4), 2), 2, 1)).toBeNull();
  });

  it('splits one range and merges two neighbours, leaving the others untouched', () => {
    const split = commitPlan(withPlan(initialLayout(2), planSplit(initialLayout(2), 1, 1)));
    expect(activeSegments(split).map((s) => [s.number, s.low, s.high])).toEqual([
      [0, 0, 0.5],
      [2, 0.5, 0.75],
      [3, 0.75, 1],
    ]);
    const merged = commitPlan(withPlan(split, planMerge(split, 3, 2, 2)));
    expect(activeSegments(merged).map((s) => [s.number, s.low, s.high, s.predecessors])).toEqual([
      [0, 0, 0.5, []],
      [4, 0.5, 1, [2, 3]],
    ]);
    expect(() => planMerge(merged, 0, 4, 3)).not.toThrow();
    const three = scaled(initialLayout(1), 3);
    expect(() => planMerge(three, activeSegments(three)[0]!.number, activeSegments(three)[2]!.number, 3)).toThrow(/neighbours/);
  });

  it('refuses a second plan while one is pending', () => {
    const layout = initialLayout(2);
    const pending = withPlan(layout, planScale(layout, 3, 1)!);
    expect(() => planScale(pending, 4, 1)).toThrow(/still being carried out/);
  });
});

describe('readableSegments', () => {
  const three = scaled(scaled(initialLayout(2), 5), 3);
  const readable = (finished: number[]): number[] => readableSegments(three, new Set(finished)).map((s) => s.number);

  it('starts with epoch 0 and opens a successor only when every overlapping predecessor is finished', () => {
    expect(readable([])).toEqual([0, 1]);
    expect(readable([0])).toEqual([1, 2, 3]);
    expect(readable([0, 1])).toEqual([2, 3, 4, 5, 6]);
    expect(readable([0, 1, 2])).toEqual([3, 4, 5, 6]);
    expect(readable([0, 1, 2, 3])).toEqual([4, 5, 6, 7]);
    expect(readable([0, 1, 2, 3, 4, 5])).toEqual([6, 7, 8]);
  });

  it('treats predecessors deleted by retention as finished', () => {
    const trimmed = withoutSegments(three, [0, 1, 2, 3]);
    expect(readableSegments(trimmed, new Set()).map((s) => s.number)).toEqual([4, 5, 6, 7]);
    expect(withoutSegments(three, [8]).segments.map((s) => s.number)).toContain(8);
  });

  it('knows every ancestor of a segment', () => {
    expect([...ancestorsOf(three, [8])].sort((a, b) => a - b)).toEqual([0, 1, 3, 4, 5]);
  });
});

describe('layout codec', () => {
  it('round-trips a layout exactly, pending plan included', () => {
    const layout = scaled(initialLayout(3), 7);
    const pending = withPlan(layout, planScale(layout, 2, 5)!);
    expect(decodeLayout('a/b', encodeLayout(pending))).toEqual(pending);
  });

  it('refuses what is not a layout with a typed error', () => {
    expect(() => decodeLayout('a/b', Buffer.from('{"version":2}'))).toThrow(expect.objectContaining({ code: 'STREAM_LAYOUT_CORRUPT' }));
    expect(() => decodeLayout('a/b', Buffer.from('nope'))).toThrow(/a\/b/);
  });
});
