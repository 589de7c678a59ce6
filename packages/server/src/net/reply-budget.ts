/**
 * Bounds the reply bytes one connection's reads produce at once. A read request is a few dozen
 * bytes but may be answered with megabytes: counting request bytes alone, a peer pipelining small
 * reads of a large segment (and not reading its replies) made a node hold gigabytes. So a read
 * reserves its maxBytes before it reads and gives them back once it has its data (the reply then
 * counts in the connection's outgoing bytes); reads that find no room wait in arrival order. No room
 * is given either while the replies not yet taken by the peer pass the bound.
 *
 * A read waiting at a segment's tail holds nothing (it reserves again when data arrives), so tail
 * waits never hold up other reads. One read always fits when nothing else is reserved, whatever its
 * size. Replies taken from the budget but not yet handed to the socket make the bound approximate:
 * at most about twice maxBytes.
 */
export class ReplyBudget {
  private reserved = 0;
  private waiting: Array<{ bytes: number; grant: () => void; refuse: (reason: unknown) => void }> = [];

  constructor(
    private readonly maxBytes: number,
    /** Reply bytes written but not yet taken by the peer (reply writer + socket buffer). */
    private readonly outgoingBytes: () => number,
    /** Aborted when the connection closes or drains: waiting reads are refused with its reason. */
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.refuseWaiting(), { once: true });
  }

  get reservedBytes(): number {
    return this.reserved;
  }

  get waitingReads(): number {
    return this.waiting.length;
  }

  /** Resolves when bytes are reserved: at once when there is room and no one waits before. */
  acquire(bytes: number): Promise<void> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason);
    if (this.tryAcquire(bytes)) return Promise.resolve();
    return new Promise((grant, refuse) => this.waiting.push({ bytes, grant, refuse }));
  }

  /** Reserves bytes when acquire would grant them at once; false (nothing reserved) otherwise. */
  tryAcquire(bytes: number): boolean {
    if (this.signal.aborted || this.waiting.length > 0 || !this.fits(bytes)) return false;
    this.reserved += bytes;
    return true;
  }

  release(bytes: number): void {
    this.reserved -= bytes;
    this.pump();
  }

  /** Grants waiting reads, in order, while they fit. Call when outgoing bytes drain. */
  pump(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.reserved += next.bytes;
      next.grant();
    }
  }

  private fits(bytes: number): boolean {
    if (this.outgoingBytes() > this.maxBytes) return false;
    return this.reserved === 0 || this.reserved + bytes <= this.maxBytes;
  }

  private refuseWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const entry of waiting) entry.refuse(this.signal.reason);
  }
}
