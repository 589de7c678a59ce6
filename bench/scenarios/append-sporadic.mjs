// append-sporadic: one durable 100-byte write every 10 ms, each awaited (an application writing one
// event per request): p50 µs, p99 beside it. Between writes every process goes idle, so the latency
// includes waking up: threads, event loops and caches that went cold. Beside it the disk's floor
// paced the same way (dsync-floor) and Redis with appendfsync always.
import { DSYNC_FLOOR, dsyncFloor } from '../lib/limits.mjs';
import { allOf, extraBelowOf, nearFloor, runSystems, withFloorDistance } from '../lib/rows.mjs';
import { redisAppendAwaited } from '../peers/workloads.mjs';
import { sluiceAppendAwaited } from '../lib/sluice-workloads.mjs';

const UNIT = 'µs';
const PACE = 'sporadic';

export function runSluice(ctx, onProgress) {
  return sluiceAppendAwaited(ctx, onProgress, { pace: PACE });
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-sporadic',
  description: 'one durable 100-byte write every 10 ms, awaited: p50 (and p99) µs; dsync-floor: an O_DSYNC write at the same pace',
  reference: 'redis-always',
  goal: [
    {
      system: 'sluice',
      text: 'p50 ≤ dsync-floor p50 + 100 µs, p99 ≤ 2× dsync-floor p99, p50 < redis-always p50',
      check: allOf(nearFloor(DSYNC_FLOOR, { p50PlusUs: 100, p99Times: 2 }), extraBelowOf('redis-always', 'p50Us')),
    },
  ],
  async run(ctx) {
    const rows = await runSystems(ctx, [
      { system: 'sluice', unit: UNIT, better: 'lower', measure: (p) => runSluice(ctx, p) },
      { system: DSYNC_FLOOR, unit: UNIT, better: 'lower', measure: (p) => dsyncFloor(ctx, p, { pace: PACE }) },
      { system: 'redis-always', unit: UNIT, better: 'lower', measure: (p) => redisAppendAwaited(ctx, p, { pace: PACE }) },
    ]);
    return withFloorDistance(rows, DSYNC_FLOOR, ['sluice', 'redis-always']);
  },
};
