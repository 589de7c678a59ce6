/**
 * Keeps `from: 'tail'` to its word ("events written after the reader was created") within one
 * client. The tail can only be learned with a round trip, and a write made right after
 * createReader would otherwise race that lookup and land below the tail it finds. So while a tail
 * reader of a stream looks its tail up, this client's writers of that stream hold new writes back
 * (in order); they go as soon as the lookup settles. Writes from other processes are ordered by
 * when they reach the node, as anything without a shared clock must be.
 */
export class TailLookups {
  readonly #pending = new Map<string, Promise<void>>();

  /** Holds writes to stream back until lookup settles (whatever its outcome). */
  hold(stream: string, lookup: Promise<unknown>): void {
    const before = this.#pending.get(stream);
    const settled = Promise.allSettled(before === undefined ? [lookup] : [before, lookup]).then(() => {
      if (this.#pending.get(stream) === settled) this.#pending.delete(stream);
    });
    this.#pending.set(stream, settled);
  }

  /** What a write to stream must wait for first, or null when it may go now. */
  pending(stream: string): Promise<void> | null {
    return this.#pending.get(stream) ?? null;
  }
}
