import { afterEach, describe, expect, it, vi } from 'vitest';

import { offsetsCopier } from './offsets-copier.js';

describe('offsetsCopier', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('makes a fresh plain object equal to a spread of the offsets, for the keys it was made for', () => {
    const offsets: Record<string, number> = { 0: 10, 3: -1, 12: 4096 };
    const copy = offsetsCopier(Object.keys(offsets));
    const first = copy(offsets);
    expect(first).toEqual({ ...offsets });
    expect(Object.keys(first)).toEqual(['0', '3', '12']);
    expect(JSON.stringify(first)).toBe(JSON.stringify(offsets));
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    offsets[0] = 11;
    const second = copy(offsets);
    expect(second).toEqual({ 0: 11, 3: -1, 12: 4096 });
    expect(first[0]).toBe(10);
    second[3] = 5;
    expect(offsets[3]).toBe(-1);
  });

  it('copies no keys for an empty set, and spreads keys that are not segment numbers', () => {
    expect(offsetsCopier([])({})).toEqual({});
    const odd = { '01': 1, 'x + 1': 2, 2: 3 };
    expect(offsetsCopier(Object.keys(odd))(odd)).toEqual(odd);
  });

  it('still copies where code generation from strings is disallowed', () => {
    vi.stubGlobal('Function', () => {
      throw new EvalError('Code generation from strings disallowed for this context');
    });
    const offsets = { 0: 10, 3: -1 };
    const copy = offsetsCopier(Object.keys(offsets));
    expect(copy(offsets)).toEqual({ 0: 10, 3: -1 });
    expect(copy(offsets)).not.toBe(offsets);
  });
});
