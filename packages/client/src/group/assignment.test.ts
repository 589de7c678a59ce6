import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planAssignment } from './assignment.js';
import { acquire, finish, initialState, join, leave, release, segmentsOf, unassignedSegments, type GroupState, type Member } from './group-state.js';

const member = (readerId: string): Member => ({ readerId, session: `session-${readerId}` });

function group(segments: number, readers: string[]): GroupState {
  const offsets = new Map(Array.from({ length: segments }, (_, index) => [`s/n/${index}`, 0] as const));
  return readers.reduce((state, id) => join(state, member(id)), initialState('head', offsets));
}

/**
 * Readers follow their plans until nobody has anything to do. As group readers do, each decides what
 * to give from the state it last saw (all of them from the same one in a round, when concurrent) and
 * takes by a plan made on the latest state, inside its conditional update.
 */
function settle(
  start: GroupState,
  order: (readers: string[]) => string[] = (readers) => readers,
  concurrent = false,
): { state: GroupState; moves: number } {
  let state = start;
  let moves = 0;
  for (let round = 0; round < 100; round++) {
    let changed = false;
    const seen = state;
    for (const readerId of order(Object.keys(state.readers))) {
      const plan = planAssignment(concurrent ? seen : state, readerId);
      if (plan.release > 0) {
        const given = segmentsOf(state, readerId).slice(-plan.release);
        state = release(state, member(readerId), new Map(given.map((segment) => [segment, 0]))) ?? state;
        changed = true;
      }
      const wanted = planAssignment(state, readerId).acquire;
      const taken = acquire(state, member(readerId), wanted);
      if (taken !== null) {
        moves += wanted.length;
        state = taken;
        changed = true;
      }
    }
    if (!changed) return { state, moves };
  }
  throw new Error('the plan did not settle in 100 rounds');
}

/**
 * The fewest segments that must change hands to settle: every unassigned one, every one above a
 * reader's ceiling, and one from each reader at the ceiling beyond the S mod R that stay there.
 */
function fewestMoves(state: GroupState): number {
  const readers = Object.keys(state.readers);
  if (readers.length === 0) return 0;
  const owned = readers.map((readerId) => segmentsOf(state, readerId).length);
  const unassigned = unassignedSegments(state).length;
  const readable = unassigned + owned.reduce((total, count) => total + count, 0);
  const floor = Math.floor(readable / readers.length);
  const ceil = Math.ceil(readable / readers.length);
  const aboveCeil = owned.reduce((total, count) => total + Math.max(0, count - ceil), 0);
  const atCeil = owned.filter((count) => count >= ceil).length;
  const stayAtCeil = readable - readers.length * floor;
  return unassigned + aboveCeil + (ceil > floor ? Math.max(0, atCeil - stayAtCeil) : 0);
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

  it('tells a reader that is not a member to do nothing, even with segments free', () => {
    expect(planAssignment(group(4, ['a']), 'stranger')).toEqual({ release: 0, acquire: [] });
  });

  it('spreads only what may be read: successors waiting for predecessors are neither counted nor taken', () => {
    const offsets = new Map(['s/n/0', 's/n/1', 's/n/2', 's/n/3', 's/n/4', 's/n/5'].map((segment) => [segment, 0] as const));
    const predecessors = new Map([
      ['s/n/4', ['s/n/0', 's/n/1']],
      ['s/n/5', ['s/n/2', 's/n/3']],
    ]);
    const start = ['a', 'b'].reduce((state, id) => join(state, member(id)), initialState('head', offsets, predecessors));
    const spread = settle(start).state;
    expect(held(spread)).toEqual([2, 2]);
    expect(segmentsOf(spread, 'a').concat(segmentsOf(spread, 'b')).sort()).toEqual(['s/n/0', 's/n/1', 's/n/2', 's/n/3']);

    // The reader holding s/n/0 finishes it; s/n/4 still waits for s/n/1, so 3 segments are readable.
    const holder = segmentsOf(spread, 'a').includes('s/n/0') ? 'a' : 'b';
    const oneFinished = finish(spread, member(holder), new Map([['s/n/0', 10]]))!;
    const settled = settle(oneFinished).state;
    expect(held(settled)).toEqual([1, 2]);
    expect(settled.segments['s/n/4']!.owner).toBeNull();
    expect(settled.segments['s/n/5']!.owner).toBeNull();
  });

  it('starts readers at different places in the free segments, so their first takes collide less', () => {
    const readers = Array.from({ length: 8 }, (_, index) => `reader-${index}`);
    const fresh = group(64, readers);
    const firstChoices = new Set(readers.map((readerId) => planAssignment(fresh, readerId).acquire[0]));
    expect(firstChoices.size).toBeGreaterThanOrEqual(6);
    for (const readerId of readers) expect(planAssignment(fresh, readerId).acquire).toHaveLength(8);
  });

  it('settles any membership change on an even spread (±1) with every readable segment held', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.boolean(),
        (segments, changes, seed, concurrent) => {
          let state = group(segments, []);
          // Readers act in a different order each round, as real readers would.
          let turn = seed;
          const order = (readers: string[]): string[] => readers.map((id, index) => [id, (index * 7919 + turn++) % 101] as const).sort((x, y) => x[1] - y[1]).map(([id]) => id);
          for (const [joining, id] of changes) {
            state = joining ? join(state, member(`r${id}`)) : (leave(state, member(`r${id}`)) ?? state);
            const settled = settle(state, order, concurrent);
            expect(settled.moves).toBe(fewestMoves(state));
            state = settled.state;
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
