import { comparePositions, type LogPosition } from '../store/log-files.js';

/** How many of `replicas` make a majority (the primary counts itself). */
export function majorityOf(replicas: number): number {
  return Math.floor(replicas / 2) + 1;
}

/**
 * The furthest log position that a majority of the container's `replicas` hold durably, given the
 * durable ends reported so far (one per replica heard from, the primary's own included); null when
 * fewer than a majority have reported. A record ending at or before it survives any failover that
 * fences a majority, since the two majorities share a replica.
 */
export function majorityPosition(durableEnds: readonly LogPosition[], replicas: number): LogPosition | null {
  const majority = majorityOf(replicas);
  if (durableEnds.length < majority) return null;
  const sorted = [...durableEnds].sort((a, b) => comparePositions(b, a));
  return { ...sorted[majority - 1]! };
}
