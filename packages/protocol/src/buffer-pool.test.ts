import { describe, expect, it } from 'vitest';
import { BufferPool, capacityFor } from './buffer-pool.js';

describe('BufferPool', () => {
  it('lends a handed-back buffer again for sizes of its capacity (a power of two), the last handed back first', () => {
    const pool = new BufferPool(1024 * 1024, 4096);
    const first = pool.take(5000);
    const second = pool.take(8192);
    expect([first.byteLength, first.buffer.byteLength, first.byteOffset]).toEqual([5000, 8192, 0]);
    pool.giveBack(first);
    pool.giveBack(second.subarray(100, 200)); // any view of it will do
    expect(pool.pooledBytes).toBe(16384);
    expect(pool.take(16384).buffer).not.toBe(first.buffer);
    expect(pool.take(6000).buffer).toBe(second.buffer);
    expect(pool.take(8192).buffer).toBe(first.buffer);
    expect(pool.pooledBytes).toBe(0);
  });

  it('takes back only what it lent, and each buffer once', () => {
    const pool = new BufferPool(1024 * 1024, 4096);
    pool.giveBack(Buffer.alloc(8192));
    pool.giveBack(Buffer.from('small'));
    expect(pool.pooledBytes).toBe(0);
    const lent = pool.take(8192);
    pool.giveBack(lent);
    pool.giveBack(lent);
    expect(pool.pooledBytes).toBe(8192);
    const [a, b] = [pool.take(8192), pool.take(8192)];
    expect(a.buffer).not.toBe(b.buffer);
  });

  it('lends a power of two up to 64 KiB, then the next multiple of 64 KiB (a 1 MiB reply frame does not take 2 MiB)', () => {
    const KiB = 1024;
    expect([1, 5000, 8192, 64 * KiB].map(capacityFor)).toEqual([1, 8192, 8192, 64 * KiB]);
    expect([64 * KiB + 1, 1024 * KiB, 1024 * KiB + 60].map(capacityFor)).toEqual([128 * KiB, 1024 * KiB, 1088 * KiB]);
    const pool = new BufferPool(8 * 1024 * KiB, 64 * KiB);
    const frame = pool.take(1024 * KiB + 60);
    expect(frame.buffer.byteLength).toBe(1088 * KiB);
    pool.giveBack(frame);
    expect(pool.take(1024 * KiB + 500).buffer).toBe(frame.buffer);
  });

  it('lends memory of its own, never a slice of the shared Buffer pool, and keeps no more than its bound', () => {
    const pool = new BufferPool(10_000, 16);
    const small = pool.take(16);
    expect(small.buffer.byteLength).toBe(16);
    const tiny = new BufferPool(10_000, 4096).take(100); // under minBytes: an ordinary Buffer, never taken back
    expect(tiny.byteLength).toBe(100);
    const buffers = [pool.take(4096), pool.take(4096), pool.take(4096)];
    for (const buffer of buffers) pool.giveBack(buffer);
    expect(pool.pooledBytes).toBe(8192);
  });
});
