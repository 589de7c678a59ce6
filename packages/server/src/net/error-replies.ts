import { ProtocolError, type Command, type ErrorCode } from '@sluice/protocol';

import { FencedError, NotEnoughReplicasError } from '../replication/errors.js';
import { StoreError } from '../store/types.js';

/** A request-scoped failure the handler raises itself; it becomes an ErrorMessage with this code. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An ErrorMessage reply; its code is one of @sluice/protocol's ERROR_CODES, so a misspelt code does not compile. */
export function errorMessage(code: ErrorCode, message: string): Command {
  return { type: 'ErrorMessage', code, message };
}

/**
 * The error reply of the same meaning as a failure while serving a request on `segment`.
 * Returns null for failures that are not the peer's doing (bugs, I/O); the caller logs those
 * and answers INTERNAL_ERROR.
 */
export function errorReplyOf(error: unknown, segment: string, writerId: string | null): Command | null {
  if (error instanceof StoreError) {
    const { detail } = error;
    switch (error.code) {
      case 'NO_SUCH_SEGMENT':
        return { type: 'NoSuchSegment', segment };
      case 'SEGMENT_ALREADY_EXISTS':
        return { type: 'SegmentAlreadyExists', segment };
      case 'SEGMENT_IS_SEALED':
        return { type: 'SegmentIsSealed', segment, length: detail.length ?? 0 };
      case 'SEGMENT_IS_TRUNCATED':
        return { type: 'SegmentIsTruncated', segment, startOffset: detail.startOffset ?? 0 };
      case 'INVALID_EVENT_NUMBER':
        return { type: 'InvalidEventNumber', segment, writerId: writerId ?? '', lastEventNumber: detail.lastEventNumber ?? -1 };
      case 'CONDITIONAL_CHECK_FAILED':
        return { type: 'ConditionalCheckFailed', segment, length: detail.length ?? 0 };
      default:
        return errorMessage(error.code, error.message);
    }
  }
  if (error instanceof NotEnoughReplicasError) return { type: 'NotEnoughReplicas', segment, message: error.message };
  // A newer primary exists: the client learns the map again and follows it.
  if (error instanceof FencedError) return errorMessage(error.code, error.message);
  if (error instanceof RequestError || error instanceof ProtocolError) return errorMessage(error.code, error.message);
  return null;
}
