import { decodeHeaders, ENVELOPE_KEY_AT, envelopeKeyEnd, envelopeTimestamp, type EventHeaders } from '@sluice/protocol';
import type { ReaderPosition } from './reader-position.js';
import type { RoutingKeys } from './routing-keys.js';

/** One event as a reader delivers it. */
export interface ReadEvent {
  /** The routing key the event was written with. */
  readonly routingKey: string;
  /** When write() was called, in ms since the epoch (the writer's clock). */
  readonly timestamp: number;
  /** The headers it was written with ({} when none). */
  readonly headers: EventHeaders;
  /** The event's bytes (a view of the read buffer; copy it to keep it long). */
  readonly data: Buffer;
  readonly segment: string;
  /** Byte offset of the event in its segment. */
  readonly offset: number;
  /** The reader's position just after this event: save it to resume after this event. */
  readonly position: ReaderPosition;
}

/**
 * An event decoded from its record in a read reply, straight into its fields (no envelope object in
 * between). Headers stay encoded until `headers` is first read: most consumers never look at them,
 * and decoding a map per event would cost every reader. `position` stays a plain field, not built on
 * access: `{ ...event }` and Object.keys(event) keep it (docs/decisions.md, reader CPU per event).
 */
export class LazyReadEvent implements ReadEvent {
  readonly routingKey: string;
  readonly timestamp: number;
  readonly data: Buffer;
  readonly segment: string;
  readonly offset: number;
  #encodedHeaders: Buffer | null;
  #headers: EventHeaders | null = null;
  /** Set by the reader that delivers the event, before the application sees it. */
  position: ReaderPosition = UNPLACED;

  /**
   * The record [start, end) of block (validated by the server). With copy, data and headers get bytes
   * of their own instead of views into block.
   */
  constructor(block: Buffer, start: number, end: number, segment: string, offset: number, keys: RoutingKeys, copy: boolean) {
    const keyEnd = envelopeKeyEnd(block, start);
    const headersLength = block.readUInt16BE(keyEnd);
    const dataStart = keyEnd + 2 + headersLength;
    this.routingKey = keys.decode(block, start + ENVELOPE_KEY_AT, keyEnd);
    this.timestamp = envelopeTimestamp(block, start);
    this.data = copy ? copyOf(block, dataStart, end) : block.subarray(dataStart, end);
    this.segment = segment;
    this.offset = offset;
    this.#encodedHeaders = headersLength === 0 ? null : copy ? copyOf(block, keyEnd + 2, dataStart) : block.subarray(keyEnd + 2, dataStart);
  }

  /** Decoded on first use. */
  get headers(): EventHeaders {
    if (this.#headers === null) {
      this.#headers = this.#encodedHeaders === null ? {} : decodeHeaders(this.#encodedHeaders);
      this.#encodedHeaders = null;
    }
    return this.#headers;
  }

  /** Every field, headers included (a getter that JSON.stringify would otherwise skip). */
  toJSON(): Record<string, unknown> {
    const { routingKey, timestamp, headers, data, segment, offset, position } = this;
    return { routingKey, timestamp, headers, data, segment, offset, position };
  }
}

/** An event's position until the reader sets it: a segment reader decodes events, the stream or group reader places them. */
const UNPLACED: ReaderPosition = Object.freeze({ stream: '', offsets: Object.freeze({}) });

function copyOf(block: Buffer, start: number, end: number): Buffer {
  const copy = Buffer.allocUnsafe(end - start);
  block.copy(copy, 0, start, end);
  return copy;
}
