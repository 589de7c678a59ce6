import {
  EVENT_HEADER_SIZE,
  MAX_ROUTING_KEY_BYTES,
  envelopedSize,
  envelopesOf,
  segmentNameOf,
  utf8Length,
  type OutgoingEvent,
} from '@sluice/protocol';
import type { ClientContext } from '../client-context.js';
import { ClientClosedError, EventTooLargeError, InvalidOptionError, SegmentIsSealedError } from '../errors.js';
import { assertStreamName } from '../option-checks.js';
import { retryWithin } from '../route/retry-within.js';
import { activeSegments, KeyRouter } from '../stream/stream-layout.js';
import type { PendingBlock } from './pending-block.js';
import { writeHeaders, type WriteOptions } from './write-headers.js';
import { newWriterCounters, SegmentWriter, type SegmentWriterHost, type WriterCounters } from './segment-writer.js';
import { resolveWriterSettings, type WriterOptions, type WriterSettings } from './writer-options.js';

export interface WriterStats extends WriterCounters {
  writerId: string;
  /** Segment writers (one flow each) this writer has open. */
  segmentWriters: number;
  /** Bytes written and not yet acknowledged (events framed: length, envelope, data). */
  inflightBytes: number;
  /** The most inflightBytes ever reached; never above maxInflightBytes unless one event alone is larger. */
  peakInflightBytes: number;
  maxInflightBytes: number;
  /** Writes waiting for room under maxInflightBytes (or for the stream's segment count). */
  queuedWrites: number;
}

/** How a WriterHost reaches its writer's private #release and #retire (set in EventWriter's static block). */
let releaseBytes: (writer: EventWriter, bytes: number) => void;
let retireSegmentWriter: (writer: EventWriter, segmentWriter: SegmentWriter) => void;
let segmentSealed: (writer: EventWriter, segmentWriter: SegmentWriter) => void;

/** What an EventWriter's segment writers share: a few fields and prototype methods, no closures. */
class WriterHost implements SegmentWriterHost {
  constructor(
    readonly context: ClientContext,
    readonly settings: WriterSettings,
    readonly counters: WriterCounters,
    private readonly writer: EventWriter,
  ) {}

  release(bytes: number): void {
    releaseBytes(this.writer, bytes);
  }

  retire(segmentWriter: SegmentWriter): void {
    retireSegmentWriter(this.writer, segmentWriter);
  }

  sealed(segmentWriter: SegmentWriter): void {
    segmentSealed(this.writer, segmentWriter);
  }
}

interface QueuedWrite {
  event: OutgoingEvent;
  bytes: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Writes events to a stream: `write(routingKey, data)` resolves once the event is durable. Events
 * with one routing key go to one segment, in the order written. Each segment written gets its own
 * SegmentWriter (one flow, batching, exactly-once resends); this class routes events to them and
 * bounds the bytes in flight: a write waits in a FIFO for room, so no write overtakes an earlier one.
 *
 * Scaling: an append that finds its segment sealed holds every new write back, reads the stream's
 * next layout, and has each segment writer of a segment no longer active hand over its pending events
 * (those the sealed segment does not hold); they go to the successors by key, in order, before any
 * write held back. So a key's events never overtake each other across the move.
 */
export class EventWriter {
  static {
    releaseBytes = (writer, bytes) => writer.#release(bytes);
    retireSegmentWriter = (writer, segmentWriter) => writer.#retire(segmentWriter);
    segmentSealed = (writer, segmentWriter) => writer.#sealed(segmentWriter);
  }

