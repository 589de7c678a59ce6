import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planAssignment } from './assignment.js';
import { acquire, initialState, join, leave, release, segmentsOf, unassignedSegments, type GroupState, type Member } from './group-state.js';

const member = (readerId: string): Member => ({ readerId, session: `session-${readerId}` });

function group(segments: number, readers: string[]): GroupState {
  const offsets = new Map(Array.from({ length: segments }, (_, index) => [`s/n/${index}`, 0] as const));
  return readers.reduce((state, id) => join(state, member(id)), initialState('head', offsets));
}

/** Each reader in turn follows its plan (giving the segments it names last) until nobody has anything to do. */
function settle(start: GroupState, order: (readers: string[]) => string[] = (readers) => readers): { state: GroupState; moves: number } {
  let state = start;
  let moves = 0;
  for (let round = 0; round < 100; round++) {
    let changed = false;
    for (const readerId of order(Object.keys(state.readers))) {
      const plan = planAssignment(state, readerId);
      if (plan.release > 0) {
        const given = segmentsOf(state, readerId).slice(-plan.release);
        state = release(state, member(readerId), new Map(given.map((segment) => [segment, 0]))) ?? state;
        changed = true;
      }
      const taken = acquire(state, member(readerId), plan.acquire);
      if (taken !== null) {
        moves += plan.acquire.length;
        state = taken;
        changed = true;
      }
    }
    if (!changed) return { state, moves };
  }
  throw new Error('the plan did not settle in 100 rounds');
}

const held = (state: GroupState): number[] =>
  Object.keys(state.readers)
    .map((readerId) => segmentsOf(state, readerId).length)
    .sort((a, b) => a - b);

describe('planAssignment', () => {
  it('spreads 12 segments 4/4/4 over three readers', () => {
    expect(held(settle(group(12, ['a', 'b', 'c'])).state)).toEqual([4, 4, 4]);
  });

  it('moves only the segments it must when a reader joins or leaves, and takes from nobody else', () => {
    const balanced = settle(group(12, ['a', 'b', 'c'])).state;
    const before = new Map(['a', 'b', 'c'].map((id) => [id, segmentsOf(balanced, id)]));
    const joined = settle(join(balanced, member('d')));
    expect(held(joined.state)).toEqual([3, 3, 3, 3]);
    expect(joined.moves).toBe(3);
    for (const [id, segments] of before) expect(segmentsOf(joined.state, id).every((segment) => segments.includes(segment))).toBe(true);

    const kept = new Map(['b', 'c', 'd'].map((id) => [id, segmentsOf(joined.state, id)]));
    const left = settle(leave(joined.state, member('a'))!);
    expect(held(left.state)).toEqual([4, 4, 4]);
    expect(left.moves).toBe(3);
    for (const [id, segments] of kept) expect(segments.every((segment) => segmentsOf(left.state, id).includes(segment))).toBe(true);
  });

  it('settles any membership change on an even spread (±1) with every readable segment held', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 1000 }),
        (segments, changes, seed) => {
          let state = group(segments, []);
          // Readers act in a different order each round, as real readers would.
          let turn = seed;
          const order = (readers: string[]): string[] => readers.map((id, index) => [id, (index * 7919 + turn++) % 101] as const).sort((x, y) => x[1] - y[1]).map(([id]) => id);
          for (const [joining, id] of changes) {
            state = joining ? join(state, member(`r${id}`)) : (leave(state, member(`r${id}`)) ?? state);
            state = settle(state, order).state;
            const counts = held(state);
            if (counts.length === 0) continue;
            expect(counts[counts.length - 1]! - counts[0]!).toBeLessThanOrEqual(1);
            expect(unassignedSegments(state)).toEqual([]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
