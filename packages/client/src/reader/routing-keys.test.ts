import { describe, expect, it } from 'vitest';

import { RoutingKeys } from './routing-keys.js';

describe('RoutingKeys', () => {
  it('decodes each key as written, whether it repeats, changes, is empty, unicode or long', () => {
    const keys = new RoutingKeys();
    const long = 'k'.repeat(40);
    const written = ['k1', 'k1', 'k2', '', 'k2', 'é€', 'é€', long, long, 'k1'];
    expect(written.map((key) => keys.decode(Buffer.from(`xx${key}yy`), 2, 2 + Buffer.byteLength(key)))).toEqual(written);
  });

  it('does not keep a view: a buffer overwritten in place gives the new key', () => {
    const keys = new RoutingKeys();
    const block = Buffer.from('key-a');
    expect(keys.decode(block, 0, 5)).toBe('key-a');
    block.write('key-b');
    expect(keys.decode(block, 0, 5)).toBe('key-b');
  });
});
