import { EventEmitter } from 'node:events';
import { segmentNameOf } from '@sluice/protocol';
import type { ClientContext } from '../client-context.js';
import { backoffDelay } from '../connection/backoff.js';
import { assertStreamName } from '../option-checks.js';
import { isRetriable } from '../route/retriable.js';
import { activeSegments, readableSegments, segmentRecord, type StreamLayout } from '../stream/stream-layout.js';
import { MIN_SEGMENT_BUFFER, resolveReaderSettings, type ReaderOptions, type ReaderSettings, type Truncation } from './reader-options.js';
import type { ReadEvent } from './read-event.js';
import { finishedEntries, positionState, type ReaderPosition } from './reader-position.js';
import { offsetsCopier, type OffsetsCopier } from './offsets-copier.js';
import { ReadySegments } from './ready-segments.js';
import { SegmentReader, type SegmentReaderHost } from './segment-reader.js';

export type { ReadEvent };

/**
 * Reads every segment of a stream: `for await (const event of reader)`. Order is kept within a
 * segment; segments are interleaved a read's worth of events at a time. Across scalings, a successor
 * is read only after every predecessor overlapping its key range was read to the end
 * (stream-layout.ts), so each routing key's events come in the order they were written. Each segment reads ahead
 * within its share of maxBufferedBytes and waits at the tail with the server's long-poll read, so a
 * new event reaches a waiting reader in about one round trip. The iteration ends when every segment is
 * sealed and read and none has a successor (the stream was sealed), or when the reader is closed (`close()`, or `break` out of the loop); it throws a
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
  #layout: StreamLayout | null = null;
  /** Segment readers by segment number: the segments being read now. */
  #segments = new Map<number, SegmentReader>();
  /** Segments read to the end. */
  #finished = new Set<number>();
  /** Where to start segments not opened yet (from a saved position). */
  #startOffsets = new Map<number, number>();
  /** The position: reading segments' delivered offsets, plus the finished ones it must list (-1). */
  #offsets: Record<string, number> = {};
  /** Copies #offsets for each event's position; null when its keys changed since it was made. */
  #copyOffsets: OffsetsCopier | null = null;
  #refreshing: Promise<void> | null = null;
  #retryRefresh: NodeJS.Timeout | null = null;
  #refreshAttempts = 0;
  readonly #ready = new ReadySegments();
  #failure: unknown = null;
  #closed = false;

  constructor(context: ClientContext, stream: string, options?: ReaderOptions) {
    super();
    assertStreamName(stream);
    this.stream = stream;
    this.#context = context;
    this.#settings = resolveReaderSettings(options, stream);
    if (typeof this.#settings.from === 'object') this.#offsets = { ...this.#settings.from.offsets };
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
    return { stream: this.stream, offsets: { ...this.#offsets } };
  }

  /** Bytes read ahead and not yet delivered, over all segments. */
  get bufferedBytes(): number {
    let bytes = 0;
    for (const segment of this.#segments.values()) bytes += segment.bufferedBytes;
    return bytes;
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
      if (this.#isAtEnd()) {
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
    for (const segment of this.#segments.values()) segment.close();
    if (this.#retryRefresh !== null) clearTimeout(this.#retryRefresh);
    this.#ready.clear();
    this.#context.untrack(this);
    this.#ready.wake();
  }

  async #start(): Promise<void> {
    const context = this.#context;
    const layout = await context.streams.refreshLayout(this.stream);
    const from = this.#settings.from;
    if (from === 'tail') {
      const active = activeSegments(layout);
      const infos = await Promise.all(active.map((segment) => context.segments.getSegmentInfo(segmentNameOf(this.stream, segment.number))));
      for (const segment of layout.segments) if (segment.sealedEpoch !== null) this.#finished.add(segment.number);
      active.forEach((segment, index) => this.#startOffsets.set(segment.number, infos[index]!.length));
    } else if (from !== 'head') {
      const { finished, reading } = positionState(layout, from);
      this.#finished = finished;
      this.#startOffsets = reading;
    }
    if (this.#closed) return;
    this.#layout = layout;
    this.#offsets = {};
    this.#copyOffsets = null;
    this.#openReadable();
  }

  /** Opens a segment reader for each segment the finished ones let us read (stream-layout.ts). */
  #openReadable(): void {
    const layout = this.#layout!;
    const readable = readableSegments(layout, this.#finished).filter((segment) => !this.#segments.has(segment.number));
    if (readable.length === 0) return;
    const bufferBytes = Math.max(MIN_SEGMENT_BUFFER, Math.floor(this.#settings.maxBufferedBytes / activeSegments(layout).length));
    const host: SegmentReaderHost = {
      context: this.#context,
      tailWaitMs: this.#settings.tailWaitMs,
      copyEventData: this.#settings.copyEventData,
      wake: (segment) => this.#wake(segment),
      truncated: (truncation) => this.#truncated(truncation),
    };
    // A reader from 'head' wants the oldest readable event: a truncation where it starts is no news.
    // Anywhere later (a successor, a saved position) truncation skipped events it had not read.
    const silentAt = this.#settings.from === 'head' && this.#finished.size === 0 ? 0 : null;
    for (const { number } of readable) {
      const offset = this.#startOffsets.get(number) ?? 0;
      this.#startOffsets.delete(number);
      const segment = new SegmentReader(segmentNameOf(this.stream, number), number, offset, bufferBytes, host, silentAt);
      this.#segments.set(number, segment);
      this.#offsets[number] = offset;
      segment.start();
    }
    this.#listFinished();
  }

  /** A segment was read to the end: its successors may open, or the layout has news. */
  #segmentEnded(segment: SegmentReader): void {
    if (this.#segments.get(segment.index) !== segment) return;
    segment.close();
    this.#segments.delete(segment.index);
    this.#finished.add(segment.index);
    delete this.#offsets[segment.index];
    const record = segmentRecord(this.#layout!, segment.index);
    if (record?.sealedEpoch === null) this.#refresh();
    else this.#openReadable();
    this.#listFinished();
    this.#ready.wake();
  }

  /**
   * Reads the layout again after an active segment ended: a scale sealed it (its successors are in the
   * new layout, a half-done scale is carried out on the way), or the stream was sealed.
   */
  #refresh(): void {
    this.#retryRefresh = null;
    if (this.#closed) return;
    if (this.#refreshing !== null) {
      void this.#refreshing.then(() => this.#refresh());
      return;
    }
    this.#refreshing = this.#context.streams
      .refreshLayout(this.stream)
      .then(
        (layout) => {
          this.#refreshAttempts = 0;
          if (this.#closed) return;
          this.#layout = layout;
          this.#openReadable();
        },
        (error: unknown) => {
          if (!isRetriable(error)) this.#failure ??= error;
          else this.#retryRefresh = setTimeout(() => this.#refresh(), backoffDelay(this.#refreshAttempts++));
        },
      )
      .finally(() => {
        this.#refreshing = null;
        this.#ready.wake();
      });
  }

  /** Keeps the finished segments the position must name (those no listed segment continues). */
  #listFinished(): void {
    for (const key of Object.keys(this.#offsets)) if (this.#offsets[key] === -1) delete this.#offsets[key];
    Object.assign(this.#offsets, finishedEntries(this.#layout!, this.#finished, this.#segments.keys()));
    // Runs after every change of the reading segments (#openReadable, #segmentEnded): the keys may differ.
    this.#copyOffsets = null;
  }

  /** Every segment there is was read to the end, and the layout has nothing after them. */
  #isAtEnd(): boolean {
    return (
      this.#layout !== null &&
      this.#segments.size === 0 &&
      this.#refreshing === null &&
      this.#retryRefresh === null &&
      readableSegments(this.#layout, this.#finished).length === 0
    );
  }

  #takeNext(): ReadEvent | null {
    const event = this.#ready.take(this.#moved);
    if (event === null) return null;
    this.#copyOffsets ??= offsetsCopier(Object.keys(this.#offsets));
    event.position = { stream: this.stream, offsets: this.#copyOffsets(this.#offsets) };
    return event;
  }

  /** ReadySegments.take tells of each segment it moved (one function for the reader's life, not one per event). */
  readonly #moved = (segment: SegmentReader): void => {
    if (this.#segments.get(segment.index) === segment) this.#offsets[segment.index] = segment.deliveredOffset;
    if (segment.ended) this.#segmentEnded(segment);
  };

  #wake(segment: SegmentReader): void {
    if (this.#closed) return;
    if (segment.error !== null) this.#failure ??= segment.error;
    this.#ready.add(segment);
    if (segment.ended && !segment.queued) this.#segmentEnded(segment);
  }

  #truncated(truncation: Truncation): void {
    this.#settings.onTruncated?.(truncation);
    this.emit('truncated', truncation);
  }
}

