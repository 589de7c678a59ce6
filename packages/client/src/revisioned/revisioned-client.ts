import { randomUUID } from 'node:crypto';
import {
  decodeEnvelope,
  decodeHeaders,
  DEFAULT_LIMITS,
  EVENT_HEADER_SIZE,
  EventBlockBuilder,
  outgoingEvent,
  segmentNameOf,
  type EventHeaders,
} from '@sluice/protocol';
import type { ClientContext } from '../client-context.js';
import { ClientClosedError, ConditionalCheckFailedError, EventTooLargeError, InvalidOptionError } from '../errors.js';
import { assertStreamName } from '../option-checks.js';
import { writeHeaders, type WriteOptions } from '../writer/write-headers.js';
import { Revision } from './revision.js';

/** An entry has no routing key (its stream has one segment); timestamp and headers are as for events. */
export interface RevisionedEntry {
  /** The revision just after this entry: pass it to writeConditionally to write after it. */
  revision: Revision;
  data: Buffer;
  /** When writeConditionally was called, in ms since the epoch. */
  timestamp: number;
  /** The headers it was written with ({} when none). */
  headers: EventHeaders;
}

/** The segment attribute that holds the mark (the offset of a revision; absent when no mark). */
export const MARK_ATTRIBUTE = 'revisioned.mark';
const READ_BYTES = 1024 * 1024;
/** How long a check for our own earlier append waits for the entry at the expected offset to be durable. */
const DURABLE_WAIT_MS = 5_000;

/**
 * A stream of exactly one segment used as a log with optimistic concurrency: write only if nobody
 * wrote since the revision you read (`writeConditionally`), read what came after a revision, keep a
 * mark (a revision kept in a segment attribute, set by compare-and-set) and truncate old entries.
 *
 * Conditional appends carry this client's writer id and an event number, so a retry after a lost
 * connection is recognised as this client's own success instead of being reported as a conflict.
 * Calls to writeConditionally on one client run one at a time, in call order.
 */
export class RevisionedClient {
  readonly stream: string;
  readonly segment: string;
  readonly #context: ClientContext;
  readonly #writerId = randomUUID();
  /** The next event number, once known; null after an attempt whose outcome is unknown. */
  #nextEventNumber: number | null = 0;
  #writes: Promise<unknown> = Promise.resolve();
  #checked: Promise<void> | null = null;
  #closed = false;

  constructor(context: ClientContext, stream: string) {
    assertStreamName(stream);
    this.stream = stream;
    this.segment = segmentNameOf(stream, 0);
    this.#context = context;
    context.track(this);
  }

  /** The revision after the last durable entry (the segment's length). */
  async fetchLatestRevision(): Promise<Revision> {
    await this.#ready();
    const info = await this.#context.segments.getSegmentInfo(this.segment);
    return new Revision(this.segment, info.length);
  }

  /** The oldest revision still readable (moves forward with truncateToRevision). */
  async fetchOldestRevision(): Promise<Revision> {
    await this.#ready();
    const info = await this.#context.segments.getSegmentInfo(this.segment);
    return new Revision(this.segment, info.startOffset);
  }

  /**
   * Appends data only if the segment still ends at revision: resolves with the revision after the
   * new entry, or null when another writer appended since (read from revision, then try again).
   */
  writeConditionally(revision: Revision, data: Uint8Array | string, options?: WriteOptions): Promise<Revision | null> {
    const timestamp = Date.now();
    const run = (): Promise<Revision | null> => this.#writeConditionally(revision, data, timestamp, options);
    const result = this.#writes.then(run, run);
    this.#writes = result.catch(() => undefined);
    return result;
  }

