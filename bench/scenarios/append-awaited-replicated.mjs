// append-awaited-replicated: append-awaited (one durable 100-byte write at a time) on a replicated
// cluster (3 nodes, RF 3), against a single node measured in turns with it (measureInTurns), so the
// disk's swings hit both alike: what waiting for a majority costs. Beside them, in the same turns,
// the disk's own floors: one O_DSYNC write (dsync-floor) and three at once until two are durable
// (dsync-majority-floor): the three nodes here share one disk, which a real cluster would not.
import { measureInTurns } from '../lib/awaited.mjs';
import { DSYNC_FLOOR, DSYNC_MAJORITY_FLOOR, openDsyncFloor, openDsyncMajorityFloor } from '../lib/limits.mjs';
import { extraAtMostTimesOf, runSystems } from '../lib/rows.mjs';
import { openSluiceAwaited } from '../lib/sluice-workloads.mjs';

const UNIT = 'events/s';

/**
 * The replicated row alone, for bench/compare.mjs: it measures two trees' clusters in turns with
 * each other (p50/p99 side by side), so the disk's swings hit both alike.
 */
export const sluiceSession = { options: {}, open: (ctx) => openSluiceAwaited(ctx, { system: 'sluice-replicated', replicated: true }) };

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-awaited-replicated',
  description:
    'one durable 100-byte write at a time, awaited, on 3 coordinated nodes with replication factor 3 (acknowledged once a majority has it fsynced): events/s with p50/p99, in turns with one node and with the disk floors (dsync-floor: one O_DSYNC write; dsync-majority-floor: three at once, until two returned)',
  reference: 'sluice',
  goal: [{ system: 'sluice-replicated', text: 'p50 ≤ 2× single-node sluice p50', check: extraAtMostTimesOf('sluice', 'p50Us', 2) }],
  async run(ctx) {
    const inTurns = [
      { system: 'sluice', open: () => openSluiceAwaited(ctx) },
      { system: 'sluice-replicated', open: () => openSluiceAwaited(ctx, { system: 'sluice-replicated', replicated: true }) },
      { system: DSYNC_FLOOR, open: () => openDsyncFloor(ctx) },
      { system: DSYNC_MAJORITY_FLOOR, open: () => openDsyncMajorityFloor(ctx) },
    ];
    return runSystems(ctx, [{ system: 'sluice, sluice-replicated, dsync-floor, dsync-majority-floor', unit: UNIT, measure: (p) => measureInTurns(ctx, p, inTurns) }]);
  },
};
