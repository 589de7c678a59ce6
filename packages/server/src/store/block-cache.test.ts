import { describe, expect, it } from 'vitest';

import { BlockCache } from './block-cache.js';

describe('BlockCache', () => {
  it('evicts the least recently used entries past its byte bound', () => {
    const cache = new BlockCache(3 * (100 + 96));
    for (const key of ['a', 'b', 'c']) cache.set(key, Buffer.alloc(100, key));
    expect(cache.get('a')?.[0]).toBe('a'.charCodeAt(0)); // a is now the most recent
    cache.set('d', Buffer.alloc(100));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.get('d')).toBeDefined();
    expect(cache.bytes).toBe(3 * (100 + 96));
    expect(cache.counters).toEqual({ hits: 4, misses: 1 });
  });

  it('tells whether a key is cached without counting it or refreshing its recency', () => {
    const cache = new BlockCache(2 * (100 + 96));
    cache.set('a', Buffer.alloc(100));
    cache.set('b', Buffer.alloc(100));
    expect([cache.has('a'), cache.has('x')]).toEqual([true, false]);
    expect(cache.counters).toEqual({ hits: 0, misses: 0 });
    cache.set('c', Buffer.alloc(100)); // 'a' is still the least recently used: has() did not refresh it
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([false, true, true]);
  });

  it('skips blocks larger than the whole cache and replaces an existing key', () => {
    const cache = new BlockCache(1000);
    cache.set('big', Buffer.alloc(2000));
    expect(cache.get('big')).toBeUndefined();
    cache.set('k', Buffer.alloc(10));
    cache.set('k', Buffer.alloc(20));
    expect(cache.get('k')?.byteLength).toBe(20);
    expect(cache.bytes).toBe(20 + 96);
    cache.delete('k');
    expect(cache.bytes).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('copies a small view of a large buffer instead of pinning the whole buffer', () => {
    const cache = new BlockCache(1 << 20);
    const chunk = Buffer.alloc(64 * 1024, 7);
    const view = chunk.subarray(100, 200);
    cache.set('view', view);
    const cached = cache.get('view')!;
    expect(cached.equals(view)).toBe(true);
    expect(cached.buffer).not.toBe(chunk.buffer);
    const own = Buffer.allocUnsafeSlow(5000);
    cache.set('own', own);
    expect(cache.get('own')).toBe(own);
  });

  it('stays fast under constant churn (eviction is O(1))', () => {
    const cache = new BlockCache(1000 * (64 + 96));
    const data = Buffer.allocUnsafeSlow(64);
    const started = performance.now();
    for (let n = 0; n < 300_000; n++) cache.set(String(n), data);
    expect(cache.size).toBe(1000);
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
