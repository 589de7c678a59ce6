// append-100b-replicated: append-100b's load on a replicated cluster (3 nodes, RF 3: an append is
// acknowledged once 2 of 3 replicas have it durable), beside a single node measured in turns with it
// (measureInTurns, 500 ms turns): measured one after another, the two rows got different minutes of
// this shared machine and their ratio swung from 0.24x to 0.79x between runs.
import { measureInTurns } from '../lib/awaited.mjs';
import { runSystems, timesOf } from '../lib/rows.mjs';
import { openSluiceThroughput } from '../lib/sluice-workloads.mjs';

const UNIT = 'events/s';

/** Both rows, in turns (also what bench/compare.mjs runs on each side). */
export function runSluice(ctx, onProgress) {
  return measureInTurns(ctx, onProgress, [
    { system: 'sluice', open: () => openSluiceThroughput(ctx) },
    { system: 'sluice-replicated', open: () => openSluiceThroughput(ctx, { system: 'sluice-replicated', replicated: true }) },
  ]);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-100b-replicated',
  description:
    'append-100b (one writer, 100-byte events, 16 k in flight, durable) on 3 coordinated nodes with replication factor 3 (etcd; acknowledged once a majority has it fsynced), in turns with one node',
  reference: 'sluice',
  goal: [{ system: 'sluice-replicated', text: '≥ 0.5× single-node sluice', check: timesOf('sluice', 0.5) }],
  async run(ctx) {
    return runSystems(ctx, [{ system: 'sluice, sluice-replicated', unit: UNIT, measure: (p) => runSluice(ctx, p) }]);
  },
};
