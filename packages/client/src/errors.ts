import { errnoOf, isNameResolutionFailure } from './connection/errno.js';
import { isRetriableCode, type ErrorReply } from '@sluice/protocol';

/**
 * Every error the client raises is a SluiceError with a stable `code` and a `retriable` flag:
 * retriable errors may succeed if the same call is made again later (after a reconnect, a redirect,
 * a server restart); the others need the caller to change something, and their message says what.
 */
export abstract class SluiceError extends Error {
  abstract readonly code: string;
  readonly retriable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConnectionLostError extends SluiceError {
  readonly code = 'CONNECTION_LOST';
  override readonly retriable = true;
  constructor(readonly endpoint: string, reason: string, options?: { cause?: unknown }) {
    super(`connection to ${endpoint} lost: ${reason}`, options);
  }
}

export class ConnectFailedError extends SluiceError {
  readonly code = 'CONNECT_FAILED';
  override readonly retriable = true;
  /** Whether this client had a connection to endpoint before: a node that went away (restarting, or dead), not one never reached. */
  readonly reachedBefore: boolean;
  constructor(readonly endpoint: string, readonly reason: string, options?: { cause?: unknown; reachedBefore?: boolean }) {
    super(`could not connect to ${endpoint}: ${reason}${hintFor(reason, options?.cause)}`, options);
    this.reachedBefore = options?.reachedBefore ?? false;
  }
}

function hintFor(reason: string, cause: unknown): string {
  // A TLS failure means a server is there, but the handshake failed: the reason says why.
  if (reason.startsWith('TLS')) return '';
  if (isNameResolutionFailure(errnoOf(cause))) return '. The host name does not resolve: check its spelling (and DNS)';
  return '. Is a sluice-server listening there?';
}

export class TimeoutError extends SluiceError {
  readonly code = 'TIMEOUT';
  override readonly retriable = true;
}

export class WrongHostError extends SluiceError {
  readonly code = 'WRONG_HOST';
  override readonly retriable = true;
  constructor(readonly segment: string, readonly owner: string) {
    super(`segment ${segment} is owned by ${owner}`);
  }
}

/** The segment's container has no primary right now (a coordinated cluster is failing it over). */
export class NoPrimaryError extends SluiceError {
  readonly code = 'NO_PRIMARY';
  override readonly retriable = true;
  constructor(readonly segment: string) {
    super(`segment ${segment} has no primary right now: its container is failing over; retry shortly`);
  }
}

export class NoSuchSegmentError extends SluiceError {
  readonly code = 'NO_SUCH_SEGMENT';
  constructor(readonly segment: string) {
    super(`segment ${segment} does not exist; create its stream first with client.createStream()`);
  }
}

export class NoSuchStreamError extends SluiceError {
  readonly code = 'NO_SUCH_STREAM';
  constructor(readonly stream: string) {
    super(`stream ${stream} does not exist; create it first with client.createStream('${stream}', { segments: N })`);
  }
}

export class SegmentAlreadyExistsError extends SluiceError {
  readonly code = 'SEGMENT_ALREADY_EXISTS';
  constructor(readonly segment: string) {
    super(`segment ${segment} already exists`);
  }
}

export class StreamConflictError extends SluiceError {
  readonly code = 'STREAM_CONFLICT';
}

/** scaleStream on a sealed stream: a sealed stream takes no more appends, so it has nothing to scale. */
export class StreamSealedError extends SluiceError {
  readonly code = 'STREAM_SEALED';
  constructor(readonly stream: string) {
    super(`stream ${stream} is sealed and cannot be scaled; create a new stream to write more`);
  }
}

/** scaleStream on a stream whose segment offsets are revisions (a revisioned client uses it). */
export class StreamNotScalableError extends SluiceError {
  readonly code = 'STREAM_NOT_SCALABLE';
  constructor(readonly stream: string) {
    super(
      `stream ${stream} is used by a revisioned client, whose revisions are offsets of its one segment; ` +
        'it cannot be scaled (use a separate stream for scalable event data)',
    );
  }
}

/** The stream's layout attribute holds something this client cannot read. */
export class StreamLayoutCorruptError extends SluiceError {
  readonly code = 'STREAM_LAYOUT_CORRUPT';
  constructor(readonly stream: string, why: string, options?: { cause?: unknown }) {
    super(`the layout of stream ${stream} cannot be read: ${why}; was it written by a newer client version?`, options);
  }
}

export class SegmentIsSealedError extends SluiceError {
  readonly code = 'SEGMENT_IS_SEALED';
  constructor(readonly segment: string, readonly length: number) {
    super(`segment ${segment} is sealed at length ${length}; no more appends are accepted`);
  }
}

export class SegmentIsTruncatedError extends SluiceError {
  readonly code = 'SEGMENT_IS_TRUNCATED';
  constructor(readonly segment: string, readonly startOffset: number) {
    super(`segment ${segment} is truncated; the first readable offset is ${startOffset}`);
  }
}

export class InvalidEventNumberError extends SluiceError {
  readonly code = 'INVALID_EVENT_NUMBER';
  constructor(readonly segment: string, readonly writerId: string, readonly lastEventNumber: number) {
    super(`writer ${writerId} sent an event number out of order on ${segment}; the server has ${lastEventNumber}`);
  }
}

export class AuthTokenCheckFailedError extends SluiceError {
  readonly code = 'AUTH_TOKEN_CHECK_FAILED';
  constructor(message: string, readonly segment: string | null = null) {
    super(
      `${message}; set the client's \`token\` option to a token that covers this stream with the needed right ` +
        '(mint one with `sluice-server token` or mintToken from @sluice/server)',
    );
  }
}

export class OperationUnsupportedError extends SluiceError {
  readonly code = 'OPERATION_UNSUPPORTED';
}

export class ConditionalCheckFailedError extends SluiceError {
  readonly code = 'CONDITIONAL_CHECK_FAILED';
  constructor(readonly segment: string, readonly length: number) {
    super(`conditional append on ${segment} failed: its length is now ${length}`);
  }
}

/**
 * The segment's container has fewer than a majority of its replicas in sync, so the append could not
 * be made durable on a majority and was not acknowledged. Writers keep retrying within their retry
 * window; it passes once enough replicas are back (or the cluster has chosen a new primary).
 */
export class NotEnoughReplicasError extends SluiceError {
  readonly code = 'NOT_ENOUGH_REPLICAS';
  override readonly retriable = true;
  constructor(readonly segment: string, reason: string) {
    super(`${segment} is not writable right now: ${reason}`);
  }
}

/**
 * An ErrorMessage reply: the server could not do what was asked, for the reason it gives. It is
 * retriable when the protocol's error-code table says its code is (trouble that passes: a restart, a
 * shutdown, a flow that lost its append setup, a primary that moved).
 */
export class ServerError extends SluiceError {
  readonly code = 'SERVER_ERROR';
  override readonly retriable: boolean;
  constructor(readonly serverCode: string, message: string) {
    super(`server error ${serverCode}: ${message}`);
    this.retriable = isRetriableCode(serverCode);
  }
}

/**
 * The node found stored data corrupt (a record failing its CRC) where this request read: nothing of
 * it was returned. Not retriable: the operator must restore or repair the node's data (the message
 * names segment, offset and log file).
 */
export class DataCorruptionError extends SluiceError {
  readonly code = 'DATA_CORRUPTION';
}

/** The peer broke the wire protocol; the connection was closed. */
export class ProtocolViolationError extends SluiceError {
  readonly code = 'PROTOCOL_VIOLATION';
  override readonly retriable = true;
}

export class InvalidOptionError extends SluiceError {
  readonly code = 'INVALID_OPTION';
  constructor(readonly option: string, problem: string) {
    super(`invalid ${option}: ${problem}`);
  }
}

export class EventTooLargeError extends SluiceError {
  readonly code = 'EVENT_TOO_LARGE';
  constructor(readonly size: number, readonly maxEventSize: number) {
    super(
      `event of ${size} bytes exceeds the maximum event size of ${maxEventSize} bytes; split it into smaller events, ` +
        "or raise the limit (the writer option maxEventSize, up to the node's --max-event-size)",
    );
  }
}

/** An event's headers are past the bound of the envelope: all of them (headerName null), or one name. */
export class HeadersTooLargeError extends SluiceError {
  readonly code = 'HEADERS_TOO_LARGE';
  constructor(readonly size: number, readonly limit: number, readonly headerName: string | null = null) {
    super(
      headerName === null
        ? `event headers take ${size} bytes encoded; the limit is ${limit} bytes (each header counts its UTF-8 name ` +
            'and value plus 3 bytes): move large values into the event data'
        : `header name ${JSON.stringify(headerName)} is ${size} bytes in UTF-8; the limit is ${limit} bytes`,
    );
  }
}

/**
 * A writer could not make its pending events durable within its retry window (the owner of the
 * segment stayed unreachable). Those events may or may not be stored; writing them again may store
 * them twice.
 */
export class RetryWindowExceededError extends SluiceError {
  readonly code = 'RETRY_WINDOW_EXCEEDED';
  override readonly retriable = true;
  constructor(readonly segment: string, readonly retryWindowMs: number, options?: { cause?: unknown }) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`writes to ${segment} were not acknowledged within the retry window of ${retryWindowMs} ms${cause}`, options);
  }
}

