// append-awaited: one durable 100-byte write at a time, each awaited: events/s with p50/p99 µs.
// Beside it the disk's floor measured by the same loop (dsync-floor: an O_DSYNC pwrite, in process);
// the goal is about the distance to that floor, from the same run.
import { DSYNC_FLOOR, dsyncFloor } from '../lib/limits.mjs';
import { allOf, extraBelowOf, nearFloor, runSystems, withFloorDistance } from '../lib/rows.mjs';
import { natsAppendAwaited, redisAppendAwaited } from '../peers/workloads.mjs';
import { sluiceAppendAwaited } from '../lib/sluice-workloads.mjs';

const UNIT = 'events/s';

export function runSluice(ctx, onProgress) {
  return sluiceAppendAwaited(ctx, onProgress);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-awaited',
  description: 'one durable 100-byte write at a time, awaited: events/s with p50/p99 latency; dsync-floor: an O_DSYNC write in the same loop',
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
      { system: 'sluice', unit: UNIT, measure: (p) => runSluice(ctx, p) },
      { system: DSYNC_FLOOR, unit: UNIT, measure: (p) => dsyncFloor(ctx, p) },
      { system: 'redis-always', unit: UNIT, measure: (p) => redisAppendAwaited(ctx, p) },
      { system: 'nats', unit: UNIT, measure: (p) => natsAppendAwaited(ctx, p) },
    ]);
    return withFloorDistance(rows, DSYNC_FLOOR, ['sluice', 'redis-always']);
  },
};
