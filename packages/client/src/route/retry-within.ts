import { backoffDelay, sleep } from '../connection/backoff.js';
import { isRetriable } from './retriable.js';

/**
 * Runs attempt until it succeeds, fails with an error that is not retriable, or windowMs has passed
 * (then the last error is thrown), backing off between attempts. For steps made of several admin
 * calls (a scale, a writer's hand-over) that must outlast a node restart: one admin call only retries
 * within the request timeout, and not at all once the pool gave up connecting.
 */
export async function retryWithin<T>(windowMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + windowMs;
  for (let attemptNumber = 0; ; attemptNumber++) {
    try {
      return await attempt();
    } catch (error) {
      const delayMs = backoffDelay(attemptNumber);
      if (!isRetriable(error) || Date.now() + delayMs >= deadline) throw error;
      await sleep(delayMs);
    }
  }
}
