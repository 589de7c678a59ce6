import { describe, expect, it } from 'vitest';

import { PendingRequests } from './pending-requests.js';

describe('PendingRequests', () => {
  it('counts each request and its bytes until it is answered, once', () => {
    const pending = new PendingRequests();
    const a = pending.open(1, 0, 100);
    const b = pending.open(2, 0, 50);
    expect(pending.size).toBe(2);
    const bytes = pending.unackedBytes;
    expect(bytes).toBeGreaterThan(150); // frames plus each request's own memory
    expect(pending.settle(a)).toBe(true);
    expect(pending.settle(a)).toBe(false);
    expect(pending.size).toBe(1);
    expect(pending.settle(b)).toBe(true);
    expect(pending.unackedBytes).toBe(0);
  });

  it('resolves the wait for answers when the last request is answered, or at once when none is pending', async () => {
    const pending = new PendingRequests();
    await pending.allAnswered();
    const request = pending.open(1, 0, 10);
    let done = false;
    const all = pending.allAnswered().then(() => {
      done = true;
    });
    pending.notifyIfAllAnswered();
    await Promise.resolve();
    expect(done).toBe(false);
    pending.settle(request);
    pending.notifyIfAllAnswered();
    await all;
    expect(done).toBe(true);
  });
});
