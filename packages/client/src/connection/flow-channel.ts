import { encodeFrameHead, encodeFrameParts, entryByName, nextSequence, type Command, type RawFrame, type Request, type SuccessReplyOf } from '@sluice/protocol';
import { ClientClosedError, type ConnectionLostError } from '../errors.js';
import type { Connection, FlowEndpoint } from './connection.js';
import type { ConnectionLostListener, Flow, ReplyHandler, RequestOptions } from './flow.js';
import { LARGE_FRAME_BYTES } from './frame-writer.js';
import { failRequest, PendingRequests } from './pending-requests.js';

/** Where flows get their connections: the endpoint pool (shared or dedicated placement). */
export interface FlowPlacer {
  /** The node the placed flows talk to, as `host:port`. */
  readonly endpoint: string;
  /** The timeout of a request that sets none. */
  readonly requestTimeoutMs: number;
  place(flow: FlowChannel): Promise<Connection>;
  /** The flow no longer uses connection (closed, or moving after a loss). */
  release(flow: FlowChannel, connection: Connection): void;
  /** The flow is closed for good: free its flowId. */
  retire(flow: FlowChannel): void;
}

/** A request made before the flow was placed: sent once it is. */
interface WaitingRequest {
  command: Command;
  timeoutMs: number;
  trailing: readonly Buffer[] | undefined;
  handler: ReplyHandler | null;
  resolve: ((reply: Command) => void) | null;
  reject: ((error: unknown) => void) | null;
}

/**
 * A Flow multiplexed over the endpoint pool's connections. Its replies are matched by sequence in its
 * own pending table, so a slow request of this flow never holds up another flow's replies. A client
 * may hold tens of thousands of flows, most of them idle: a flow is a few fields, its endpoint and
 * default timeout are its placer's, and lists (waiting requests, listeners) exist only while used.
 */
export class FlowChannel implements Flow, FlowEndpoint {
  private connection: Connection | null = null;
  private sequence = 0;
  private pending: PendingRequests | null = null;
  private waiting: WaitingRequest[] | null = null;
  /** Usually one listener (the flow's owner); an array only when more register. */
  private lostListeners: ConnectionLostListener | ConnectionLostListener[] | null = null;
  generation = 0;
  closed = false;

  constructor(
    readonly flowId: number,
    readonly pooled: boolean,
    private readonly placer: FlowPlacer,
  ) {}

  get endpoint(): string {
    return this.placer.endpoint;
  }

  request<C extends Request>(command: C, options?: RequestOptions): Promise<SuccessReplyOf<C['type']>> {
    // PendingRequests settles only with a reply the request can get (the command table's check).
    return new Promise<Command>((resolve, reject) => {
      this.dispatch(command, options?.timeoutMs ?? this.placer.requestTimeoutMs, options?.trailing, null, resolve, reject);
    }) as Promise<SuccessReplyOf<C['type']>>;
  }

  send<C extends Request>(command: C, handler: ReplyHandler<SuccessReplyOf<C['type']>>, options?: RequestOptions): void {
    this.dispatch(command, options?.timeoutMs ?? this.placer.requestTimeoutMs, options?.trailing, handler as ReplyHandler, null, null);
  }

  onConnectionLost(listener: ConnectionLostListener): () => void {
    const listeners = this.lostListeners;
    if (listeners === null) this.lostListeners = listener;
    else if (Array.isArray(listeners)) listeners.push(listener);
    else this.lostListeners = [listeners, listener];
    return () => this.removeLostListener(listener);
  }

