import { EventEmitter } from 'node:events';
import { segmentNameOf } from '@sluice/protocol';
import type { ClientContext } from '../client-context.js';
import { assertStreamName } from '../option-checks.js';
import { MIN_SEGMENT_BUFFER, resolveReaderSettings, type ReaderOptions, type ReaderSettings, type Truncation } from './reader-options.js';
import { LazyReadEvent, type ReadEvent } from './read-event.js';
import { checkPosition, type ReaderPosition } from './reader-position.js';
import { ReadySegments } from './ready-segments.js';
import { SegmentReader, type SegmentEvent, type SegmentReaderHost } from './segment-reader.js';

export type { ReadEvent };

/**
 * Reads every segment of a stream: `for await (const event of reader)`. Order is kept within a
 * segment; segments are interleaved a read's worth of events at a time. Each segment reads ahead
 * within its share of maxBufferedBytes and waits at the tail with the server's long-poll read, so a
 * new event reaches a waiting reader in about one round trip. The iteration ends when every segment is
 * sealed and read, or when the reader is closed (`close()`, or `break` out of the loop); it throws a
 * typed error when a segment cannot be read (NoSuchSegmentError, AuthTokenCheckFailedError, …), after
 * closing the reader. Connection losses and redirects are retried without end.
 *
 * Emits 'truncated' (Truncation) when truncation skipped events.
 */
export class EventReader extends EventEmitter implements AsyncIterableIterator<ReadEvent> {
  readonly stream: string;
  readonly #context: ClientContext;
  readonly #settings: ReaderSettings;
  readonly #started: Promise<void>;
  #isStarted = false;
  #segments: SegmentReader[] = [];
  #offsets: number[] = [];
  readonly #ready = new ReadySegments();
  #failure: unknown = null;
  #closed = false;

  constructor(context: ClientContext, stream: string, options?: ReaderOptions) {
    super();
    assertStreamName(stream);
    this.stream = stream;
    this.#context = context;
    this.#settings = resolveReaderSettings(options, stream);
    if (typeof this.#settings.from === 'object') this.#offsets = [...this.#settings.from.offsets];
    context.track(this);
    // Starting now (not at the first next()) makes 'tail' mean "events written after createReader";
    // this client's writes to the stream wait for the lookup (TailLookups), so none races it.
    const starting = this.#start();
    if (this.#settings.from === 'tail') context.tails.hold(stream, starting);
    this.#started = starting.then(
      () => {
        this.#isStarted = true;
      },
      (error: unknown) => {
        this.#isStarted = true;
        this.#failure ??= error;
      },
    );
  }

  /** The position after the last delivered event (all segments), as plain JSON. */
  get position(): ReaderPosition {
    return { stream: this.stream, offsets: [...this.#offsets] };
  }

  /** Bytes read ahead and not yet delivered, over all segments. */
  get bufferedBytes(): number {
    return this.#segments.reduce((sum, segment) => sum + segment.bufferedBytes, 0);
  }

  get closed(): boolean {
    return this.#closed;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ReadEvent> {
    return this;
  }

  async next(): Promise<IteratorResult<ReadEvent, undefined>> {
    if (!this.#isStarted) await this.#started;
    for (;;) {
      if (this.#closed) return { done: true, value: undefined };
      if (this.#failure !== null) {
        const failure = this.#failure;
        this.close();
        throw failure;
      }
      const event = this.#takeNext();
      if (event !== null) return { done: false, value: event };
      if (this.#segments.length > 0 && this.#segments.every((segment) => segment.ended)) {
        this.close();
        return { done: true, value: undefined };
      }
      await this.#ready.wait();
    }
  }

  /** Called by `break` in a for-await loop: closes the reader. */
  async return(): Promise<IteratorResult<ReadEvent, undefined>> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Stops reading and frees the flows (never the shared connections); a waiting next() ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const segment of this.#segments) segment.close();
    this.#ready.clear();
    this.#context.untrack(this);
    this.#ready.wake();
  }

  async #start(): Promise<void> {
    const context = this.#context;
    const count = await context.streams.segmentCount(this.stream);
    const names = Array.from({ length: count }, (_, index) => segmentNameOf(this.stream, index));
    const from = this.#settings.from;
    let offsets: number[];
    if (from === 'head') offsets = names.map(() => 0);
    else if (from === 'tail') offsets = (await Promise.all(names.map((name) => context.segments.getSegmentInfo(name)))).map((info) => info.length);
    else offsets = checkPosition(from, this.stream, count).offsets;
    if (this.#closed) return;
    this.#offsets = offsets;
    const bufferBytes = Math.max(MIN_SEGMENT_BUFFER, Math.floor(this.#settings.maxBufferedBytes / count));
    const host: SegmentReaderHost = {
      context,
      tailWaitMs: this.#settings.tailWaitMs,
      wake: (segment) => this.#wake(segment),
      truncated: (truncation) => this.#truncated(truncation),
    };
    this.#segments = names.map(
      (name, index) => new SegmentReader(name, index, offsets[index]!, bufferBytes, host, from === 'head' ? 0 : null),
    );
    for (const segment of this.#segments) segment.start();
  }

  #takeNext(): ReadEvent | null {
    const next = this.#ready.take((segment) => {
      this.#offsets[segment.index] = segment.deliveredOffset;
    });
    if (next === null) return null;
    return readEventOf(next.segment, next.event, { stream: this.stream, offsets: this.#offsets.slice() });
  }

  #wake(segment: SegmentReader): void {
    if (this.#closed) return;
    if (segment.error !== null) this.#failure ??= segment.error;
    this.#ready.add(segment);
  }

  #truncated(truncation: Truncation): void {
    this.#settings.onTruncated?.(truncation);
    this.emit('truncated', truncation);
  }
}

/** The event a reader hands to its loop. */
export function readEventOf(segment: SegmentReader, event: SegmentEvent, position: ReaderPosition): ReadEvent {
  return new LazyReadEvent(event.envelope, segment.segment, event.offset, position);
}
