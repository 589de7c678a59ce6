import { isErrorCode, REPLICATION_REQUESTS, rightFor, type Command, type CommandOf, type ReplicationRequestName } from '@sluice/protocol';
import type { Logger } from 'pino';

import { watchClusterMap } from './cluster-map-watch.js';
import { errorMessage, errorReplyOf } from './error-replies.js';
import { isSegmentRequest, serveSegmentRequest, type SegmentRequest, type SegmentServices, type SegmentSession } from './segment-requests.js';
import { listLocalStreams } from './stream-listing.js';

export type ReplicationRequest = CommandOf<ReplicationRequestName>;

/** What the node shares with every connection's requests. */
export interface RequestServices extends SegmentServices {
  /** A replicated node's data plane, answering its peers' replication requests; absent otherwise. */
  replication?: { serve(command: ReplicationRequest): Command | Promise<Command> };
}

const replicationRequestNames: ReadonlySet<string> = new Set(REPLICATION_REQUESTS);

/**
 * Serves one request of a connection past its handshake and gives `respond` its one reply: the
 * success reply, or the error reply of the same meaning as the failure. Never throws. A segment
 * request runs synchronously up to its store call, so requests reach the store in the order they
 * arrived. This is where a request is routed to what serves it: a new kind of request adds its case here.
 */
export function serveRequest(
  command: Command,
  respond: (reply: Command) => void,
  session: SegmentSession,
  services: RequestServices,
  log: Logger,
): void {
  switch (command.type) {
    case 'KeepAlive':
      respond({ type: 'KeepAlive' });
      return;
    case 'GetClusterMap':
      respond({ type: 'ClusterMap', ...services.cluster.clusterMap() });
      return;
    case 'WatchClusterMap':
      watchClusterMap(command, services.cluster, services.maxReadWaitMs, respond);
      return;
    case 'ListStreams':
      respond(listLocalStreams(command, services));
      return;
    default:
      if (isSegmentRequest(command)) {
        respondWith(
          () => serveSegmentRequest(command, session, services),
          (error) => segmentFailureReply(error, command, log),
          respond,
          log,
          command.type,
        );
      } else if (replicationRequestNames.has(command.type) && services.replication) {
        const { replication } = services;
        const request = command as ReplicationRequest;
        const denied = replicationDenied(request, services);
        if (denied !== null) respond(denied);
        else respondWith(() => replication.serve(request), replicationFailureReply, respond, log, command.type);
      } else {
        // A well-formed command a node does not serve (a reply type): refuse it, keep the connection.
        respond({ type: 'OperationUnsupported', message: `${command.type} is not a request a node serves` });
      }
  }
}

/**
 * Responds with what `handle` returns or resolves to; when it throws or rejects, with the error reply
 * `failureReply` makes of the failure. The reply of a synchronous handler goes out at once.
 */
function respondWith(
  handle: () => Command | Promise<Command>,
  failureReply: (error: unknown) => Command,
  respond: (reply: Command) => void,
  log: Logger,
  requestType: string,
): void {
  const onError = (error: unknown): void => respond(failureReply(error));
  let result: Command | Promise<Command>;
  try {
    result = handle();
  } catch (error) {
    onError(error);
    return;
  }
  if (result instanceof Promise) {
    result.then(respond, onError).catch((error: unknown) => log.error({ err: error, command: requestType }, 'could not send a reply'));
  } else {
    respond(result);
  }
}

/**
 * With auth on, a replication request must carry a token for the whole cluster with the right the
 * command table names: only peer nodes (which mint theirs from the shared secret) may change a
 * replica's log or fence it. Null when it may go on.
 */
function replicationDenied(request: ReplicationRequest, services: RequestServices): Command | null {
  const right = rightFor(request.type);
  if (!services.authorizer.enabled || right === null) return null;
  const result = services.authorizer.checkCluster(request.token, right);
  return result.ok ? null : { type: 'AuthTokenCheckFailed', segment: null, message: `${request.type}: ${result.message}` };
}

/**
 * A replication failure carries its own code (NOT_PRIMARY, FENCED, …) to the peer; a code outside the
 * table (an I/O error's ENOENT, say) is not one a node sends: INTERNAL_ERROR, the code kept in the message.
 */
function replicationFailureReply(error: unknown): Command {
  const code = (error as { code?: unknown })?.code;
  const message = (error as Error)?.message ?? String(error);
  if (isErrorCode(code)) return errorMessage(code, message);
  return errorMessage('INTERNAL_ERROR', typeof code === 'string' ? `${code}: ${message}` : message);
}

/** The error reply for a failed segment request; a failure that is not the peer's doing is logged and answered INTERNAL_ERROR. */
function segmentFailureReply(error: unknown, command: SegmentRequest, log: Logger): Command {
  const writerId = 'writerId' in command ? command.writerId : null;
  const reply = errorReplyOf(error, command.segment, writerId);
  if (reply !== null) return reply;
  log.error({ err: error, command: command.type, segment: command.segment }, 'request failed');
  return errorMessage('INTERNAL_ERROR', `${command.type} on ${command.segment} failed: ${(error as Error)?.message ?? String(error)}`);
}
