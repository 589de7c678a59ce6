import { ServerError, SluiceError } from '../errors.js';

/**
 * ErrorMessage codes a node sends for trouble that passes: a restart or shutdown in progress, or a
 * flow that lost its append setup (evicted, or its token expired). Writers and readers set up again
 * (with a fresh token) and retry on these.
 */
const PASSING_SERVER_CODES: ReadonlySet<string> = new Set(['NO_APPEND_SETUP', 'APPEND_SETUP_EXPIRED', 'STORE_CLOSED', 'SHUTTING_DOWN', 'INTERNAL_ERROR']);

/** Whether the SDK objects retry after error (reconnect, redirect, set up again) rather than give up. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof ServerError) return PASSING_SERVER_CODES.has(error.serverCode);
  return error instanceof SluiceError && error.retriable;
}

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
