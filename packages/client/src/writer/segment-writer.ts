import { envelopedSize, EVENT_HEADER_SIZE } from '@sluice/protocol';
import type { ClientContext } from '../client-context.js';
import { ClientClosedError, InvalidEventNumberError, RetryWindowExceededError, SegmentIsSealedError, type ConnectionLostError } from '../errors.js';
import { retryWithin } from '../route/retry-within.js';
import { reasonOf } from '../route/retriable.js';
import { SegmentRoute } from '../route/segment-route.js';
import { capacityFor, MIN_BLOCK_CAPACITY, nextBlockCapacity, type SealReason } from './block-sizing.js';
import { PendingBlock } from './pending-block.js';
import type { WriterSettings } from './writer-options.js';

export interface WriterCounters {
  /** Events copied into blocks. */
  eventsWritten: number;
  eventsAcknowledged: number;
  /** AppendBlock requests, resends included. */
  blocksSent: number;
  /** Events in first sends (eventsSent / (blocksSent - blocksResent) is the mean block size in events). */
  eventsSent: number;
  blocksResent: number;
  bytesSent: number;
  /** Times a segment writer backed off and set up again after a failure. */
  reconnects: number;
}

export function newWriterCounters(): WriterCounters {
  return { eventsWritten: 0, eventsAcknowledged: 0, blocksSent: 0, eventsSent: 0, blocksResent: 0, bytesSent: 0, reconnects: 0 };
}

/** What a segment writer needs from the writer that owns it. */
export interface SegmentWriterHost {
  readonly context: ClientContext;
  readonly settings: WriterSettings;
  readonly counters: WriterCounters;
  /** Bytes of settled blocks leave the writer's in-flight budget. */
  release(bytes: number): void;
  /** The segment writer failed for good: later events for its segment go to a new one. */
  retire(writer: SegmentWriter): void;
  /** An append found the segment sealed: its pending events need the stream's next layout. */
  sealed(writer: SegmentWriter): void;
}

type State = 'idle' | 'connecting' | 'ready' | 'failed' | 'closed' | 'sealed';

/**
 * Appends one writer's events to one segment over one flow to the segment's owner.
 *
 * Batching: events are copied into the open block. With no block in flight the open block is sent on
 * the next microtask, so an awaited write waits for nothing but the round trip; with blocks in flight,
 * events gather until the block is full, the linger expires or the pipeline drains, so block size
 * follows the load. Blocks are pipelined: many AppendBlock requests may be in flight on the flow.
 *
 * Exactly once: event numbers are assigned when a block is first sent and never change. After a
 * failure (connection lost, node restarted, timeout, WrongHost) the writer backs off, sets up again
 * (SetupAppend tells the last durable event number), settles the blocks that number covers and
 * resends the others in order before any new block, so the server stores each event once. Writes
 * fail with RetryWindowExceededError only when no attempt succeeds for retryWindowMs.
 *
 * The epoch counts connection losses and recoveries: a failure reported for a request sent in an
 * older epoch is already covered by the recovery that bumped it, and is ignored.
 *
 * A client may hold thousands of idle segment writers, so one keeps no callback of its own: it
 * listens to its flow as itself (connectionLost), queues itself for the shared microtask that sends
 * open blocks, and makes its linger callback and backoff pause only when it first needs them.
 */
export class SegmentWriter {
  /** Writers whose open block goes out at the next microtask, linked through #nextToSend. */
  static #firstToSend: SegmentWriter | null = null;
  static #lastToSend: SegmentWriter | null = null;

  #state: State = 'idle';
  /** The way to the segment's owner; this writer listens to its flow as itself (connectionLost). */
  readonly #route: SegmentRoute;
  #epoch = 0;
  #open: PendingBlock | null = null;
  /** Sealed blocks without event numbers yet, waiting for the writer to be set up. */
  #unsent: PendingBlock[] = [];
  /** Blocks sent and not acknowledged, in event-number order. */
  #sent: PendingBlock[] = [];
  #nextEventNumber: number | null = null;
  #capacity = MIN_BLOCK_CAPACITY;
  #sendQueued = false;
  #nextToSend: SegmentWriter | null = null;
  #lingerTimer: NodeJS.Timeout | null = null;
  #onLinger: (() => void) | null = null;
  #failingSince: number | null = null;
  #lastError: unknown = null;
  #connecting = false;
  #handingOver: Promise<PendingBlock[]> | null = null;

  constructor(
    readonly segment: string,
    readonly index: number,
    readonly writerId: string,
    private readonly host: SegmentWriterHost,
  ) {
    this.#route = new SegmentRoute(segment, host.context, host.settings.pooled ? 'pooled' : 'dedicated', this, 'writer');
  }

