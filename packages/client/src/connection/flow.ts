import type { Command, Request, SuccessReplyOf } from '@sluice/protocol';
import type { ConnectionLostError } from '../errors.js';

/**
 * Told when a flow's connection dropped: a function, or an object with connectionLost (an owner of
 * many flows, such as a segment writer, listens as itself instead of keeping a closure per flow).
 */
export type ConnectionLostListener = ((error: ConnectionLostError) => void) | { connectionLost(error: ConnectionLostError): void };

/**
 * The one contract writers, readers, the revisioned client and admin calls are built on: a flow is a
 * conversation with one server node, with its own flowId and sequence numbers, multiplexed with
 * other flows over a pooled connection (or over a connection of its own when dedicated). SDK objects
 * never touch sockets; they send requests on flows and are told when a flow's connection dropped.
 */
export interface Flow {
  readonly flowId: number;
  /** The node this flow talks to, as `host:port`. */
  readonly endpoint: string;
  /**
   * Grows each time the flow is placed on a connection. Server-side state a flow sets up (SetupAppend)
   * belongs to one connection, so an owner compares generations to know it must set up again.
   */
  readonly generation: number;
  readonly closed: boolean;

  /**
   * Sends one request and settles with its reply: resolves with the success reply; rejects with a
   * SluiceError: the typed error of an error reply (errorFromReply), ConnectionLostError when the
   * connection dropped before the reply, TimeoutError after timeoutMs, ClientClosedError once the flow
   * or client is closed. When the flow has no live connection it is placed on one first (through the
   * pool, failing with ConnectFailedError if none can be had within the acquire timeout).
   * Requests of one flow are sent in call order.
   */
  request<C extends Request>(command: C, options?: RequestOptions): Promise<SuccessReplyOf<C['type']>>;

  /**
   * request without a promise: the outcome goes to handler, the same replies and errors. For owners
   * that keep a request parked on each of many flows (a tail read), where a promise, its resolvers
   * and an awaiting async function would outweigh the flow itself. The handler is called when the
   * reply arrives, the request times out, the connection drops or the flow closes; never from within
   * send itself.
   */
  send<C extends Request>(command: C, handler: ReplyHandler<SuccessReplyOf<C['type']>>, options?: RequestOptions): void;

  /** Called after each loss of the flow's connection, once its pending requests were rejected. */
  onConnectionLost(listener: ConnectionLostListener): () => void;

  /** Frees the flowId, rejects pending requests and forgets the listeners; never closes a shared connection. */
  close(): void;
}

/**
 * Receives the outcome of one request sent with Flow.send: exactly one method is called, once. An
 * owner that keeps a request parked on each of many flows (a reader at the tail) is its own handler,
 * so a parked request holds no promise, resolvers or closures.
 */
export interface ReplyHandler<R extends Command = Command> {
  onReply(reply: R): void;
  /** The error Flow.request would reject with (or the one encoding the request threw). */
  onError(error: unknown): void;
}

export interface RequestOptions {
  /** Overrides the client's requestTimeoutMs; a tail read passes requestTimeoutMs plus its wait time. */
  timeoutMs?: number;
  /**
   * The command's trailing bytes field, given as parts written one after the other (the field in the
   * command is then empty): the same frame, without joining the parts into one buffer first.
   */
  trailing?: readonly Buffer[];
}

export interface FlowOptions {
  /** False gives the flow a connection of its own (the writer option enableConnectionPooling: false). */
  pooled?: boolean;
}
