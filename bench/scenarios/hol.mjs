// hol (head-of-line blocking): a writer's p99 latency alone vs with a reader pulling 1 MiB reads over
// the same socket; value = p99 with the reader ÷ p99 alone (lower is better).
import { atMost, runSystems, skippedRow } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT } from '../lib/sluice-packages.mjs';

const UNIT = '×';

/**
 * TODO(lead): the Sluice row: one server, one client with maxConnectionsPerEndpoint: 1; phase 1: a
 * writer doing awaited 100-byte writes (LatencyRecorder) for ctx.durationMs / 2; phase 2: the same
 * with a reader on a stream pre-filled with large events reading 1 MiB at a time concurrently.
 * Return lowerRow('sluice', p99With / p99Alone, UNIT, { p99AloneUs, p99WithReaderUs }).
 */
export async function runSluice(_ctx, _onProgress) {
  return skippedRow('sluice', CLIENT_NOT_BUILT, UNIT, 'lower');
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
