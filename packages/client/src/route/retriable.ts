import { ConnectFailedError, ServerError, SluiceError } from '../errors.js';

/**
 * Retriable ErrorMessage codes after which the segment is served elsewhere (coordinated clusters): drop the
 * flow and follow the new map. A node that cannot be reached (ConnectFailedError) is the same news.
 */
const ROUTE_CHANGE_CODES: ReadonlySet<string> = new Set(['NOT_PRIMARY', 'FENCED']);

/**
 * Whether the SDK objects retry after error (reconnect, redirect, set up again) rather than give up: an
 * ErrorMessage's code is retriable when the protocol's error-code table says so (ServerError.retriable).
 */
export function isRetriable(error: unknown): boolean {
  return error instanceof SluiceError && error.retriable;
}

export function isRouteChange(error: unknown): boolean {
  return (error instanceof ServerError && ROUTE_CHANGE_CODES.has(error.serverCode)) || error instanceof ConnectFailedError;
}

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