  get state(): State {
    return this.#state;
  }

  /** Blocks sent and not yet acknowledged. */
  get blocksInFlight(): number {
    return this.#sent.length;
  }

  /**
   * Frames the event into a block; the promise settles with the block. The event comes as its fields
   * (keyBytes: routingKey's UTF-8 length), not as an object: one write makes no object on its way here.
   */
  append(routingKey: string, keyBytes: number, timestamp: number, headers: Uint8Array | null, data: Uint8Array): Promise<void> {
    let block = this.#open;
    if (block === null || !block.tryAdd(routingKey, keyBytes, timestamp, headers, data)) {
      if (block !== null) this.#seal('full');
      const framed = EVENT_HEADER_SIZE + envelopedSize(keyBytes, headers, data);
      block = new PendingBlock(this.host.context.blockBuffers.take(capacityFor(framed, this.#capacity)));
      block.tryAdd(routingKey, keyBytes, timestamp, headers, data);
      this.#open = block;
    }
    this.host.counters.eventsWritten += 1;
    if (block.byteLength === block.capacity) this.#seal('full');
    else this.#scheduleSend();
    return block.done;
  }

  /** Sends the open block now and returns the promises of every unsettled block. */
  flushPending(): Promise<void>[] {
    if (this.#open !== null) this.#seal('sent-early');
    return [...this.#sent, ...this.#unsent].map((block) => block.done);
  }

  /**
   * Frees the flow (never its connection) and the writer's setup on the node; resolves once the
   * node answered the release (or the connection is gone). Blocks still pending fail with
   * ClientClosedError.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const setUpOn = this.#state === 'ready' ? this.#route.takeFlow() : null;
    this.#stop('closed');
    this.#rejectAll(new ClientClosedError('writer'));
    if (setUpOn === null) return;
    try {
      await setUpOn.request({ type: 'ReleaseAppend', segment: this.segment, writerId: this.writerId });
    } catch {
      // The setup went with its connection, or the node is one that does not know the command.
    } finally {
      setUpOn.close();
    }
  }

  #scheduleSend(): void {
    if (this.#state !== 'ready') {
      if (this.#state === 'idle') this.#connect(false);
      return;
    }
    if (this.#sent.length === 0 || this.host.settings.lingerMs === 0) {
      if (!this.#sendQueued) {
        this.#sendQueued = true;
        SegmentWriter.#queueSend(this);
      }
    } else if (this.#lingerTimer === null) {
      this.#onLinger ??= () => this.#lingerExpired();
      this.#lingerTimer = setTimeout(this.#onLinger, this.host.settings.lingerMs);
    }
  }

  static #queueSend(writer: SegmentWriter): void {
    const last = SegmentWriter.#lastToSend;
    SegmentWriter.#lastToSend = writer;
    if (last !== null) {
      last.#nextToSend = writer;
      return;
    }
    SegmentWriter.#firstToSend = writer;
    queueMicrotask(SegmentWriter.#sendQueuedBlocks);
  }

  static #sendQueuedBlocks(this: void): void {
    let writer = SegmentWriter.#firstToSend;
    SegmentWriter.#firstToSend = null;
    SegmentWriter.#lastToSend = null;
    while (writer !== null) {
      const next = writer.#nextToSend;
      writer.#nextToSend = null;
      try {
        writer.#sendOpenBlock();
      } catch (error) {
        // Uncaught, as it would have been from a microtask of its own; the other writers still send.
        queueMicrotask(() => {
          throw error;
        });
      }
      writer = next;
    }
  }

  #sendOpenBlock(): void {
    this.#sendQueued = false;
    if (this.#open !== null && this.#state === 'ready') this.#seal('sent-early');
  }

  #lingerExpired(): void {
    this.#lingerTimer = null;
    if (this.#open !== null && this.#state === 'ready') this.#seal('sent-early');
  }

  #seal(reason: SealReason): void {
    const block = this.#open;
    if (block === null) return;
    this.#open = null;
    this.#clearLinger();
    block.seal();
    this.#capacity = nextBlockCapacity(this.#capacity, reason, block.byteLength, this.host.settings.maxBlockBytes);
    this.#unsent.push(block);
    this.#sendUnsent();
  }

  /** Numbers and sends the sealed blocks, in order, once the writer is set up. */
  #sendUnsent(): void {
    if (this.#state !== 'ready') {
      if (this.#state === 'idle') this.#connect(false);
      return;
    }
    const blocks = this.#unsent;
    this.#unsent = [];
    for (const block of blocks) {
      const first = this.#nextEventNumber!;
      block.lastEventNumber = first + block.eventCount - 1;
      this.#nextEventNumber = first + block.eventCount;
      this.#sent.push(block);
      this.host.counters.eventsSent += block.eventCount;
      this.#send(block);
    }
  }

  #send(block: PendingBlock): void {
    const epoch = this.#epoch;
    block.epoch = epoch;
    block.sends += 1;
    const counters = this.host.counters;
    counters.blocksSent += 1;
    counters.bytesSent += block.byteLength;
    this.#route.current!.request({
      type: 'AppendBlock',
      segment: this.segment,
      writerId: this.writerId,
      lastEventNumber: block.lastEventNumber,
      eventCount: block.eventCount,
      data: block.data,
    }).then(
      () => this.#acknowledged(block),
      (error: unknown) => this.#sendFailed(block, epoch, error),
    );
  }

  #acknowledged(block: PendingBlock): void {
    if (block.settled || this.#state === 'sealed') return;
    const index = this.#sent.indexOf(block);
    if (index >= 0) this.#sent.splice(index, 1);
    this.#route.succeeded();
    this.#failingSince = null;
    this.#settle(block, null);
    // Acknowledged after its only send: the server read the whole frame, the socket is done with it and
    // no resend will read it. A resent block's earlier send may still sit in a lost connection's queue.
    if (block.sends === 1) this.host.context.blockBuffers.giveBack(block.takeBuffer());
    // The pipeline drained: what gathered meanwhile goes now rather than after the linger.
    if (this.#sent.length === 0 && this.#open !== null && this.#state === 'ready') this.#seal('sent-early');
  }

  #sendFailed(block: PendingBlock, epoch: number, error: unknown): void {
    if (block.settled || this.#isStopped() || epoch !== this.#epoch) return;
    if (this.#route.failed(error)) {
      this.#recover(error);
    } else if (this.#route.sealedBy !== null) {
      // Stop at once: the blocks after this one would be refused too (as out of order, since the
      // server checks numbers first). What the segment holds is asked once the writer hands over.
      this.#stop('sealed');
      this.host.sealed(this);
    } else {
      this.#fail(error);
    }
  }

  /**
   * The segment was sealed (a scale, or sealStream): stops this writer, settles the blocks the
   * segment holds, and returns the others, in order, for the writer to route to the successors.
   * Sealing again (idempotent) answers once every append the segment accepted is durable, so the
   * last event number read after it is final: no returned block can still land in this segment.
   */
  handOver(): Promise<PendingBlock[]> {
    this.#handingOver ??= this.#handOver();
    return this.#handingOver;
  }

  async #finalEventNumber(): Promise<number> {
    const segments = this.host.context.segments;
    // One window for both steps: a restarting owner delays the hand-over, it does not fail it.
    const deadline = Date.now() + this.host.settings.retryWindowMs;
    await retryWithin(deadline - Date.now(), () => segments.sealSegment(this.segment));
    const reply = await retryWithin(deadline - Date.now(), () =>
      segments.request(this.segment, (token) => ({
        type: 'SetupAppend',
        segment: this.segment,
        writerId: this.writerId,
        token,
      })),
    );
    return reply.lastEventNumber;
  }

  /** The reply that found the segment sealed, once one did. */
  get sealedBy(): SegmentIsSealedError | null {
    return this.#route.sealedBy;
  }

  /** Gives up on every pending block, which rejects with error (the stream's layout could not be read). */
  abandon(error: Error): void {
    this.#stop('failed');
    this.#rejectAll(error);
  }

  async #handOver(): Promise<PendingBlock[]> {
    this.#stop('sealed');
    if (this.#open !== null) {
      this.#open.seal();
      this.#unsent.push(this.#open);
      this.#open = null;
    }
    let lastDurable = -1;
    if (this.#sent.length > 0) {
      try {
        lastDurable = await this.#finalEventNumber();
      } catch (error) {
        // Unknown which blocks the segment holds (it was deleted, or its node stayed away too long).
        this.#rejectAll(error instanceof Error ? error : new Error(String(error)));
        return [];
      }
    }
    const stored = this.#sent.filter((block) => block.lastEventNumber <= lastDurable);
    const rest = [...this.#sent.filter((block) => block.lastEventNumber > lastDurable), ...this.#unsent];
    this.#sent = [];
    this.#unsent = [];
    for (const block of stored) this.#settle(block, null);
    return rest;
  }

  /** Called by the flow (this writer is its ConnectionLostListener). */
  connectionLost(error: ConnectionLostError): void {
    this.#epoch += 1;
    if (this.#state !== 'ready') return; // a setup in progress fails and is retried by its loop
    this.#state = 'idle';
    this.#clearLinger();
    if (this.#sent.length > 0) this.#recover(error);
    else if (this.#open !== null || this.#unsent.length > 0) this.#connect(false);
  }

  /** After a retriable failure (the route already learned from it): set up again and resend. */
  #recover(error: unknown): void {
    this.#epoch += 1;
    this.#noteFailure(error);
    this.#state = 'idle';
    this.#clearLinger();
    this.#connect(true);
  }

  #noteFailure(error: unknown): void {
    this.#lastError = error;
    this.#failingSince ??= Date.now();
  }

  #connect(afterFailure: boolean): void {
    if (this.#connecting || this.#isStopped()) return;
    this.#connecting = true;
    this.#state = 'connecting';
    this.#establish(afterFailure)
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        this.#connecting = false;
      });
  }

  /** Sets the writer up on the owner, backing off between attempts, until it works or the window closes. */
  async #establish(afterFailure: boolean): Promise<void> {
    const { context, settings } = this.host;
    for (let retry = afterFailure; ; retry = true) {
      if (this.#isStopped()) return;
      if (retry) {
        this.#failingSince ??= Date.now();
        const delayMs = this.#route.nextDelay();
        if (Date.now() + delayMs - this.#failingSince >= settings.retryWindowMs) {
          this.#fail(new RetryWindowExceededError(this.segment, settings.retryWindowMs, { cause: this.#lastError }));
          return;
        }
        this.host.counters.reconnects += 1;
        this.#route.announceRetry(delayMs, this.#lastError, { writerId: this.writerId });
        if (this.#isStopped()) return; // a 'reconnecting' listener closed the writer
        await this.#route.pause(delayMs);
        if (this.#isStopped()) return;
      }
      const epoch = this.#epoch;
      try {
        const flow = await this.#route.flow();
        const token = await context.token();
        const remainingMs = this.#failingSince === null ? Infinity : this.#failingSince + settings.retryWindowMs - Date.now();
        const reply = await flow.request(
          { type: 'SetupAppend', segment: this.segment, writerId: this.writerId, token },
          { timeoutMs: Math.max(1_000, Math.min(context.settings.requestTimeoutMs, remainingMs)) },
        );
        if (this.#isStopped()) return;
        if (epoch === this.#epoch) {
          this.#setUp(reply.lastEventNumber);
          return;
        }
      } catch (error) {
        if (this.#isStopped()) return;
        if (!this.#route.failed(error)) {
          this.#fail(error);
          return;
        }
        this.#noteFailure(error);
      }
    }
  }

  /** The server holds this writer's events up to lastDurable: settle those, resend the rest, go on. */
  #setUp(lastDurable: number): void {
    this.#nextEventNumber ??= lastDurable + 1;
    if (lastDurable >= this.#nextEventNumber) {
      // Someone else writes with this writer id: our numbers would be taken as duplicates.
      this.#fail(new InvalidEventNumberError(this.segment, this.writerId, lastDurable));
      return;
    }
    const covered = this.#sent.filter((block) => block.lastEventNumber <= lastDurable);
    this.#sent = this.#sent.filter((block) => block.lastEventNumber > lastDurable);
    this.#state = 'ready';
    if (this.#sent.length === 0) this.#failingSince = null;
    // Resends go before any new block: the server wants each writer's events in number order.
    for (const block of this.#sent) {
      this.host.counters.blocksResent += 1;
      this.#send(block);
    }
    this.#sendUnsent();
    for (const block of covered) this.#settle(block, null);
    if (this.#open !== null && this.#state === 'ready') this.#scheduleSend();
  }

  #fail(error: unknown): void {
    if (this.#isStopped()) return;
    this.host.context.logger.warn({ segment: this.segment, writerId: this.writerId, error: reasonOf(error) }, 'segment writer failed');
    this.#stop('failed');
    this.host.retire(this);
    this.#rejectAll(error instanceof Error ? error : new Error(String(error)));
  }

  #stop(state: 'failed' | 'closed' | 'sealed'): void {
    this.#state = state;
    this.#epoch += 1;
    this.#clearLinger();
    this.#route.close();
  }

  #rejectAll(error: Error): void {
    const blocks = [...this.#sent, ...this.#unsent];
    if (this.#open !== null) blocks.push(this.#open);
    this.#sent = [];
    this.#unsent = [];
    this.#open = null;
    for (const block of blocks) this.#settle(block, error);
  }

  #settle(block: PendingBlock, error: Error | null): void {
    if (block.settled) return;
    if (error === null) {
      this.host.counters.eventsAcknowledged += block.eventCount;
      block.resolve();
    } else {
      block.reject(error);
    }
    this.host.release(block.byteLength);
  }

  #clearLinger(): void {
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = null;
  }

  #isStopped(): boolean {
    return this.#state === 'failed' || this.#state === 'closed' || this.#state === 'sealed';
  }
}
