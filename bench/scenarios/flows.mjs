// flows: 10,000 idle writer + reader flows in one client against one node: heap bytes per flow
// (lower is better) and sockets per node.
import { atMost, runSystems } from '../lib/rows.mjs';
import { sluiceFlows } from '../lib/sluice-workloads.mjs';

const UNIT = 'B/flow';
export const FLOWS = 10_000;

export function runSluice(ctx, onProgress) {
  return sluiceFlows(ctx, onProgress, { flows: FLOWS });
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'flows',
  description: '10,000 idle writer+reader flows in one client: heap bytes per flow, sockets per node',
  goal: [{ system: 'sluice', text: '≤ 2 KiB per flow', check: atMost(2048) }],
  async run(ctx) {
    return runSystems(ctx, [{ system: 'sluice', unit: UNIT, better: 'lower', measure: (p) => runSluice(ctx, p) }]);
  },
};
