import { EVENT_HEADER_SIZE, type CommandOf } from '@sluice/protocol';
import type { ClientContext } from '../client-context.js';
import type { Flow, ReplyHandler } from '../connection/flow.js';
import { SegmentIsTruncatedError } from '../errors.js';
import { SegmentRoute } from '../route/segment-route.js';
import { MAX_READ_BYTES, type Truncation } from './reader-options.js';
import { LazyReadEvent } from './read-event.js';
import { RoutingKeys } from './routing-keys.js';

/** What a segment reader needs from the reader that owns it. */
export interface SegmentReaderHost {
  readonly context: ClientContext;
  readonly tailWaitMs: number;
  /** Each event gets a copy of its bytes rather than a view that keeps the whole read reply alive. */
  readonly copyEventData: boolean;
  /** The segment reader has something new: events, its end, or an error. */
  wake(reader: SegmentReader): void;
  truncated(truncation: Truncation): void;
}

type Item =
  | { kind: 'events'; data: Buffer; offset: number; position: number }
  | { kind: 'gap'; from: number; to: number; silent: boolean };

type SegmentRead = CommandOf<'SegmentRead'>;

/**
 * Reads one segment ahead of its consumer over one flow, with at most bufferBytes buffered (plus one
 * read in flight): each read asks for what fits. At the tail a read waits on the server (long poll,
 * tailWaitMs) and returns as soon as an event is durable, so there is no polling loop. Truncation
 * becomes a gap item, reported when the consumer reaches it, so events before it are still delivered.
 *
 * A reader mostly sits at the tail, and a client may hold thousands of them: the read in flight is
 * sent with Flow.send and this reader is its reply handler, so a parked read holds no promise,
 * closure or suspended async function, only the flow's pending entry.
 */
export class SegmentReader implements ReplyHandler<SegmentRead> {
  #items: Item[] = [];
  #head = 0;
  #nextReadOffset: number;
  #bufferedBytes = 0;
  #reading = false;
  #endOfSegment = false;
  readonly #route: SegmentRoute;
  #closed = false;
  readonly #readBytes: number;
  readonly #keys = new RoutingKeys();
  /** Offset of the next event to deliver. */
  deliveredOffset: number;
  error: unknown = null;
  /** Set by the consumer while this reader sits in its ready queue. */
  queued = false;
  /** True after take() delivered the last event of a read: the consumer moves on to another segment. */
  chunkDone = false;

  constructor(
    readonly segment: string,
    readonly index: number,
    startOffset: number,
    private readonly bufferBytes: number,
    private readonly host: SegmentReaderHost,
    /** A truncation found at this offset is not reported (a reader from 'head' wants the oldest readable event). */
    private readonly silentTruncationAt: number | null,
  ) {
    this.#nextReadOffset = startOffset;
    this.deliveredOffset = startOffset;
    this.#readBytes = Math.max(4 * 1024, Math.min(MAX_READ_BYTES, Math.floor(bufferBytes / 2)));
    this.#route = new SegmentRoute(segment, host.context, 'pooled', null, 'reader');
  }

  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  get hasItems(): boolean {
    return this.#head < this.#items.length;
  }

  /** The segment is sealed and every event of it was delivered. */
  get ended(): boolean {
    return this.#endOfSegment && !this.hasItems;
  }

  start(): void {
    this.#maybeRead();
  }

  /** The next buffered event, or null. Gaps on the way are reported and skipped. */
  take(): LazyReadEvent | null {
    this.chunkDone = false;
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      if (item.kind === 'gap') {
        this.#shift();
        this.deliveredOffset = item.to;
        if (!item.silent) this.host.truncated({ segment: this.segment, from: item.from, to: item.to });
        continue;
      }
      const { data } = item;
      if (item.position + EVENT_HEADER_SIZE <= data.byteLength) {
        const start = item.position + EVENT_HEADER_SIZE;
        const end = start + data.readUInt32BE(item.position);
        const event = new LazyReadEvent(data, start, end, this.segment, item.offset + item.position, this.#keys, this.host.copyEventData);
        item.position = end;
        this.deliveredOffset = item.offset + end;
        if (end >= data.byteLength) this.#finishChunk(item);
        return event;
      }
      this.#finishChunk(item);
    }
    return null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#route.close();
    this.#items = [];
    this.#head = 0;
    this.#bufferedBytes = 0;
  }

