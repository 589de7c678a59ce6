// tail-latency: a reader waiting at the tail; one durable 100-byte write at a time; the time from the
// write call to the reader having the event. value = p50 µs (lower is better), p99 in extra. Beside
// it the disk's floor (dsync-floor: one awaited O_DSYNC write): an event reaches a reader only once
// it is durable, so no row can go below it. The three are measured in turns (measureInTurns).
import { measureInTurns, sluiceSide } from '../lib/awaited.mjs';
import { DSYNC_FLOOR, openDsyncFloor } from '../lib/limits.mjs';
import { atMostTimesOf, withFloorDistance } from '../lib/rows.mjs';
import { openRedisTail } from '../peers/workloads.mjs';
import { openSluiceTail } from '../lib/sluice-workloads.mjs';

const UNIT = 'µs';

/** The Sluice side, alone or measured in turns with another tree's (bench/compare.mjs). */
export const { sluiceSession, runSluice } = sluiceSide((ctx) => openSluiceTail(ctx), { unit: UNIT });

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'tail-latency',
  description: 'write -> reader waiting at the tail, one event at a time, p50 (and p99) µs; dsync-floor: one awaited O_DSYNC write; in turns',
  reference: 'redis',
  goal: [{ system: 'sluice', text: 'p50 ≤ redis p50', check: atMostTimesOf('redis', 1) }],
  async run(ctx) {
    const rows = await measureInTurns(
      ctx,
      ctx.part(0, 1, 'sluice, redis, dsync-floor'),
      [
        { system: 'sluice', open: () => openSluiceTail(ctx) },
        { system: 'redis', open: () => openRedisTail(ctx) },
        { system: DSYNC_FLOOR, open: () => openDsyncFloor(ctx) },
      ],
      { unit: UNIT },
    );
    return withFloorDistance(rows, DSYNC_FLOOR, ['sluice', 'redis']);
  },
};
