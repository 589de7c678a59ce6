import { describe, expect, it } from 'vitest';
import { BlockBuffers } from './block-buffers.js';

describe('BlockBuffers', () => {
  it('hands a returned buffer out again for the same size only, the last returned first', () => {
    const buffers = new BlockBuffers(1024 * 1024);
    const first = buffers.take(4096);
    const second = buffers.take(4096);
    expect(first.byteLength).toBe(4096);
    buffers.give(first);
    buffers.give(second);
    expect(buffers.pooledBytes).toBe(8192);
    expect(buffers.take(8192)).not.toBe(first);
    expect(buffers.take(4096)).toBe(second);
    expect(buffers.take(4096)).toBe(first);
    expect(buffers.take(4096)).not.toBe(first);
    expect(buffers.pooledBytes).toBe(0);
  });

  it('keeps no more than its bound', () => {
    const buffers = new BlockBuffers(10_000);
    buffers.give(Buffer.allocUnsafe(4096));
    buffers.give(Buffer.allocUnsafe(4096));
    buffers.give(Buffer.allocUnsafe(4096));
    expect(buffers.pooledBytes).toBe(8192);
  });
});
