import { MAX_FLOW_ID, MAX_SEQUENCE, nextSequence, requestIdOf, splitRequestId } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { FlowIdAllocator } from './flow-ids.js';

describe('flow ids and request ids', () => {
  it('round-trips the 64-bit layout and wraps the sequence from 2^32-1 to 0', () => {
    const id = requestIdOf(MAX_FLOW_ID, MAX_SEQUENCE);
    expect(id).toBe((2n ** 31n - 1n) * 2n ** 32n + (2n ** 32n - 1n));
    expect(splitRequestId(id)).toEqual({ flowId: MAX_FLOW_ID, sequence: MAX_SEQUENCE });
    expect(nextSequence(MAX_SEQUENCE)).toBe(0);
  });

  it('wraps flowIds from 2^31-1 to 1 and never yields 0', () => {
    const allocator = new FlowIdAllocator(MAX_FLOW_ID - 1);
    expect([allocator.allocate(), allocator.allocate(), allocator.allocate()]).toEqual([MAX_FLOW_ID, 1, 2]);
  });

  it('skips ids still in use when the counter comes round again', () => {
    const allocator = new FlowIdAllocator(MAX_FLOW_ID - 1);
    allocator.allocate(); // 2^31-1
    allocator.allocate(); // 1
    allocator.allocate(); // 2
    allocator.free(MAX_FLOW_ID);
    // Counting up through two billion ids takes too long for a test: move the counter to its end.
    (allocator as unknown as { last: number }).last = MAX_FLOW_ID - 1;
    expect(allocator.allocate()).toBe(MAX_FLOW_ID);
    expect(allocator.allocate()).toBe(3);
  });
});
