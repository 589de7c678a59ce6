// group-commit: appends per fsync in the server at the append-100b load; next to it the disk's own
// limit, fsync-limit: fsyncs/s of a 100-byte append + fsync in the bench data dir, one at a time.
// A durable append cannot be acknowledged faster than one fsync; group commit is how Sluice gets
// past fsync-limit (its appends/s ≈ appends per fsync × fsyncs/s).
import { fsyncLimit } from '../lib/limits.mjs';
import { atLeast, runSystems, skippedRow } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT } from '../lib/sluice-packages.mjs';

/**
 * TODO(lead): the Sluice row: run the append-100b load (its runSluice) against a server and read the
 * server's own counters (appends and fsyncs, e.g. from a stats log line or an admin command) before
 * and after; return row('sluice', appends ÷ fsyncs, 'appends/fsync', { appends, fsyncs }).
 */
export async function runSluice(_ctx, _onProgress) {
  return skippedRow('sluice', CLIENT_NOT_BUILT, 'appends/fsync');
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'group-commit',
  description: 'appends per fsync at the append-100b load; fsync-limit: fsyncs/s of one small append + fsync',
  goal: [{ system: 'sluice', text: '≥ 50 appends/fsync', check: atLeast(50) }],
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice', unit: 'appends/fsync', measure: (p) => runSluice(ctx, p) },
      { system: 'fsync-limit', unit: 'fsyncs/s', measure: (p) => fsyncLimit(ctx, p) },
    ]);
  },
};
