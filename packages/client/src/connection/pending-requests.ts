import {
  CONNECTION_FLOW_ID,
  decodeFrameCommand,
  entryByCode,
  isErrorReply,
  isReplyTo,
  ProtocolError,
  type Command,
  type RawFrame,
} from '@sluice/protocol';
import { errorFromReply, ProtocolViolationError, TimeoutError } from '../errors.js';
import type { ReplyHandler } from './flow.js';

/** The connection a table's requests were sent on. */
export interface RequestCarrier {
  readonly endpoint: string;
  /** The request's frame bytes are no longer outstanding. */
  noteSettled(bytes: number): void;
}

/** One request waiting for its reply; entries form a list in send order. */
class PendingRequest {
  next: PendingRequest | null = null;
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly table: PendingRequests,
    readonly sequence: number,
    /** The request's command type: which replies it can get, and the timeout message. */
    readonly type: string,
    /** Frame bytes counted as outstanding on the connection until the request settles. */
    readonly bytes: number,
    readonly timeoutMs: number,
    /** Set for Flow.send; else resolve and reject settle the promise of Flow.request. */
    readonly handler: ReplyHandler | null,
    readonly resolve: ((reply: Command) => void) | null,
    readonly reject: ((error: unknown) => void) | null,
  ) {}
}

function expire(entry: PendingRequest): void {
  entry.table.expire(entry);
}

/**
 * The requests one flow (or a connection's own traffic) is waiting on. Every entry settles exactly
 * once: with its reply, its timeout, or rejectAll when the connection or flow ends.
 *
 * Entries are a list in send order, not a map: an idle flow's table holds nothing, and replies come
 * nearly in order, so the one looked for is almost always the first.
 */
export class PendingRequests {
  private first: PendingRequest | null = null;
  private last: PendingRequest | null = null;

  constructor(
    private readonly carrier: RequestCarrier,
    private readonly flowId: number,
  ) {}

  /** Waits for the reply to sequence; handler gets it, or else resolve/reject (one of the two is given). */
  add(
    sequence: number,
    type: string,
    bytes: number,
    timeoutMs: number,
    handler: ReplyHandler | null,
    resolve: ((reply: Command) => void) | null,
    reject: ((error: unknown) => void) | null,
  ): void {
    const entry = new PendingRequest(this, sequence, type, bytes, timeoutMs, handler, resolve, reject);
    entry.timer = setTimeout(expire, timeoutMs, entry);
    if (this.last === null) this.first = entry;
    else this.last.next = entry;
    this.last = entry;
  }

  /**
   * Settles the request a reply frame answers. Returns false when no request has that sequence (the
   * caller counts it and drops it). Throws ProtocolError when the body does not decode, or when the
   * reply is of a type the request cannot get (the command table says which it can): the peer broke
   * the protocol and the caller closes the connection.
   */
  settle(frame: RawFrame): boolean {
    const entry = this.take(frame.sequence);
    if (entry === null) return false;
    if (!isReplyTo(entry.type, frame.type)) {
      const name = entryByCode(frame.type)?.name ?? `type ${frame.type}`;
      const message = `${name} is not a reply to ${entry.type}`;
      fail(entry, new ProtocolViolationError(message));
      throw new ProtocolError('UNEXPECTED_COMMAND', message);
    }
    let reply: Command;
    try {
      reply = decodeFrameCommand(frame);
    } catch (error) {
      fail(entry, new ProtocolViolationError(`undecodable reply: ${(error as Error).message}`));
      throw error instanceof ProtocolError ? error : new ProtocolError('MALFORMED_BODY', String(error));
    }
    if (isErrorReply(reply)) fail(entry, errorFromReply(reply));
    else succeed(entry, reply);
    return true;
  }

  rejectAll(error: unknown): void {
    let entry = this.first;
    this.first = null;
    this.last = null;
    while (entry !== null) {
      const next = entry.next;
      this.release(entry);
      fail(entry, error);
      entry = next;
    }
  }

  expire(entry: PendingRequest): void {
    if (this.take(entry.sequence) !== entry) return;
    const where = this.flowId === CONNECTION_FLOW_ID ? `to ${this.carrier.endpoint}` : `on flow ${this.flowId}`;
    fail(entry, new TimeoutError(`no reply to ${entry.type} ${where} within ${entry.timeoutMs} ms`));
  }

  /** Unlinks the entry waiting for sequence (usually the first) and stops its timer. */
  private take(sequence: number): PendingRequest | null {
    let previous: PendingRequest | null = null;
    let entry = this.first;
    while (entry !== null && entry.sequence !== sequence) {
      previous = entry;
      entry = entry.next;
    }
    if (entry === null) return null;
    if (previous === null) this.first = entry.next;
    else previous.next = entry.next;
    if (this.last === entry) this.last = previous;
    entry.next = null;
    this.release(entry);
    return entry;
  }

  private release(entry: PendingRequest): void {
    clearTimeout(entry.timer);
    this.carrier.noteSettled(entry.bytes);
  }
}

function succeed(entry: PendingRequest, reply: Command): void {
  if (entry.handler === null) {
    entry.resolve!(reply);
    return;
  }
  try {
    entry.handler.onReply(reply);
  } catch (error) {
    rethrowLater(error);
  }
}

function fail(entry: PendingRequest, error: unknown): void {
  failRequest(entry.handler, entry.reject, error);
}

/** Fails a request: its handler's onError, or else the reject of its promise. */
export function failRequest(handler: ReplyHandler | null, reject: ((error: unknown) => void) | null, error: unknown): void {
  if (handler === null) {
    reject!(error);
    return;
  }
  try {
    handler.onError(error);
  } catch (thrown) {
    rethrowLater(thrown);
  }
}

/**
 * A handler runs inside the connection's frame loop (or a flow's close): an exception of its own must
 * not pass for a protocol violation and close the connection, nor keep other requests from settling.
 * It surfaces as an uncaught exception instead, as it would from a promise reaction.
 */
function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
