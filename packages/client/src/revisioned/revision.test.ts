import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import { Revision } from './revision.js';

describe('Revision', () => {
  it('round-trips through toString, parse and JSON', () => {
    const revision = new Revision('shop/state/0', 1234);
    expect(revision.toString()).toBe('shop/state/0:1234');
    expect(Revision.parse(revision.toString()).equals(revision)).toBe(true);
    expect(JSON.stringify({ revision })).toBe('{"revision":"shop/state/0:1234"}');
  });

  it('compares by offset within one segment', () => {
    const a = new Revision('s/n/0', 10);
    const b = new Revision('s/n/0', 20);
    expect(a.compareTo(b)).toBe(-1);
    expect(b.compareTo(a)).toBe(1);
    expect(Revision.compare(a, new Revision('s/n/0', 10))).toBe(0);
    expect([b, a].sort(Revision.compare)).toEqual([a, b]);
    expect(() => a.compareTo(new Revision('s/other/0', 10))).toThrow(InvalidOptionError);
  });

  it.each(['', 'no-offset', 's/n/0:', 's/n/0:-1', 's/n/0:1.5', ':5'])('refuses to parse %j', (text) => {
    expect(() => Revision.parse(text)).toThrow(InvalidOptionError);
  });
});
