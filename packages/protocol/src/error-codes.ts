import type { Command, CommandName } from './commands.js';
import type { ProtocolErrorCode } from './errors.js';

interface ErrorCodeSpec {
  /** The same request may succeed if made again later (after a reconnect, a redirect, a restart). */
  readonly retriable: boolean;
  /** The error reply of its own that carries this code; without one, the code travels in ErrorMessage. */
  readonly reply?: CommandName;
}

/**
 * The one table of error codes a node sends: the codes of the error replies of their own type, and
 * those an ErrorMessage carries. A node sends no code that is not here (its error replies are typed
 * by it), and a client takes from it which failures pass (ServerError.retriable). A new code is one
 * entry here.
 */
export const ERROR_CODES = {
  // Error replies of their own type.
  WRONG_HOST: { retriable: true, reply: 'WrongHost' },
  NO_SUCH_SEGMENT: { retriable: false, reply: 'NoSuchSegment' },
  SEGMENT_ALREADY_EXISTS: { retriable: false, reply: 'SegmentAlreadyExists' },
  SEGMENT_IS_SEALED: { retriable: false, reply: 'SegmentIsSealed' },
  SEGMENT_IS_TRUNCATED: { retriable: false, reply: 'SegmentIsTruncated' },
  INVALID_EVENT_NUMBER: { retriable: false, reply: 'InvalidEventNumber' },
  AUTH_TOKEN_CHECK_FAILED: { retriable: false, reply: 'AuthTokenCheckFailed' },
  OPERATION_UNSUPPORTED: { retriable: false, reply: 'OperationUnsupported' },
  CONDITIONAL_CHECK_FAILED: { retriable: false, reply: 'ConditionalCheckFailed' },
  // Too few replicas of the container answered (or this primary was fenced): the cluster heals or moves on.
  NOT_ENOUGH_REPLICAS: { retriable: true, reply: 'NotEnoughReplicas' },

  // Trouble that passes: a restart or shutdown in progress, a flow that lost its append setup (dropped
  // at the per-connection bound, or its token expired: set up again with a fresh one).
  NO_APPEND_SETUP: { retriable: true },
  APPEND_SETUP_EXPIRED: { retriable: true },
  STORE_CLOSED: { retriable: true },
  SHUTTING_DOWN: { retriable: true },
  INTERNAL_ERROR: { retriable: true },
  // Coordinated clusters: this replica is not (or no longer) the container's primary.
  NOT_PRIMARY: { retriable: true },
  FENCED: { retriable: true },

  // The request must change.
  EVENT_TOO_LARGE: { retriable: false },
  MALFORMED_BLOCK: { retriable: false },
  MALFORMED_ENVELOPE: { retriable: false },
  HEADERS_TOO_LARGE: { retriable: false },
  EVENT_COUNT_MISMATCH: { retriable: false },
  INVALID_OFFSET: { retriable: false },

  // The node's data needs an operator: a record failed its CRC; the container's log cannot be written.
  DATA_CORRUPTION: { retriable: false },
  DISK_FULL: { retriable: false },

  // Refusals that close the connection: the handshake, limits, and protocol errors (ProtocolErrorCode).
  UNSUPPORTED_VERSION: { retriable: false },
  CLUSTER_MISMATCH: { retriable: false },
  TLS_REQUIRED: { retriable: false },
  NODE_STARTING: { retriable: false },
  TOO_MANY_CONNECTIONS: { retriable: false },
  HELLO_TIMEOUT: { retriable: false },
  FRAME_TIMEOUT: { retriable: false },
  UNEXPECTED_COMMAND: { retriable: false },
  PROTOCOL_ERROR: { retriable: false },
  FRAME_TOO_LARGE: { retriable: false },
  FRAME_TOO_SHORT: { retriable: false },
  UNKNOWN_COMMAND: { retriable: false },
  MALFORMED_BODY: { retriable: false },
} as const satisfies Record<string, ErrorCodeSpec> & Record<ProtocolErrorCode, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether code is one of the table's (a code taken from a thrown error may be anything). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** Whether a failure with this code may pass (false for a code this table does not know). */
export function isRetriableCode(code: string): boolean {
  return isErrorCode(code) && ERROR_CODES[code].retriable;
}

const codeByReply = new Map<string, ErrorCode>();
for (const [code, spec] of Object.entries(ERROR_CODES) as Array<[ErrorCode, ErrorCodeSpec]>) {
  if (spec.reply !== undefined) codeByReply.set(spec.reply, code);
}

/** The code an error reply stands for: its ErrorMessage code, or the code of its own type; null for a success reply. */
export function errorCodeOfReply(reply: Command): string | null {
  if (reply.type === 'ErrorMessage') return reply.code;
  return codeByReply.get(reply.type) ?? null;
}