export class ClientClosedError extends SluiceError {
  readonly code = 'CLIENT_CLOSED';
  constructor(what = 'client') {
    super(`the ${what} is closed; create a new one to continue`);
  }
}

/** describeReaderGroup named a group that no reader of that stream ever created. */
export class NoSuchReaderGroupError extends SluiceError {
  readonly code = 'NO_SUCH_READER_GROUP';
  constructor(readonly stream: string, readonly group: string) {
    super(`reader group ${group} of stream ${stream} does not exist; a group is created by its first reader (createReader with { group })`);
  }
}

/** Another live process already reads in this group under the same readerId. */
export class ReaderIdInUseError extends SluiceError {
  readonly code = 'READER_ID_IN_USE';
  constructor(readonly group: string, readonly readerId: string) {
    super(
      `reader id ${readerId} is held by another live reader of group ${group}; give each process its own readerId ` +
        '(a restarted process may reuse its id once the old one has stopped for sessionTimeoutMs)',
    );
  }
}

/** Turns an error reply from the server into the matching typed error. */
export function errorFromReply(reply: ErrorReply): SluiceError {
  switch (reply.type) {
    case 'WrongHost':
      return new WrongHostError(reply.segment, reply.owner);
    case 'NoSuchSegment':
      return new NoSuchSegmentError(reply.segment);
    case 'SegmentAlreadyExists':
      return new SegmentAlreadyExistsError(reply.segment);
    case 'SegmentIsSealed':
      return new SegmentIsSealedError(reply.segment, reply.length);
    case 'SegmentIsTruncated':
      return new SegmentIsTruncatedError(reply.segment, reply.startOffset);
    case 'InvalidEventNumber':
      return new InvalidEventNumberError(reply.segment, reply.writerId, reply.lastEventNumber);
    case 'AuthTokenCheckFailed':
      return new AuthTokenCheckFailedError(reply.message, reply.segment);
    case 'OperationUnsupported':
      return new OperationUnsupportedError(reply.message);
    case 'ConditionalCheckFailed':
      return new ConditionalCheckFailedError(reply.segment, reply.length);
    case 'ErrorMessage':
      return reply.code === 'DATA_CORRUPTION' ? new DataCorruptionError(reply.message) : new ServerError(reply.code, reply.message);
    case 'NotEnoughReplicas':
      return new NotEnoughReplicasError(reply.segment, reply.message);
  }
}
