import { decodeHeaders, type DecodedEnvelope, type EventHeaders } from '@sluice/protocol';
import type { ReaderPosition } from './reader-position.js';

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
 * Headers stay encoded until `headers` is first read: most consumers never look at them, and
 * decoding a map per event would cost every reader.
 */
export class LazyReadEvent implements ReadEvent {
  readonly routingKey: string;
  readonly timestamp: number;
  readonly data: Buffer;
  readonly segment: string;
  readonly offset: number;
  readonly position: ReaderPosition;
  #encodedHeaders: Buffer | null;
  #headers: EventHeaders | null = null;

  constructor(envelope: DecodedEnvelope, segment: string, offset: number, position: ReaderPosition) {
    this.routingKey = envelope.routingKey;
    this.timestamp = envelope.timestamp;
    this.data = envelope.data;
    this.segment = segment;
    this.offset = offset;
    this.position = position;
    this.#encodedHeaders = envelope.headers;
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
