export interface ProtocolLimits {
  /** Largest frame accepted, header included. A larger length prefix is refused before any buffering. */
  maxFrameSize: number;
  /** Largest single event inside an append block. */
  maxEventSize: number;
}

export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxFrameSize: 16 * 1024 * 1024,
  maxEventSize: 8 * 1024 * 1024,
});
