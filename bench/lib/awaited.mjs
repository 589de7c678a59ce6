// One awaited durable write at a time, measured the same way for every system (Sluice, the peers,
// the disk's floor), back to back or paced like an application writing one event per request.
import { awaitedLoop, sig3, sporadicLoop } from './measure.mjs';
import { lowerRow, row } from './rows.mjs';

/**
 * @typedef {'back-to-back' | 'sporadic'} Pace
 * back-to-back: the next write starts when the last resolved (append-awaited);
 * sporadic: one write every SPORADIC_INTERVAL_MS (append-sporadic).
 */

/** The unit of an awaited-write row: events/s back to back (unless asked for µs), p50 µs when sporadic. */
export const awaitedUnit = (pace, unit = 'events/s') => (pace === 'sporadic' ? 'µs' : unit);

/**
 * Runs `op(i)` (one awaited write, resolving when it is durable) at `pace` and returns the system's
 * row: events/s with p50/p99 extras, or, in µs, the p50 as value (lower is better) with p99 beside it.
 */
export async function measureAwaited(ctx, onProgress, { system, pace = 'back-to-back', unit = 'events/s', extra = {} }, op) {
  if (pace === 'sporadic') {
    const { p50Us, p99Us, samples } = await sporadicLoop(ctx, onProgress, op);
    return lowerRow(system, p50Us, 'µs', { p50Us, p99Us, samples, ...extra });
  }
  const { perSecond, p50Us, p99Us, p999Us, maxUs } = await awaitedLoop(ctx, onProgress, op);
  if (unit === 'µs') return lowerRow(system, p50Us, 'µs', { p50Us, p99Us, p999Us, maxUs, ...extra });
  return row(system, sig3(perSecond), unit, { p50Us, p99Us, p999Us, maxUs, ...extra });
}