  onFrame(frame: RawFrame, connection: Connection): void {
    try {
      if (!this.pending?.settle(frame)) connection.reportUnknownSequence();
    } catch (error) {
      connection.reportProtocolViolation(error);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lostListeners = null;
    const error = new ClientClosedError('flow');
    this.pending?.rejectAll(error);
    this.pending = null;
    this.failWaiting(error);
    if (this.connection) this.placer.release(this, this.connection);
    this.connection = null;
    this.placer.retire(this);
  }

  connectionLost(error: ConnectionLostError): void {
    const connection = this.connection;
    this.connection = null;
    this.pending?.rejectAll(error);
    this.pending = null;
    if (connection) this.placer.release(this, connection);
    const listeners = this.lostListeners;
    if (listeners === null) return;
    if (!Array.isArray(listeners)) notify(listeners, error);
    else for (const listener of [...listeners]) notify(listener, error);
  }

  private dispatch(
    command: Command,
    timeoutMs: number,
    trailing: readonly Buffer[] | undefined,
    handler: ReplyHandler | null,
    resolve: ((reply: Command) => void) | null,
    reject: ((error: unknown) => void) | null,
  ): void {
    if (this.closed) failLater(handler, reject, new ClientClosedError('flow'));
    else if (this.connection) this.transmit(this.connection, command, timeoutMs, trailing, handler, resolve, reject);
    else this.whenPlaced({ command, timeoutMs, trailing, handler, resolve, reject });
  }

  private transmit(
    connection: Connection,
    command: Command,
    timeoutMs: number,
    trailing: readonly Buffer[] | undefined,
    handler: ReplyHandler | null,
    resolve: ((reply: Command) => void) | null,
    reject: ((error: unknown) => void) | null,
  ): void {
    const sequence = this.sequence;
    this.sequence = nextSequence(sequence);
    let parts: Buffer[];
    try {
      parts =
        trailing === undefined
          ? encodeFrameParts(this.flowId, sequence, command, LARGE_FRAME_BYTES)
          : framePartsWithTrailing(this.flowId, sequence, command, trailing);
    } catch (error) {
      failLater(handler, reject, error);
      return;
    }
    const bytes = parts.reduce((sum, part) => sum + part.byteLength, 0);
    this.pending ??= new PendingRequests(connection, this.flowId);
    this.pending.add(sequence, command.type, bytes, timeoutMs, handler, resolve, reject);
    connection.send(parts, bytes);
  }

  /** Queues a request until the flow is placed; the first one starts the placement. */
  private whenPlaced(request: WaitingRequest): void {
    if (this.waiting) {
      this.waiting.push(request);
      return;
    }
    this.waiting = [request];
    this.placer.place(this).then(
      (connection) => {
        if (this.closed) return this.placer.release(this, connection);
        this.connection = connection;
        this.generation += 1;
        // A table made for an earlier connection settled bytes on that one; start afresh.
        this.pending = null;
        const waiting = this.waiting ?? [];
        this.waiting = null;
        for (const { command, timeoutMs, trailing, handler, resolve, reject } of waiting) {
          this.transmit(connection, command, timeoutMs, trailing, handler, resolve, reject);
        }
      },
      (error: unknown) => this.failWaiting(error),
    );
  }

  private failWaiting(error: unknown): void {
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const request of waiting) failRequest(request.handler, request.reject, error);
  }

  private removeLostListener(listener: ConnectionLostListener): void {
    const listeners = this.lostListeners;
    if (listeners === listener) this.lostListeners = null;
    else if (Array.isArray(listeners)) {
      const remaining = listeners.filter((other) => other !== listener);
      this.lostListeners = remaining.length === 0 ? null : remaining.length === 1 ? remaining[0]! : remaining;
    }
  }
}

/** The frame of `command` whose trailing bytes field (empty in it) is `trailing`, written part after part. */
function framePartsWithTrailing(flowId: number, sequence: number, command: Command, trailing: readonly Buffer[]): Buffer[] {
  const entry = entryByName(command.type);
  const field = entry.trailingBytes ? (command as unknown as Record<string, unknown>)[entry.fieldNames.at(-1)!] : undefined;
  if (!(field instanceof Uint8Array) || field.byteLength !== 0) {
    throw new TypeError(`${command.type}: trailing parts need the command's last field to be an empty bytes field`);
  }
  const bytes = trailing.reduce((sum, part) => sum + part.byteLength, 0);
  return [encodeFrameHead(flowId, sequence, command, bytes), ...trailing];
}

function notify(listener: ConnectionLostListener, error: ConnectionLostError): void {
  if (typeof listener === 'function') listener(error);
  else listener.connectionLost(error);
}

/** A request refused before it was sent: a handler hears of it on a later tick, as it would of a reply. */
function failLater(handler: ReplyHandler | null, reject: ((error: unknown) => void) | null, error: unknown): void {
  if (handler === null) reject!(error);
  else queueMicrotask(() => failRequest(handler, null, error));
}
