// group-commit: appends per fsync in the server at the append-100b load; next to it the disk's own
// limit, fsync-limit: fsyncs/s of a 100-byte append + fsync in the bench data dir, one at a time.
// A durable append cannot be acknowledged faster than one fsync; group commit is how Sluice gets
// past fsync-limit (its appends/s ≈ appends per fsync × fsyncs/s).
import { fsyncLimit } from '../lib/limits.mjs';
import { atLeast, runSystems } from '../lib/rows.mjs';
import { sluiceGroupCommit } from '../lib/sluice-workloads.mjs';

export function runSluice(ctx, onProgress) {
  return sluiceGroupCommit(ctx, onProgress);
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
