import { setImmediate as afterIo } from 'node:timers/promises';
import type { LazyReadEvent } from './read-event.js';
import type { SegmentReader } from './segment-reader.js';

/**
 * How long a loop may take buffered events without the event loop getting a turn. A for-await loop
 * over buffered events runs as one chain of microtasks: with 16 MiB of 100-byte events buffered that
 * was 250-500 ms in which no socket of the process was read (a writer's acks, other readers' replies,
 * timers). The clock is read where a read's events end and every CHECK_EVERY events (a 1 MiB read
 * holds ~9000 events of 100 bytes), not per event.
 */
const GIVE_WAY_AFTER_MS = 1;
const CHECK_EVERY = 64;

/**
 * The segment readers that have buffered events, in the order a reader serves them: one read's worth
 * of events from a segment, then the next segment's turn, so a busy segment cannot starve the others.
 * A loop with nothing to take waits here until a segment has news.
 */
export class ReadySegments {
  #ready: SegmentReader[] = [];
  #waiters: Array<() => void> = [];
  /** When the loop started taking events without the event loop having had a turn since; null: not taking. */
  #takingSince: number | null = null;
  /** Events to take before the clock is read again. */
  #untilCheck = CHECK_EVERY;
  /** The loop has taken events for GIVE_WAY_AFTER_MS: it should giveWay() before taking more. */
  mustGiveWay = false;

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
    this.#takingSince = null;
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves after the event loop had a turn (pending I/O and timers ran). */
  async giveWay(): Promise<void> {
    this.mustGiveWay = false;
    this.#takingSince = null;
    await afterIo();
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
    this.#takingSince ??= performance.now();
    while (this.#ready.length > 0) {
      const segment = this.#ready[0]!;
      const event = segment.take();
      moved(segment);
      if (segment.chunkDone || --this.#untilCheck === 0) {
        this.#untilCheck = CHECK_EVERY;
        this.mustGiveWay = performance.now() - this.#takingSince >= GIVE_WAY_AFTER_MS;
      }
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
