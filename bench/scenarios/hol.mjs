// hol (head-of-line blocking): a writer's p99 latency alone vs with a reader pulling 1 MiB reads over
// the same socket (`sluice`), and over a socket of its own in the same process (`sluice-own-socket`,
// the control for CPU and event-loop sharing); rounds alternate. Value = p99 with the reader ÷ p99
// alone (lower is better); head-of-line blocking is the gap between the two rows. The writer and the
// readers run in a client process of their own, started for the scenario (sluiceHeadOfLine says why).
import { atMost, runSystems } from '../lib/rows.mjs';
import { sluiceHeadOfLine } from '../lib/sluice-workloads.mjs';

const UNIT = 'ratio';

export function runSluice(ctx, onProgress) {
  return sluiceHeadOfLine(ctx, onProgress);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'hol',
  description:
    'writer p99 with a 1 MiB-read reader on the same socket ÷ alone; sluice-own-socket: the reader on its own socket in the same process (control); alternating rounds; the clients run in a fresh process',
  goal: [{ system: 'sluice', text: '≤ 2×', check: atMost(2) }],
  async run(ctx) {
    return runSystems(ctx, [{ system: 'sluice', unit: UNIT, better: 'lower', measure: (p) => runSluice(ctx, p) }]);
  },
};
