// hol (head-of-line blocking): a writer's p99 latency alone vs with a reader pulling 1 MiB reads over
// the same socket; value = p99 with the reader ÷ p99 alone (lower is better).
import { atMost, runSystems } from '../lib/rows.mjs';
import { sluiceHeadOfLine } from '../lib/sluice-workloads.mjs';

const UNIT = '×';

export function runSluice(ctx, onProgress) {
  return sluiceHeadOfLine(ctx, onProgress);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'hol',
  description: 'writer p99 alone vs with a 1 MiB-read reader on the same socket; ratio',
  goal: [{ system: 'sluice', text: '≤ 2×', check: atMost(2) }],
  async run(ctx) {
    return runSystems(ctx, [{ system: 'sluice', unit: UNIT, better: 'lower', measure: (p) => runSluice(ctx, p) }]);
  },
};
