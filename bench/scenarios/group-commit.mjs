// group-commit: appends per sync call in the server (every sync: O_DSYNC log writes, checkpoint and
// directory fsyncs), with 100 writers awaiting every write (sluice-100-awaited: many small
// independent appends at once, which only the server's group commit can pack into one sync: the
// goal's row) and at the append-100b load (sluice-pipelined: one writer whose client-side batching
// already packs thousands of events into each append, so about 1 append per sync by construction).
// Next to them the disk's own limit, fsync-limit: fsyncs/s of a 100-byte append + fsync in the bench
// data dir, one at a time. A durable append cannot be acknowledged faster than one fsync; group
// commit is how Sluice gets past fsync-limit.
import { fsyncLimit } from '../lib/limits.mjs';
import { atLeast, runSystems } from '../lib/rows.mjs';
import { sluiceGroupCommit } from '../lib/sluice-workloads.mjs';

export const AWAITED_WRITERS = 100;

/** The goal's row alone (bench/compare.mjs measures it against another tree). */
export function runSluice(ctx, onProgress) {
  return sluiceGroupCommit(ctx, onProgress, { system: 'sluice-100-awaited', load: 'awaited', writers: AWAITED_WRITERS });
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'group-commit',
  description:
    'appends per sync call (log, checkpoint and directory syncs) with 100 awaiting writers and at the append-100b load; fsync-limit: fsyncs/s of one small append + fsync',
  goal: [{ system: 'sluice-100-awaited', text: '≥ 50 appends/sync', check: atLeast(50) }],
  async run(ctx) {
    return runSystems(ctx, [
      {
        system: 'sluice-100-awaited',
        unit: 'appends/sync',
        measure: (p) => runSluice(ctx, p),
      },
      { system: 'sluice-pipelined', unit: 'appends/sync', measure: (p) => sluiceGroupCommit(ctx, p, { system: 'sluice-pipelined', load: 'pipelined' }) },
      { system: 'fsync-limit', unit: 'fsyncs/s', measure: (p) => fsyncLimit(ctx, p) },
    ]);
  },
};
