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

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
