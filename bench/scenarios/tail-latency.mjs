// tail-latency: a reader waiting at the tail; one durable 100-byte write at a time; the time from the
// write call to the reader having the event. value = p50 µs (lower is better), p99 in extra. Beside
// it the disk's floor (dsync-floor: one awaited O_DSYNC write, back to back): an event reaches a
// reader only once it is durable, so no row can go below it.
import { DSYNC_FLOOR, dsyncFloor } from '../lib/limits.mjs';
import { atMostTimesOf, runSystems, withFloorDistance } from '../lib/rows.mjs';
import { redisTailLatency } from '../peers/workloads.mjs';
import { sluiceTailLatency } from '../lib/sluice-workloads.mjs';

const UNIT = 'µs';

export function runSluice(ctx, onProgress) {
  return sluiceTailLatency(ctx, onProgress);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'tail-latency',
  description: 'write -> reader waiting at the tail, one event at a time, p50 (and p99) µs; dsync-floor: one awaited O_DSYNC write',
  reference: 'redis',
  goal: [{ system: 'sluice', text: 'p50 ≤ redis p50', check: atMostTimesOf('redis', 1) }],
  async run(ctx) {
    const rows = await runSystems(ctx, [
      { system: 'sluice', unit: UNIT, better: 'lower', measure: (p) => runSluice(ctx, p) },
      { system: 'redis', unit: UNIT, better: 'lower', measure: (p) => redisTailLatency(ctx, p) },
      { system: DSYNC_FLOOR, unit: UNIT, better: 'lower', measure: (p) => dsyncFloor(ctx, p, { unit: UNIT }) },
    ]);
    return withFloorDistance(rows, DSYNC_FLOOR, ['sluice', 'redis']);
  },
};
