// append-100b-replicated: append-100b's load on a replicated cluster (3 nodes, RF 3: an append is
// acknowledged once 2 of 3 replicas have it durable), beside a single node measured in the same run.
import { runSystems, timesOf } from '../lib/rows.mjs';
import { sluiceAppend } from '../lib/sluice-workloads.mjs';
import { runSluice } from './append-100b.mjs';

const UNIT = 'events/s';

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-100b-replicated',
  description:
    'append-100b (one writer, 100-byte events, 16 k in flight, durable) on 3 coordinated nodes with replication factor 3 (etcd; acknowledged once a majority has it fsynced), against one node in the same run',
  reference: 'sluice',
  goal: [{ system: 'sluice-replicated', text: '≥ 0.5× single-node sluice', check: timesOf('sluice', 0.5) }],
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice', unit: UNIT, measure: (p) => runSluice(ctx, p) },
      { system: 'sluice-replicated', unit: UNIT, measure: (p) => sluiceAppend(ctx, p, { size: 100, system: 'sluice-replicated', replicated: true }) },
    ]);
  },
};
