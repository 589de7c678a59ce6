import { SluiceError, TimeoutError } from '../errors.js';
import { backoffDelay, sleep } from './backoff.js';

/**
 * Runs attempt until it succeeds, fails with an error that is not retriable, or the deadline passes
 * (then the last error is thrown). Backoff between attempts is exponential with jitter.
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: { deadline: number; isRetriable?: (error: unknown) => boolean; onRetry?: (error: unknown, delayMs: number) => void },
): Promise<T> {
  const isRetriable = options.isRetriable ?? ((error) => error instanceof SluiceError && error.retriable);
  for (let attemptNumber = 0; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      const delayMs = backoffDelay(attemptNumber);
      if (!isRetriable(error) || Date.now() + delayMs >= options.deadline) throw error;
      options.onRetry?.(error, delayMs);
      await sleep(delayMs);
    }
  }
}

export function deadlineAfter(ms: number): number {
  return Date.now() + ms;
}

export function isTimeout(error: unknown): error is TimeoutError {
  return error instanceof TimeoutError;
}
