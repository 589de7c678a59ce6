import { encodeFrame, nextSequence, type Command, type RawFrame } from '@sluice/protocol';
import { ClientClosedError, type ConnectionLostError, type SluiceError } from '../errors.js';
import type { Connection, FlowEndpoint } from './connection.js';
import type { Flow, RequestOptions } from './flow.js';
import { PendingRequests } from './pending-requests.js';

/** Where flows get their connections: the endpoint pool (shared or dedicated placement). */
export interface FlowPlacer {
  place(flow: FlowChannel): Promise<Connection>;
  /** The flow no longer uses connection (closed, or moving after a loss). */
  release(flow: FlowChannel, connection: Connection): void;
  /** The flow is closed for good: free its flowId. */
  retire(flow: FlowChannel): void;
}

interface WaitingRequest {
  start(connection: Connection): void;
  fail(error: SluiceError): void;
}

/**
 * A Flow multiplexed over the endpoint pool's connections. Its replies are matched by sequence in its
 * own pending table, so a slow request of this flow never holds up another flow's replies. State is
 * kept small (pending table and listeners made on first use): a client may hold tens of thousands.
 */
export class FlowChannel implements Flow, FlowEndpoint {
  private connection: Connection | null = null;
  private sequence = 0;
  private pending: PendingRequests | null = null;
  private waiting: WaitingRequest[] | null = null;
  private lostListeners: Array<(error: ConnectionLostError) => void> | null = null;
  generation = 0;
  closed = false;

  constructor(
    readonly flowId: number,
    readonly endpoint: string,
    readonly pooled: boolean,
    private readonly placer: FlowPlacer,
    private readonly requestTimeoutMs: number,
  ) {}

  request<R extends Command = Command>(command: Command, options?: RequestOptions): Promise<R> {
    if (this.closed) return Promise.reject(new ClientClosedError('flow'));
    const timeoutMs = options?.timeoutMs ?? this.requestTimeoutMs;
    if (this.connection) return this.send(this.connection, command, timeoutMs) as Promise<R>;
    return new Promise<Command>((resolve, reject) => {
      this.whenPlaced({
        start: (connection) => this.send(connection, command, timeoutMs).then(resolve, reject),
        fail: reject,
      });
    }) as Promise<R>;
  }

  onConnectionLost(listener: (error: ConnectionLostError) => void): () => void {
    (this.lostListeners ??= []).push(listener);
    return () => {
      this.lostListeners = this.lostListeners?.filter((other) => other !== listener) ?? null;
    };
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
    const error = new ClientClosedError('flow');
    this.pending?.rejectAll(error);
    this.failWaiting(error);
    if (this.connection) this.placer.release(this, this.connection);
    this.connection = null;
    this.placer.retire(this);
  }

  private send(connection: Connection, command: Command, timeoutMs: number): Promise<Command> {
    const sequence = this.sequence;
    this.sequence = nextSequence(sequence);
    let frame: Buffer;
    try {
      frame = encodeFrame(this.flowId, sequence, command);
    } catch (error) {
      return Promise.reject(error);
    }
    this.pending ??= new PendingRequests((bytes) => connection.noteSettled(bytes));
    const reply = this.pending.add(sequence, frame.byteLength, timeoutMs, () => `${command.type} on flow ${this.flowId}`);
    connection.send(frame);
    return reply;
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
        for (const request of waiting) request.start(connection);
      },
      (error: SluiceError) => this.failWaiting(error),
    );
  }

  private failWaiting(error: SluiceError): void {
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const request of waiting) request.fail(error);
  }

  connectionLost(error: ConnectionLostError): void {
    const connection = this.connection;
    this.connection = null;
    this.pending?.rejectAll(error);
    this.pending = null;
    if (connection) this.placer.release(this, connection);
    for (const listener of this.lostListeners ?? []) listener(error);
  }
}
