import { ConnectFailedError, ServerError, SluiceError } from '../errors.js';

/**
 * ErrorMessage codes a node sends for trouble that passes: a restart or shutdown in progress, a
 * flow that lost its append setup (evicted, or its token expired), or (coordinated clusters) a
 * replica that is not or no longer the primary. Writers and readers set up again and retry on these.
 */
const PASSING_SERVER_CODES: ReadonlySet<string> = new Set([
  'NO_APPEND_SETUP',
  'APPEND_SETUP_EXPIRED',
  'STORE_CLOSED',
  'SHUTTING_DOWN',
  'INTERNAL_ERROR',
  'NOT_PRIMARY',
  'FENCED',
]);
/** Of those, the ones after which the segment is served elsewhere: drop the flow and follow the new map. A node
 * that cannot be reached (ConnectFailedError) is the same news. */
const ROUTE_CHANGE_CODES: ReadonlySet<string> = new Set(['NOT_PRIMARY', 'FENCED']);

/** Whether the SDK objects retry after error (reconnect, redirect, set up again) rather than give up. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof ServerError) return PASSING_SERVER_CODES.has(error.serverCode);
  return error instanceof SluiceError && error.retriable;
}

export function isRouteChange(error: unknown): boolean {
  return (error instanceof ServerError && ROUTE_CHANGE_CODES.has(error.serverCode)) || error instanceof ConnectFailedError;
}

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
