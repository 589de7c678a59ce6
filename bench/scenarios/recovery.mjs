// recovery: time for a server to restart (spawn -> "listening") over a data dir holding 1 GiB of
// log (128 MiB with --quick) after kill -9, seconds (lower is better).
import { below, runSystems, skippedRow } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT } from '../lib/sluice-packages.mjs';

const UNIT = 's';
export const logBytes = (ctx) => (ctx.quick ? 128 * 2 ** 20 : 2 ** 30);

/**
 * TODO(lead): the Sluice row: startSluiceServer({ dataDir, ctx }) (../lib/sluice-server.mjs), write
 * logBytes(ctx) of events (bounded by time too), server.kill() (kill -9), then start a new server on
 * the same dataDir: its readyMs is the recovery time. Check a few acknowledged events are readable.
 * Return lowerRow('sluice', readyMs / 1000, UNIT, { logBytes }).
 */
export async function runSluice(_ctx, _onProgress) {
  return skippedRow('sluice', CLIENT_NOT_BUILT, UNIT, 'lower');
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'recovery',
  description: 'restart time after kill -9 with 1 GiB of log (128 MiB with --quick), seconds',
  goal: [{ system: 'sluice', text: '< 5 s', check: below(5) }],
  timeoutMs: 300_000,
  async run(ctx) {
    return runSystems(ctx, [{ system: 'sluice', unit: UNIT, better: 'lower', measure: (p) => runSluice(ctx, p) }]);
  },
};
