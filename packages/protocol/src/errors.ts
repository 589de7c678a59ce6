/** Why a peer's bytes were refused. Stable strings: they appear in logs and in ErrorMessage replies. */
export type ProtocolErrorCode =
  | 'FRAME_TOO_LARGE'
  | 'FRAME_TOO_SHORT'
  | 'UNKNOWN_COMMAND'
  | 'MALFORMED_BODY'
  | 'MALFORMED_BLOCK'
  | 'MALFORMED_ENVELOPE'
  | 'HEADERS_TOO_LARGE'
  | 'EVENT_TOO_LARGE'
  | 'UNSUPPORTED_VERSION'
  | 'UNEXPECTED_COMMAND';

/**
 * The only exception the codec throws. A peer that causes one has broken the protocol:
 * the receiving side replies with ErrorMessage where it knows a request id and closes that connection.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}
