import { activeSegments, planMerge, planSplit, type AutoScalePolicy, type ScalePlan, type SegmentRecord, type StreamLayout } from './stream-layout.js';

/**
 * One auto-scaling step for a stream, from the event rate of each active segment (events/s, by
 * segment number): split the hottest segment above the target while under maxSegments; otherwise
 * merge the coldest pair of neighbouring ranges whose rates together stay under half the target (the
 * half keeps a merge from being split again at once) while above minSegments. Counts outside the
 * bounds are brought back first. Null when the stream is where the policy wants it.
 */
export function planAutoScale(layout: StreamLayout, rates: ReadonlyMap<number, number>, policy: AutoScalePolicy, at: number): ScalePlan | null {
  const active = activeSegments(layout);
  const rate = (segment: SegmentRecord): number => rates.get(segment.number) ?? 0;
  const hottest = active.reduce((best, segment) => (rate(segment) > rate(best) ? segment : best));
  const coldestPair = (): [SegmentRecord, SegmentRecord] | null => {
    let best: [SegmentRecord, SegmentRecord] | null = null;
    for (let i = 1; i < active.length; i++) {
      const pair: [SegmentRecord, SegmentRecord] = [active[i - 1]!, active[i]!];
      if (best === null || rate(pair[0]) + rate(pair[1]) < rate(best[0]) + rate(best[1])) best = pair;
    }
    return best;
  };
  if (active.length < policy.minSegments || (rate(hottest) > policy.targetEventsPerSecond && active.length < policy.maxSegments)) {
    return planSplit(layout, hottest.number, at);
  }
  const pair = coldestPair();
  if (pair === null) return null;
  const cold = rate(pair[0]) + rate(pair[1]) < policy.targetEventsPerSecond / 2;
  if (active.length > policy.maxSegments || (cold && active.length > policy.minSegments)) {
    return planMerge(layout, pair[0].number, pair[1].number, at);
  }
  return null;
}

/** Checks a policy given by a caller; returns the problem, or null. */
export function policyProblem(policy: AutoScalePolicy): string | null {
  const { minSegments, maxSegments, targetEventsPerSecond } = policy;
  if (!Number.isInteger(minSegments) || minSegments < 1) return `minSegments must be an integer of at least 1, got ${String(minSegments)}`;
  if (!Number.isInteger(maxSegments) || maxSegments < minSegments || maxSegments > 4096) {
    return `maxSegments must be an integer from minSegments (${minSegments}) to 4096, got ${String(maxSegments)}`;
  }
  if (typeof targetEventsPerSecond !== 'number' || !(targetEventsPerSecond > 0)) {
    return `targetEventsPerSecond must be a positive number, got ${String(targetEventsPerSecond)}`;
  }
  return null;
}
