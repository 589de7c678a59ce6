import type { LazyReadEvent } from './read-event.js';
import type { SegmentReader } from './segment-reader.js';

/**
 * The segment readers that have buffered events, in the order a reader serves them: one read's worth
 * of events from a segment, then the next segment's turn, so a busy segment cannot starve the others.
 * A loop with nothing to take waits here until a segment has news.
 */
export class ReadySegments {
  #ready: SegmentReader[] = [];
  #waiters: Array<() => void> = [];

  /** Queues segment if it has something to deliver and is not queued yet; wakes a waiting loop. */
  add(segment: SegmentReader): void {
    if (segment.hasItems && !segment.queued) {
      segment.queued = true;
      this.#ready.push(segment);
    }
    this.wake();
  }

  /** Resolves at the next add() or wake(). */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Wakes waiting loops (to see new events, an end, a failure or a close). */
  wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Takes segment out of the turn (it was closed or handed to another reader). */
  remove(segment: SegmentReader): void {
    const index = this.#ready.indexOf(segment);
    if (index >= 0) this.#ready.splice(index, 1);
    segment.queued = false;
  }

  clear(): void {
    for (const segment of this.#ready) segment.queued = false;
    this.#ready = [];
  }

  /**
   * The next event, or null when nothing is buffered. `moved` is told of every segment whose delivered
   * offset moved (also past a truncation gap that had no event); the event comes from the last one.
   */
  take(moved: (segment: SegmentReader) => void): LazyReadEvent | null {
    while (this.#ready.length > 0) {
      const segment = this.#ready[0]!;
      const event = segment.take();
      moved(segment);
      if (event === null || !segment.hasItems) {
        this.#ready.shift();
        segment.queued = false;
      } else if (segment.chunkDone && this.#ready.length > 1) {
        this.#ready.push(this.#ready.shift()!);
      }
      if (event !== null) return event;
    }
    return null;
  }
}
