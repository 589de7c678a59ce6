import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LazyReadEvent } from './read-event.js';
import { ReadySegments } from './ready-segments.js';
import type { SegmentReader } from './segment-reader.js';

/** A segment reader with `reads` buffered reads of `perRead` events each. */
function bufferedSegment(reads: number, perRead: number): SegmentReader {
  let left = reads * perRead;
  const segment = {
    queued: false,
    chunkDone: false,
    get hasItems() {
      return left > 0;
    },
    take(): LazyReadEvent | null {
      if (left === 0) return null;
      left -= 1;
      segment.chunkDone = left % perRead === 0;
      return {} as LazyReadEvent;
    },
  };
  return segment as unknown as SegmentReader;
}

let clock = 0;
function useFakeClock(): void {
  clock = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => clock);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('ReadySegments: a loop over buffered events gives the event loop a turn', () => {
  it('asks for a turn where a read ends once the loop has taken events for a millisecond', () => {
    useFakeClock();
    const ready = new ReadySegments();
    ready.add(bufferedSegment(3, 10));
    const moved = (): void => {};
    for (let i = 0; i < 10; i++) ready.take(moved); // the first read, within the millisecond
    expect(ready.mustGiveWay).toBe(false);
    clock = 1.5;
    for (let i = 0; i < 9; i++) ready.take(moved);
    expect(ready.mustGiveWay).toBe(false); // not at the end of a read yet
    ready.take(moved);
    expect(ready.mustGiveWay).toBe(true);
  });

  it('reads the clock every 64 events within one large read, too', () => {
    useFakeClock();
    const ready = new ReadySegments();
    ready.add(bufferedSegment(1, 1000));
    ready.take(() => {});
    clock = 2;
    for (let i = 1; i < 63; i++) ready.take(() => {});
    expect(ready.mustGiveWay).toBe(false);
    ready.take(() => {});
    expect(ready.mustGiveWay).toBe(true);
  });

  it('starts counting again after a turn or a wait', async () => {
    useFakeClock();
    const ready = new ReadySegments();
    ready.add(bufferedSegment(4, 1));
    ready.take(() => {});
    clock = 5;
    ready.take(() => {});
    expect(ready.mustGiveWay).toBe(true);
    await ready.giveWay();
    expect(ready.mustGiveWay).toBe(false);
    ready.take(() => {});
    expect(ready.mustGiveWay).toBe(false); // a new run started at 5
    void ready.wait();
    clock = 10;
    ready.take(() => {});
    expect(ready.mustGiveWay).toBe(false); // and again after waiting
  });

  it('giveWay resolves only after callbacks already queued for the event loop ran', async () => {
    const ready = new ReadySegments();
    let ran = false;
    setImmediate(() => (ran = true));
    await ready.giveWay();
    expect(ran).toBe(true);
  });
});
