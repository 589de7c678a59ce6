import { describe, expect, it } from 'vitest';
import { SessionObserver } from './liveness.js';
import { acquire, commit, decodeState, encodeState, finish, initialState, isAssignable, isDrained, join, leave, release, unassignedSegments } from './group-state.js';

const a = { readerId: 'a', session: 'sa' };
const b = { readerId: 'b', session: 'sb' };
const start = join(join(initialState('head', new Map([['s/n/0', 0], ['s/n/1', 0]])), a), b);

describe('group state changes', () => {
  it('commits, hands back and finishes only the segments the member owns, never moving positions back', () => {
    const owned = acquire(start, a, ['s/n/0'])!;
    expect(acquire(owned, b, ['s/n/0'])).toBeNull();
    expect(commit(owned, b, new Map([['s/n/0', 50]]))).toBeNull();
    const committed = commit(owned, a, new Map([['s/n/0', 50]]))!;
    expect(committed.segments['s/n/0']!.offset).toBe(50);
    expect(commit(committed, a, new Map([['s/n/0', 10]]))).toBeNull();
    const released = release(committed, a, new Map([['s/n/0', 80]]))!;
    expect(released.segments['s/n/0']).toMatchObject({ offset: 80, owner: null });
    expect(unassignedSegments(released)).toEqual(['s/n/0', 's/n/1']);
  });

  it('a leave commits what it was given and frees its segments; a stale session changes nothing', () => {
    const owned = acquire(start, a, ['s/n/0', 's/n/1'])!;
    const left = leave(owned, a, new Map([['s/n/1', 7]]))!;
    expect(left.readers).toEqual({ b: 'sb' });
    expect(left.segments['s/n/1']).toMatchObject({ offset: 7, owner: null });
    expect(leave(left, a)).toBeNull();
    expect(commit(owned, { readerId: 'a', session: 'old' }, new Map([['s/n/0', 9]]))).toBeNull();
    // A new session under the same id replaces the old one and starts with nothing.
    const rejoined = join(owned, { readerId: 'a', session: 'new' });
    expect(rejoined.readers.a).toBe('new');
    expect(unassignedSegments(rejoined)).toEqual(['s/n/0', 's/n/1']);
  });

  it('opens a successor only once every predecessor is finished, and ends when all are', () => {
    const owned = acquire(start, a, ['s/n/0', 's/n/1'])!;
    const successors = new Map([['s/n/2', ['s/n/0', 's/n/1']]]);
    const one = finish(owned, a, new Map([['s/n/0', 100]]), successors)!;
    expect(one.segments['s/n/2']).toMatchObject({ offset: 0, predecessors: ['s/n/0', 's/n/1'] });
    const both = finish(one, a, new Map([['s/n/1', 40]]), successors)!;
    expect(both.segments['s/n/2']!.predecessors).toEqual(['s/n/0', 's/n/1']);
    expect(isAssignable(both, 's/n/2')).toBe(true);
    expect(isAssignable(one, 's/n/2')).toBe(false);
    expect(isDrained(both)).toBe(false);
    expect(Object.keys(both.segments)).toEqual(['s/n/0', 's/n/1', 's/n/2']);
    const last = finish(acquire(both, b, ['s/n/2'])!, b, new Map([['s/n/2', 5]]))!;
    // Finished segments nobody waits for are forgotten: the state does not grow with each scale.
    expect(last.segments).toEqual({});
    expect(isDrained(last)).toBe(true);
  });

  it('round-trips through its encoding and refuses other bytes', () => {
    expect(decodeState(encodeState(start))).toEqual(start);
    expect(() => decodeState(Buffer.from('{"version":2}'))).toThrow(/version 1/);
  });
});

describe('SessionObserver', () => {
  it('judges dead only after a read sent timeoutMs after the value was first seen still shows it', () => {
    const observer = new SessionObserver(1_000);
    expect(observer.note('s', 1, 0, 10)).toBe(false);
    expect(observer.note('s', 1, 900, 905)).toBe(false);
    expect(observer.note('s', 1, 1_010, 1_020)).toBe(true);
  });

  it('a moving counter is alive however long the gaps between reads (a paused observer evicts nobody)', () => {
    const observer = new SessionObserver(1_000);
    expect(observer.note('s', 1, 0, 10)).toBe(false);
    // This process stood still for a minute; the first read after it sees the other moved on.
    expect(observer.note('s', 9, 60_000, 60_010)).toBe(false);
    expect(observer.note('s', 9, 60_500, 60_510)).toBe(false);
  });

  it('a slow answer counts from when it arrived, not when it was sent', () => {
    const observer = new SessionObserver(1_000);
    expect(observer.note('s', 1, 0, 900)).toBe(false);
    expect(observer.note('s', 1, 1_500, 1_510)).toBe(false);
    expect(observer.note('s', 1, 1_900, 1_910)).toBe(true);
  });
});
