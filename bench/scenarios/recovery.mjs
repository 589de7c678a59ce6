// recovery: time for a server to restart (spawn -> "listening") over a data dir holding 1 GiB of
// log (128 MiB with --quick) after kill -9, seconds (lower is better): with the page cache as the
// crash left it, and cold (page cache dropped, where allowed). Rows report the log bytes replayed.
import { below, runSystems } from '../lib/rows.mjs';
import { sluiceRecovery } from '../lib/sluice-workloads.mjs';

const UNIT = 's';
export const logBytes = (ctx) => (ctx.quick ? 128 * 2 ** 20 : 2 ** 30);

export function runSluice(ctx, onProgress) {
  return sluiceRecovery(ctx, onProgress, { logBytes: logBytes(ctx) });
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'recovery',
  description:
    'restart time after kill -9 with 1 GiB of log (128 MiB with --quick), seconds, with the log bytes replayed; sluice-cold-cache: the same after dropping the page cache',
  goal: [{ system: 'sluice', text: '< 5 s', check: below(5) }],
  timeoutMs: 300_000,
  async run(ctx) {
    return runSystems(ctx, [{ system: 'sluice', unit: UNIT, better: 'lower', measure: (p) => runSluice(ctx, p) }]);
  },
};