  /**
   * The entries after revision, in order, up to the tail as it is when the iteration reaches it; the
   * iteration then ends (it does not wait for new entries: call readFrom again from the last
   * revision). Throws SegmentIsTruncatedError when revision was truncated away.
   */
  async *readFrom(revision: Revision): AsyncGenerator<RevisionedEntry, void, undefined> {
    await this.#ready();
    this.#checkRevision(revision);
    let offset = revision.offset;
    for (;;) {
      const reply = await this.#context.segments.request(this.segment, (token) => ({
        type: 'ReadSegment',
        segment: this.segment,
        offset,
        maxBytes: READ_BYTES,
        waitMs: 0,
        token,
      }));
      const { data } = reply;
      if (data.byteLength === 0) return;
      let position = 0;
      while (position + EVENT_HEADER_SIZE <= data.byteLength) {
        const end = position + EVENT_HEADER_SIZE + data.readUInt32BE(position);
        const envelope = decodeEnvelope(data, position + EVENT_HEADER_SIZE, end);
        const headers = envelope.headers === null ? {} : decodeHeaders(envelope.headers);
        const entry = { revision: new Revision(this.segment, reply.offset + end), data: envelope.data, timestamp: envelope.timestamp, headers };
        position = end;
        yield entry;
      }
      offset = reply.offset + data.byteLength;
    }
  }

  /** The mark, or null when none was set. */
  async getMark(): Promise<Revision | null> {
    await this.#ready();
    const value = await this.#context.segments.getAttribute(this.segment, MARK_ATTRIBUTE);
    return typeof value === 'number' ? new Revision(this.segment, value) : null;
  }

  /** Sets the mark to next (null removes it) only if it is expected now (null: no mark); true when set. */
  async compareAndSetMark(expected: Revision | null, next: Revision | null): Promise<boolean> {
    await this.#ready();
    if (expected !== null) this.#checkRevision(expected);
    if (next !== null) this.#checkRevision(next);
    const expectedValue = expected?.offset ?? null;
    const nextValue = next?.offset ?? null;
    let attempts = 0;
    const result = await this.#context.segments.request(this.segment, (token) => {
      attempts += 1;
      return { type: 'UpdateAttribute', segment: this.segment, key: MARK_ATTRIBUTE, expected: expectedValue, value: nextValue, token };
    });
    // A retry after a lost reply finds our own value in place: that is our success, not a conflict.
    return result.success || (attempts > 1 && result.current === nextValue);
  }

  /** Drops every entry before revision; fetchOldestRevision() then returns it. */
  async truncateToRevision(revision: Revision): Promise<void> {
    await this.#ready();
    this.#checkRevision(revision);
    await this.#context.segments.truncateSegment(this.segment, revision.offset);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#context.untrack(this);
  }

  async #writeConditionally(
    revision: Revision,
    data: Uint8Array | string,
    timestamp: number,
    options: WriteOptions | undefined,
  ): Promise<Revision | null> {
    await this.#ready();
    this.#checkRevision(revision);
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (!(payload instanceof Uint8Array)) throw new InvalidOptionError('data', 'must be a Uint8Array (a Buffer) or a string');
    const event = outgoingEvent('', timestamp, writeHeaders(options, null), payload);
    if (event.size > DEFAULT_LIMITS.maxEventSize) throw new EventTooLargeError(event.size, DEFAULT_LIMITS.maxEventSize);
    const eventNumber = await this.#eventNumber();
    const expectedOffset = revision.offset;
    // A conditional append lands exactly at expectedOffset, so its revision is known in advance.
    const written = new Revision(this.segment, expectedOffset + EVENT_HEADER_SIZE + event.size);
    const builder = new EventBlockBuilder(EVENT_HEADER_SIZE + event.size);
    builder.tryAddEvent(event);
    const block = builder.finish();
    let attempts = 0;
    try {
      await this.#context.segments.request(this.segment, (token) => {
        attempts += 1;
        return { type: 'ConditionalAppend', segment: this.segment, writerId: this.#writerId, eventNumber, expectedOffset, data: block, token };
      });
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedError)) {
        // It may or may not be stored: learn the next event number from the server before the next write.
        this.#nextEventNumber = null;
        throw error;
      }
      if (attempts === 1 || !(await this.#storedEarlier(eventNumber, expectedOffset))) return null;
    }
    this.#nextEventNumber = eventNumber + 1;
    return written;
  }

  /**
   * After a retry found the check failing: was it our first attempt that moved the segment? Wait
   * until the entry at expectedOffset is durable, then ask for our writer's last durable event number.
   */
  async #storedEarlier(eventNumber: number, expectedOffset: number): Promise<boolean> {
    try {
      await this.#context.segments.request(this.segment, (token) => ({
        type: 'ReadSegment',
        segment: this.segment,
        offset: expectedOffset,
        maxBytes: 1,
        waitMs: DURABLE_WAIT_MS,
        token,
      }));
    } catch {
      // Truncated past it, or unreadable: the writer state below still answers.
    }
    return (await this.#lastDurableEventNumber()) >= eventNumber;
  }

  async #eventNumber(): Promise<number> {
    this.#nextEventNumber ??= (await this.#lastDurableEventNumber()) + 1;
    return this.#nextEventNumber;
  }

  async #lastDurableEventNumber(): Promise<number> {
    const reply = await this.#context.segments.request(this.segment, (token) => ({
      type: 'SetupAppend',
      segment: this.segment,
      writerId: this.#writerId,
      token,
    }));
    // Conditional appends need no setup: the setup was only asked for the number. Free it on the node.
    void this.#context.segments
      .request(this.segment, () => ({ type: 'ReleaseAppend', segment: this.segment, writerId: this.#writerId }))
      .catch(() => undefined);
    return reply.lastEventNumber;
  }

  #checkRevision(revision: Revision): void {
    if (!(revision instanceof Revision)) {
      throw new InvalidOptionError('revision', 'must be a Revision (from fetchLatestRevision, writeConditionally or Revision.parse)');
    }
    if (revision.segment !== this.segment) {
      throw new InvalidOptionError('revision', `revision ${revision.toString()} is not of ${this.segment}`);
    }
  }

  async #ready(): Promise<void> {
    if (this.#closed) throw new ClientClosedError('revisioned client');
    this.#checked ??= this.#context.streams.claimForRevisions(this.stream).catch((error: unknown) => {
      this.#checked = null;
      throw error;
    });
    await this.#checked;
  }
}
