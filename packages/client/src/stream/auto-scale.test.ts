import { describe, expect, it } from 'vitest';
import { planAutoScale, policyProblem } from './auto-scale.js';
import { activeSegments, commitPlan, initialLayout, withPlan, type StreamLayout } from './stream-layout.js';

const policy = { minSegments: 1, maxSegments: 4, targetEventsPerSecond: 1_000 };
const apply = (layout: StreamLayout, rates: Record<number, number>): StreamLayout => {
  const plan = planAutoScale(layout, new Map(Object.entries(rates).map(([n, r]) => [Number(n), r])), policy, 1);
  return plan === null ? layout : commitPlan(withPlan(layout, plan));
};

describe('planAutoScale', () => {
  it('splits the hottest range above the target, up to maxSegments', () => {
    const split = apply(initialLayout(2), { 0: 300, 1: 2_500 });
    expect(activeSegments(split).map((s) => [s.number, s.low, s.high])).toEqual([
      [0, 0, 0.5],
      [2, 0.5, 0.75],
      [3, 0.75, 1],
    ]);
    let layout = initialLayout(4);
    layout = apply(layout, { 0: 5_000, 1: 5_000, 2: 5_000, 3: 5_000 });
    expect(activeSegments(layout)).toHaveLength(4);
  });

  it('merges the coldest neighbours under half the target, down to minSegments, and leaves a steady stream alone', () => {
    const merged = apply(initialLayout(3), { 0: 100, 1: 150, 2: 900 });
    expect(activeSegments(merged).map((s) => [s.number, s.predecessors])).toEqual([
      [3, [0, 1]],
      [2, []],
    ]);
    expect(planAutoScale(initialLayout(3), new Map([[0, 400], [1, 400], [2, 400]]), policy, 1)).toBeNull();
    expect(planAutoScale(initialLayout(1), new Map(), policy, 1)).toBeNull();
  });

  it('brings a count outside the bounds back first', () => {
    expect(activeSegments(apply(initialLayout(6), { 0: 900, 1: 900, 2: 900, 3: 900, 4: 900, 5: 900 }))).toHaveLength(5);
    const bounded = planAutoScale(initialLayout(1), new Map(), { ...policy, minSegments: 2 }, 1);
    expect(bounded?.created).toHaveLength(2);
  });

  it('names what is wrong with a policy', () => {
    expect(policyProblem(policy)).toBeNull();
    expect(policyProblem({ ...policy, minSegments: 0 })).toMatch(/minSegments/);
    expect(policyProblem({ ...policy, maxSegments: 0 })).toMatch(/maxSegments/);
    expect(policyProblem({ ...policy, targetEventsPerSecond: -1 })).toMatch(/targetEventsPerSecond/);
  });
});
