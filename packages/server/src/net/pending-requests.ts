/** One request between its arrival and its reply. */
export interface PendingRequest {
  readonly flowId: number;
  readonly sequence: number;
  /** Its frame and its own memory, counted against --max-unacked-bytes until it is answered. */
  readonly bytes: number;
  answered: boolean;
}

/**
 * A pending request's own memory (decoded command, bookkeeping), counted with its frame bytes
 * against --max-unacked-bytes: a flood of tiny requests (reads waiting at the tail or for reply
 * room) is bounded too, not only one of large ones.
 */
const REQUEST_MEMORY_BYTES = 512;

/**
 * The requests of one connection that have arrived and are not answered yet: how many, how many
 * bytes they hold (flow control's measure), and who waits for the last of them (a draining node).
 * Each request is answered exactly once.
 */
export class PendingRequests {
  private count = 0;
  private bytes = 0;
  private onAllAnswered: (() => void) | null = null;

  get size(): number {
    return this.count;
  }

  /** Request bytes waiting for their replies. */
  get unackedBytes(): number {
    return this.bytes;
  }

  /** Counts a request that arrived in a frame of frameBytes (header and body). */
  open(flowId: number, sequence: number, frameBytes: number): PendingRequest {
    const request: PendingRequest = { flowId, sequence, bytes: frameBytes + REQUEST_MEMORY_BYTES, answered: false };
    this.count += 1;
    this.bytes += request.bytes;
    return request;
  }

  /** Marks the request answered; false when it already was (its later replies are dropped). */
  settle(request: PendingRequest): boolean {
    if (request.answered) return false;
    request.answered = true;
    this.count -= 1;
    this.bytes -= request.bytes;
    return true;
  }

  /** Tells whoever waits for every request to be answered, once none is pending. */
  notifyIfAllAnswered(): void {
    if (this.count === 0) this.release();
  }

  /** Resolves when every pending request has been answered (or the connection is gone). */
  allAnswered(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.onAllAnswered = resolve;
    });
  }

  /** Stops the wait for answers: the connection closed, nothing more will be answered. */
  release(): void {
    this.onAllAnswered?.();
    this.onAllAnswered = null;
  }
}
