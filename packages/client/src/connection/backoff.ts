/** Bounded exponential backoff with full jitter: spreads retries of many flows so they don't stampede. */
export interface BackoffSettings {
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialDelayMs: 20, maxDelayMs: 1_000 };

export function backoffDelay(attempt: number, settings: BackoffSettings = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Backoff pauses that their owner can cut short all at once when it closes. Each pause is a timer and
 * an entry in a set: unlike pauses listening on one shared AbortSignal, any number may run at once
 * (a connection attempt per waiting flow while a node is down) without piling listeners on a signal.
 */
export class Pauses {
  readonly #ends = new Set<() => void>();
  #ended = false;

  /** Resolves after ms, or at once when endAll was or is called. */
  pause(ms: number): Promise<void> {
    if (this.#ended) return Promise.resolve();
    return new Promise((resolve) => {
      const end = (): void => {
        clearTimeout(timer);
        this.#ends.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.#ends.add(end);
    });
  }

  endAll(): void {
    this.#ended = true;
    for (const end of [...this.#ends]) end();
  }
}
