import { decodeFrameCommand, isErrorReply, ProtocolError, type Command, type RawFrame } from '@sluice/protocol';
import { errorFromReply, ProtocolViolationError, TimeoutError, type SluiceError } from '../errors.js';

interface Pending {
  resolve(reply: Command): void;
  reject(error: SluiceError): void;
  timer: NodeJS.Timeout;
  /** Frame bytes counted as outstanding on the connection until the request settles. */
  bytes: number;
}

/**
 * The requests one flow (or a connection's own traffic) is waiting on, keyed by sequence. Every entry
 * settles exactly once: with its reply, its timeout, or rejectAll when the connection or flow ends.
 */
export class PendingRequests {
  private readonly entries = new Map<number, Pending>();

  constructor(private readonly onSettled: (bytes: number) => void) {}

  get size(): number {
    return this.entries.size;
  }

  add(sequence: number, bytes: number, timeoutMs: number, describe: () => string): Promise<Command> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.take(sequence)) reject(new TimeoutError(`no reply to ${describe()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.entries.set(sequence, { resolve, reject, timer, bytes });
    });
  }

  /**
   * Settles the request a reply frame answers. Returns false when no request has that sequence (the
   * caller counts it and drops it). Throws ProtocolError when the body does not decode: the peer broke
   * the protocol and the caller closes the connection.
   */
  settle(frame: RawFrame): boolean {
    const pending = this.take(frame.sequence);
    if (!pending) return false;
    let reply: Command;
    try {
      reply = decodeFrameCommand(frame);
    } catch (error) {
      pending.reject(new ProtocolViolationError(`undecodable reply: ${(error as Error).message}`));
      throw error instanceof ProtocolError ? error : new ProtocolError('MALFORMED_BODY', String(error));
    }
    if (isErrorReply(reply)) pending.reject(errorFromReply(reply));
    else pending.resolve(reply);
    return true;
  }

  rejectAll(error: SluiceError): void {
    for (const sequence of [...this.entries.keys()]) this.take(sequence)?.reject(error);
  }

  private take(sequence: number): Pending | undefined {
    const pending = this.entries.get(sequence);
    if (!pending) return undefined;
    this.entries.delete(sequence);
    clearTimeout(pending.timer);
    this.onSettled(pending.bytes);
    return pending;
  }
}