  readonly stream: string;
  readonly #context: ClientContext;
  readonly #settings: WriterSettings;
  readonly #counters = newWriterCounters();
  /**
   * The segment writer of the first segment written, and of the others (a map made when a second
   * segment is written): most writers write one segment, and an idle one should not carry a map.
   */
  #firstSegmentWriter: SegmentWriter | null = null;
  #moreSegmentWriters: Map<number, SegmentWriter> | null = null;
  /** Per segment number: how many segment writers failed there (made on the first failure); a replacement gets a new writer id. */
  #replacements: Map<number, number> | null = null;
  readonly #host: SegmentWriterHost;
  /** Routes keys to segment numbers; null until the layout is known and while moving to a new one. */
  #router: KeyRouter | null = null;
  #routing = false;
  /** Segment writers of sealed segments, waiting to hand their pending events over. */
  #sealedWriters: SegmentWriter[] = [];
  /** The move to a new layout under way (it never rejects). */
  #move: Promise<void> | null = null;
  #moveAgain = false;
  /** Handed-over blocks whose events are on their way to the successors. */
  readonly #inTransit = new Set<Promise<void>>();
  #queue: QueuedWrite[] = [];
  #queueHead = 0;
  #draining = false;
  #awaitingTail = false;
  #inflightBytes = 0;
  #peakInflightBytes = 0;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(context: ClientContext, stream: string, options?: WriterOptions) {
    assertStreamName(stream);
    this.stream = stream;
    this.#context = context;
    this.#settings = resolveWriterSettings(options, context.settings.retryWindowMs);
    this.#host = new WriterHost(context, this.#settings, this.#counters, this);
    context.track(this);
  }

  get writerId(): string {
    return this.#settings.writerId;
  }

