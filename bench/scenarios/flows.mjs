// flows: 10,000 idle writer + reader flows in one client against one node: heap bytes per flow
// (lower is better) and sockets per node.
import { atMost, runSystems, skippedRow } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT } from '../lib/sluice-packages.mjs';

const UNIT = 'B/flow';
export const FLOWS = 10_000;

/**
 * TODO(lead): the Sluice row: one server (withSluiceServer), one client; before = heapUsedAfterGc()
 * (../lib/measure.mjs; works without --expose-gc), open FLOWS flows (writers and readers on a stream
 * with many segments, each having done its setup, kept referenced), after = heapUsedAfterGc();
 * value = (after - before) ÷ FLOWS; socketsPerNode from client.stats(). Return
 * lowerRow('sluice', sig3(bytesPerFlow), UNIT, { flows: FLOWS, socketsPerNode }).
 */
export async function runSluice(_ctx, _onProgress) {
  return skippedRow('sluice', CLIENT_NOT_BUILT, UNIT, 'lower');
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
