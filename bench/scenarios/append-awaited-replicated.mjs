// append-awaited-replicated: append-awaited (one durable 100-byte write at a time) on a replicated
// cluster (3 nodes, RF 3), against a single node measured in turns with it (measureInTurns), so the
// disk's swings hit both alike: what waiting for a majority costs.
import { measureInTurns } from '../lib/awaited.mjs';
import { extraAtMostTimesOf, runSystems } from '../lib/rows.mjs';
import { openSluiceAwaited } from '../lib/sluice-workloads.mjs';

const UNIT = 'events/s';

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-awaited-replicated',
  description:
    'one durable 100-byte write at a time, awaited, on 3 coordinated nodes with replication factor 3 (acknowledged once a majority has it fsynced): events/s with p50/p99, in turns with one node',
  reference: 'sluice',
  goal: [{ system: 'sluice-replicated', text: 'p50 ≤ 2× single-node sluice p50', check: extraAtMostTimesOf('sluice', 'p50Us', 2) }],
  async run(ctx) {
    const inTurns = [
      { system: 'sluice', open: () => openSluiceAwaited(ctx) },
      { system: 'sluice-replicated', open: () => openSluiceAwaited(ctx, { system: 'sluice-replicated', replicated: true }) },
    ];
    return runSystems(ctx, [{ system: 'sluice, sluice-replicated', unit: UNIT, measure: (p) => measureInTurns(ctx, p, inTurns) }]);
  },
};
