import { describe, expect, it } from 'vitest';

import { ReplyBudget } from './reply-budget.js';

function budget(maxBytes: number, outgoing = { bytes: 0 }): { budget: ReplyBudget; abort: AbortController; outgoing: { bytes: number } } {
  const abort = new AbortController();
  return { budget: new ReplyBudget(maxBytes, () => outgoing.bytes, abort.signal), abort, outgoing };
}

/** Which of the promises have settled after the microtasks run. */
async function settled(promises: Array<Promise<void>>): Promise<boolean[]> {
  const states = promises.map(() => false);
  promises.forEach((promise, index) => promise.then(() => (states[index] = true), () => (states[index] = true)));
  await new Promise((resolve) => setImmediate(resolve));
  return states;
}

describe('ReplyBudget', () => {
  it('grants reads while they fit, then in arrival order as room comes back', async () => {
    const { budget: replies } = budget(100);
    const reads = [replies.acquire(60), replies.acquire(30), replies.acquire(50), replies.acquire(5)];
    // The 5-byte read would fit, but waits behind the 50-byte one: no overtaking.
    expect(await settled(reads)).toEqual([true, true, false, false]);
    expect(replies.reservedBytes).toBe(90);
    replies.release(60);
    expect(await settled(reads)).toEqual([true, true, true, true]);
    expect(replies.reservedBytes).toBe(85);
    expect(replies.waitingReads).toBe(0);
  });

  it('tryAcquire reserves only what acquire would grant at once, and never queues', async () => {
    const { budget: replies, abort, outgoing } = budget(100);
    expect(replies.tryAcquire(60)).toBe(true);
    expect(replies.tryAcquire(50)).toBe(false);
    expect(replies.reservedBytes).toBe(60);
    const waiting = replies.acquire(50);
    expect(replies.tryAcquire(5)).toBe(false); // fits, but would overtake the waiting read
    replies.release(60);
    expect(await settled([waiting])).toEqual([true]);
    replies.release(50);
    outgoing.bytes = 101;
    expect(replies.tryAcquire(1)).toBe(false);
    outgoing.bytes = 0;
    expect(replies.tryAcquire(1000)).toBe(true); // one read always fits when nothing else is reserved
    replies.release(1000);
    abort.abort();
    expect(replies.tryAcquire(1)).toBe(false);
    expect(replies.reservedBytes).toBe(0);
    expect(replies.waitingReads).toBe(0);
  });

  it('always lets one read run, however large, when nothing else is reserved', async () => {
    const { budget: replies } = budget(100);
    const reads = [replies.acquire(1_000), replies.acquire(1)];
    expect(await settled(reads)).toEqual([true, false]);
    replies.release(1_000);
    expect(await settled(reads)).toEqual([true, true]);
  });

  it('gives no room while the replies not yet taken by the peer pass the bound', async () => {
    const { budget: replies, outgoing } = budget(100, { bytes: 101 });
    const read = replies.acquire(10);
    expect(await settled([read])).toEqual([false]);
    outgoing.bytes = 0;
    replies.pump(); // the connection calls this when its socket drains
    expect(await settled([read])).toEqual([true]);
  });

  it('refuses waiting reads when the connection closes or drains, and every later one', async () => {
    const { budget: replies, abort } = budget(100);
    await replies.acquire(100);
    const waiting = replies.acquire(10);
    abort.abort(new Error('closing'));
    await expect(waiting).rejects.toThrow('closing');
    await expect(replies.acquire(1)).rejects.toThrow('closing');
    expect(replies.waitingReads).toBe(0);
  });
});