  #finishChunk(item: Item & { kind: 'events' }): void {
    this.#shift();
    this.#bufferedBytes -= item.data.byteLength;
    // Every event of the reply was copied out: nothing reads its bytes any more, so the buffer the
    // reply was assembled in (if it was) can take a later one. Views given to the application forbid it.
    if (this.host.copyEventData) this.host.context.frameBuffers.giveBack(item.data);
    this.chunkDone = true;
    this.#maybeRead();
  }

  #shift(): void {
    this.#items[this.#head] = undefined as unknown as Item;
    this.#head += 1;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
  }

  #push(item: Item): void {
    this.#items.push(item);
  }

  #wantsRead(): boolean {
    return (
      !this.#closed &&
      this.error === null &&
      !this.#endOfSegment &&
      (this.#bufferedBytes === 0 || this.#bufferedBytes + this.#readBytes <= this.bufferBytes)
    );
  }

  #maybeRead(): void {
    if (this.#reading || !this.#wantsRead()) return;
    this.#reading = true;
    this.#sendRead().catch((error: unknown) => this.#failWith(error));
  }

  /** Sends the next read; its outcome comes to onReply or onError, which start the one after. */
  async #sendRead(): Promise<void> {
    const { context, tailWaitMs } = this.host;
    let flow: Flow;
    let token: string | null;
    try {
      flow = await this.#route.flow();
      token = await context.token();
    } catch (error) {
      this.onError(error);
      return;
    }
    if (this.#closed) return;
    flow.send(
      { type: 'ReadSegment', segment: this.segment, offset: this.#nextReadOffset, maxBytes: this.#readBytes, waitMs: tailWaitMs, token },
      this,
      { timeoutMs: context.settings.requestTimeoutMs + tailWaitMs },
    );
  }

  /** The reply to the read in flight (this reader is its ReplyHandler). */
  onReply(reply: SegmentRead): void {
    if (this.#closed) return;
    this.#route.succeeded();
    if (reply.data.byteLength > 0) {
      this.#push({ kind: 'events', data: reply.data, offset: reply.offset, position: 0 });
      this.#bufferedBytes += reply.data.byteLength;
      this.#nextReadOffset = reply.offset + reply.data.byteLength;
      this.host.wake(this);
    }
    if (reply.endOfSegment) {
      this.#endOfSegment = true;
      this.host.wake(this);
    }
    this.#readNext();
  }

  /** The read in flight failed, or finding its flow or token did. */
  onError(error: unknown): void {
    if (this.#closed) return;
    const offset = this.#nextReadOffset;
    if (error instanceof SegmentIsTruncatedError && error.startOffset > offset) {
      const silent = this.silentTruncationAt === offset;
      this.#push({ kind: 'gap', from: offset, to: error.startOffset, silent });
      this.#nextReadOffset = error.startOffset;
      this.host.wake(this);
      this.#readNext();
      return;
    }
    if (!this.#route.failed(error)) {
      this.#reading = false;
      this.#failWith(error);
      return;
    }
    const delayMs = this.#route.nextDelay();
    this.#route.announceRetry(delayMs, error);
    if (this.#closed) return; // a 'reconnecting' listener closed the reader
    // Closing the reader ends the pause; the read after it then finds the reader closed.
    void this.#route.pause(delayMs).then(() => this.#readNext());
  }

  #readNext(): void {
    this.#reading = false;
    this.#maybeRead();
  }

  #failWith(error: unknown): void {
    if (this.#closed || this.error !== null) return;
    this.error = error;
    this.host.wake(this);
  }
}