  /**
   * Appends data, with routingKey, the time of this call and options.headers (string names and values)
   * as its envelope, to the segment of routingKey; resolves when it is durable. Rejects at once with
   * EventTooLargeError for an event (envelope included) over maxEventSize, HeadersTooLargeError or
   * InvalidOptionError for headers or a key out of bounds; later with SegmentIsSealedError,
   * NoSuchStreamError / NoSuchSegmentError, AuthTokenCheckFailedError, or RetryWindowExceededError
   * when the segment's owner stayed unreachable for the retry window. A Uint8Array is copied when the
   * write is admitted under maxInflightBytes: do not change it before the promise settles.
   */
  write(routingKey: string, data: Uint8Array | string, options?: WriteOptions): Promise<void> {
    const timestamp = Date.now();
    if (this.#closed) return Promise.reject(new ClientClosedError('writer'));
    if (typeof routingKey !== 'string') return Promise.reject(new InvalidOptionError('routingKey', 'must be a string'));
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (!(payload instanceof Uint8Array)) {
      return Promise.reject(new InvalidOptionError('data', 'must be a Uint8Array (a Buffer) or a string'));
    }
    let headers: Uint8Array | null = null;
    if (options !== undefined || this.#settings.traceContext !== null) {
      try {
        headers = writeHeaders(options, this.#settings.traceContext);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const keyBytes = utf8Length(routingKey);
    if (keyBytes > MAX_ROUTING_KEY_BYTES) {
      return Promise.reject(new InvalidOptionError('routingKey', `is ${keyBytes} bytes in UTF-8; the limit is ${MAX_ROUTING_KEY_BYTES}`));
    }
    const size = envelopedSize(keyBytes, headers, payload);
    if (size > this.#settings.maxEventSize) {
      return Promise.reject(new EventTooLargeError(size, this.#settings.maxEventSize));
    }
    const bytes = size + EVENT_HEADER_SIZE;
    // Admitted at once, the event goes to its block as fields: no object per write on this path.
    if (this.#queueHead === this.#queue.length && this.#router !== null && this.#hasRoom(bytes) && !this.#tailLookupPending()) {
      return this.#admit(routingKey, keyBytes, timestamp, headers, payload, bytes);
    }
    return this.#enqueue({ routingKey, routingKeyBytes: keyBytes, timestamp, headers, data: payload, size }, bytes);
  }

  /** Sends what is batched now; resolves when every write made before the call is durable. */
  async flush(): Promise<void> {
    // A move to a new layout hands blocks over; once it is done, they are all in transit or written.
    while (this.#move !== null) await this.#move;
    const pending: Promise<void>[] = [...this.#inTransit];
    for (let index = this.#queueHead; index < this.#queue.length; index++) pending.push(this.#queue[index]!.promise);
    for (const writer of this.#segmentWriters()) pending.push(...writer.flushPending());
    const results = await Promise.allSettled(pending);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  }

  /** Flushes, then frees this writer's flows (never the shared connections). Later writes reject. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  stats(): WriterStats {
    return {
      ...this.#counters,
      writerId: this.#settings.writerId,
      segmentWriters: this.#segmentWriters().length,
      inflightBytes: this.#inflightBytes,
      peakInflightBytes: this.#peakInflightBytes,
      maxInflightBytes: this.#settings.maxInflightBytes,
      queuedWrites: this.#queue.length - this.#queueHead,
    };
  }

  async #close(): Promise<void> {
    this.#closed = true;
    try {
      await this.flush();
    } catch {
      // Each failed write already reported its error through its own promise.
    }
    const writers = this.#segmentWriters();
    this.#firstSegmentWriter = null;
    this.#moreSegmentWriters = null;
    await Promise.all(writers.map((writer) => writer.close()));
    this.#context.untrack(this);
  }

  #hasRoom(bytes: number): boolean {
    // An event larger than the whole budget still goes, alone: the bound can't starve it.
    return this.#inflightBytes === 0 || this.#inflightBytes + bytes <= this.#settings.maxInflightBytes;
  }

  #admit(routingKey: string, keyBytes: number, timestamp: number, headers: Uint8Array | null, data: Uint8Array, bytes: number): Promise<void> {
    this.#inflightBytes += bytes;
    if (this.#inflightBytes > this.#peakInflightBytes) this.#peakInflightBytes = this.#inflightBytes;
    return this.#segmentWriterFor(routingKey).append(routingKey, keyBytes, timestamp, headers, data);
  }

  #enqueue(event: OutgoingEvent, bytes: number): Promise<void> {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((resolveWrite, rejectWrite) => {
      resolve = resolveWrite;
      reject = rejectWrite;
    });
    this.#queue.push({ event, bytes, promise, resolve, reject });
    if (this.#router === null && this.#move === null) this.#resolveRouting();
    return promise;
  }

  /** A reader of this stream is looking its tail up: writes wait (queued, in order) until it knows it. */
  #tailLookupPending(): boolean {
    const lookup = this.#context.tails.pending(this.stream);
    if (lookup === null) return false;
    if (!this.#awaitingTail) {
      this.#awaitingTail = true;
      void lookup.then(() => {
        this.#awaitingTail = false;
        this.#drain();
      });
    }
    return true;
  }

  /** Admits queued writes, in order, while there is room. */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queueHead < this.#queue.length && this.#router !== null && !this.#tailLookupPending()) {
        const next = this.#queue[this.#queueHead]!;
        if (!this.#hasRoom(next.bytes)) break;
        this.#queue[this.#queueHead] = undefined as unknown as QueuedWrite;
        this.#queueHead += 1;
        const { event } = next;
        this.#admit(event.routingKey, event.routingKeyBytes, event.timestamp, event.headers, event.data, next.bytes).then(next.resolve, next.reject);
      }
      this.#compactQueue();
    } finally {
      this.#draining = false;
    }
  }

  #compactQueue(): void {
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #resolveRouting(): void {
    if (this.#routing) return;
    this.#routing = true;
    this.#context.streams.layout(this.stream).then(
      (layout) => {
        this.#routing = false;
        if (this.#move !== null) return;
        this.#router = new KeyRouter(layout);
        this.#drain();
      },
      (error: unknown) => {
        // Nothing was admitted without a layout: every queued write waited for it. A later write
        // tries again (the stream may be created meanwhile).
        this.#routing = false;
        this.#rejectQueued(error);
      },
    );
  }

  #rejectQueued(error: unknown): void {
    const queued = this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    for (const write of queued) write.reject(error);
  }

  #segmentWriterFor(routingKey: string): SegmentWriter {
    const number = this.#router!.segmentFor(routingKey);
    const first = this.#firstSegmentWriter;
    let writer = first !== null && first.index === number ? first : this.#moreSegmentWriters?.get(number);
    if (writer === undefined) {
      const replacements = this.#replacements?.get(number) ?? 0;
      // A replacement must not share the failed writer's id: its blocks may still reach the server.
      const writerId = replacements === 0 ? this.#settings.writerId : `${this.#settings.writerId}.${replacements}`;
      writer = new SegmentWriter(segmentNameOf(this.stream, number), number, writerId, this.#host);
      if (first === null) this.#firstSegmentWriter = writer;
      else (this.#moreSegmentWriters ??= new Map()).set(number, writer);
    }
    return writer;
  }

  /** An append met a sealed segment: hold new writes back and move to the stream's next layout. */
  #sealed(writer: SegmentWriter): void {
    if (!this.#detach(writer)) return;
    this.#sealedWriters.push(writer);
    this.#router = null;
    this.#moveToNextLayout();
  }

  #moveToNextLayout(): void {
    if (this.#move !== null) {
      this.#moveAgain = true;
      return;
    }
    this.#move = this.#handOverSealed()
      .catch((error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const writer of this.#sealedWriters.splice(0)) writer.abandon(failure);
        this.#rejectQueued(failure);
      })
      .finally(() => {
        this.#move = null;
        if (this.#moveAgain) {
          this.#moveAgain = false;
          this.#moveToNextLayout();
        } else {
          this.#drain();
        }
      });
  }

  /**
   * Reads the layout after the seal, then has every segment writer of a segment no longer active
   * hand over (not only the one that met the seal: a key of its range must not reach a successor
   * ahead of its own events pending there) and routes what they return, before any write held back.
   */
  async #handOverSealed(): Promise<void> {
    const layout = await retryWithin(this.#settings.retryWindowMs, () => this.#context.streams.refreshLayout(this.stream));
    const active = new Set(activeSegments(layout).map((segment) => segment.number));
    for (const writer of this.#segmentWriters()) {
      if (!active.has(writer.index) && this.#detach(writer)) this.#sealedWriters.push(writer);
    }
    const writers = this.#sealedWriters.splice(0);
    const handedOver = await Promise.all(writers.map((writer) => writer.handOver()));
    this.#router = new KeyRouter(layout);
    writers.forEach((writer, index) => {
      if (!active.has(writer.index)) for (const block of handedOver[index]!) this.#reroute(block);
    });
    // Sealed and still active: the stream itself was sealed, there is nowhere to go. Last, because
    // releasing their bytes admits held-back writes, which must come after every re-routed event.
    writers.forEach((writer, index) => {
      if (!active.has(writer.index)) return;
      const error = writer.sealedBy ?? new SegmentIsSealedError(writer.segment, 0);
      for (const block of handedOver[index]!) {
        block.reject(error);
        this.#release(block.byteLength);
      }
      this.#noteReplacement(writer.index);
    });
  }

  /**
   * Appends a handed-over block's events (their envelopes carry the routing keys) to the segments
   * their keys route to now; the block settles with them.
   */
  #reroute(block: PendingBlock): void {
    const appended = envelopesOf(block.data).map(({ routingKey, timestamp, headers, data }) =>
      this.#segmentWriterFor(routingKey).append(routingKey, utf8Length(routingKey), timestamp, headers, data),
    );
    // Its bytes stay counted in flight: the new blocks release them when they settle.
    this.#inTransit.add(block.done);
    Promise.all(appended).then(
      () => block.resolve(),
      (error: unknown) => block.reject(error instanceof Error ? error : new Error(String(error))),
    );
    block.done.then(
      () => this.#inTransit.delete(block.done),
      () => this.#inTransit.delete(block.done),
    );
  }

  /** Takes a segment writer out of routing; false when it was not in it. */
  #detach(writer: SegmentWriter): boolean {
    if (this.#firstSegmentWriter === writer) this.#firstSegmentWriter = null;
    else if (this.#moreSegmentWriters?.get(writer.index) === writer) this.#moreSegmentWriters.delete(writer.index);
    else return false;
    return true;
  }

  #segmentWriters(): SegmentWriter[] {
    const writers = this.#firstSegmentWriter === null ? [] : [this.#firstSegmentWriter];
    if (this.#moreSegmentWriters !== null) writers.push(...this.#moreSegmentWriters.values());
    return writers;
  }

  #release(bytes: number): void {
    this.#inflightBytes -= bytes;
    this.#drain();
  }

  #retire(writer: SegmentWriter): void {
    if (this.#detach(writer)) this.#noteReplacement(writer.index);
  }

  #noteReplacement(number: number): void {
    this.#replacements ??= new Map();
    this.#replacements.set(number, (this.#replacements.get(number) ?? 0) + 1);
  }
}
