import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FrameTimeout } from './frame-timeout.js';

describe('FrameTimeout', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once a partial frame has waited its timeout while the connection is read', () => {
    const overdue: number[] = [];
    const timeout = new FrameTimeout(1_000, () => true, (age) => overdue.push(age));
    timeout.track(true, false, true);
    vi.advanceTimersByTime(999);
    expect(overdue).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(overdue).toEqual([1_000]);
  });

  it('restarts the clock for a new partial frame and stops it once no frame is partial', () => {
    const overdue: number[] = [];
    const timeout = new FrameTimeout(1_000, () => true, (age) => overdue.push(age));
    timeout.track(true, false, true);
    vi.advanceTimersByTime(600);
    timeout.track(true, true, true); // a frame completed and the next one started
    vi.advanceTimersByTime(600);
    expect(overdue).toEqual([]);
    timeout.track(false, true, true);
    vi.advanceTimersByTime(5_000);
    expect(overdue).toEqual([]);
  });

  it('does not start while reading is paused, nor fire when nothing waits any more', () => {
    const overdue: number[] = [];
    let waiting = true;
    const timeout = new FrameTimeout(1_000, () => waiting, (age) => overdue.push(age));
    timeout.track(true, false, false);
    vi.advanceTimersByTime(5_000);
    expect(overdue).toEqual([]);
    timeout.start();
    waiting = false;
    vi.advanceTimersByTime(5_000);
    expect(overdue).toEqual([]);
  });
});
