import { describe, expect, it } from 'vitest';

import { ReturningWriters } from './returning-writers.js';

const by = (...origins: string[]) => origins.map((origin) => ({ origin }));
const letters = (count: number, from = 0) => Array.from({ length: count }, (_, n) => `w${from + n}`);

function policy() {
  const clock = { ms: 0 };
  return { clock, writers: new ReturningWriters(() => clock.ms) };
}

describe('ReturningWriters', () => {
  it('never waits for a lone writer: the one it acknowledged is the one that appended again', () => {
    const { writers } = policy();
    writers.acknowledge(by('a'));
    expect(writers.shouldWait(by('a'))).toBe(false);
  });

  it('waits for the writers it just acknowledged that have not appended again, until all but an eighth are back', () => {
    const { writers } = policy();
    const first = letters(16);
    writers.acknowledge(by(...first));
    // The other half of the writers queued while the first half was written: without waiting they
    // would be written alone, and the two halves would alternate for good.
    expect(writers.shouldWait(by(...letters(16, 16)))).toBe(true);
    const back = first.map((origin) => writers.arrived(origin));
    expect(back.indexOf(true)).toBe(13); // 14 of 16 back: the last 2 (16 >> 3) join the next group
    expect(back.filter(Boolean)).toHaveLength(1);
  });

  it('ignores appends that are not from a missing writer, and records that name no writer', () => {
    const { writers } = policy();
    writers.acknowledge([...by('a'), {}]);
    expect(writers.shouldWait(by('b'))).toBe(true);
    expect(writers.arrived('b')).toBe(false);
    expect(writers.arrived(undefined)).toBe(false);
    expect(writers.arrived('a')).toBe(true);
  });

  it('decides once per acknowledged group', () => {
    const { writers } = policy();
    writers.acknowledge(by('a', 'b'));
    expect(writers.shouldWait(by('b'))).toBe(true);
    expect(writers.arrived('a')).toBe(true);
    expect(writers.shouldWait(by('b', 'a'))).toBe(false);
    expect(writers.shouldWait(by('c'))).toBe(false);
  });

  it('does not wait when the next group starts too long after the acknowledgement', () => {
    const { clock, writers } = policy();
    writers.acknowledge(by('a', 'b'));
    clock.ms = 2;
    expect(writers.shouldWait(by('b'))).toBe(false);
  });

  it('after a wait that ends at its deadline with most writers missing, writes 8 groups without waiting, then 16 after the next miss', () => {
    const { writers } = policy();
    const waitsOverGroups = (groups: number): boolean[] =>
      Array.from({ length: groups }, () => {
        writers.acknowledge(by('gone', 'here'));
        return writers.shouldWait(by('here'));
      });
    writers.acknowledge(by('gone', 'here'));
    expect(writers.shouldWait(by('here'))).toBe(true);
    writers.deadlinePassed();
    expect(waitsOverGroups(9)).toEqual([...Array<boolean>(8).fill(false), true]);
    writers.deadlinePassed();
    expect(waitsOverGroups(17)).toEqual([...Array<boolean>(16).fill(false), true]);
  });

  it('is not put off by a deadline that passes once at least half of the writers are back', () => {
    const { writers } = policy();
    writers.acknowledge(by(...letters(4)));
    expect(writers.shouldWait([])).toBe(true);
    writers.arrived('w0');
    writers.arrived('w1');
    writers.deadlinePassed();
    writers.acknowledge(by(...letters(4)));
    expect(writers.shouldWait([])).toBe(true);
  });
});
