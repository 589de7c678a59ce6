/**
 * Readers parked at a segment's tail. Each waits for the durable length to pass its offset and is
 * released by the fsync that makes such data durable, by a seal or delete, by its own timeout, or by
 * its AbortSignal. Waits never reject: the caller reads again and sees why it woke.
 */
interface Waiter {
  offset: number;
  release: () => void;
}

export class DataWaiters {
  private readonly waiters = new Set<Waiter>();

  get size(): number {
    return this.waiters.size;
  }

  wait(offset: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const onAbort = (): void => waiter.release();
      const timer = setTimeout(() => waiter.release(), timeoutMs);
      const waiter: Waiter = {
        offset,
        release: () => {
          if (!this.waiters.delete(waiter)) return;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Releases every waiter whose offset is now below the durable length. */
  releaseBelow(durableLength: number): void {
    for (const waiter of this.waiters) if (waiter.offset < durableLength) waiter.release();
  }

  releaseAll(): void {
    for (const waiter of this.waiters) waiter.release();
  }
}
