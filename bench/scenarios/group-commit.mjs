// group-commit: appends per fsync in the server, at the append-100b load (sluice: one pipelined
// writer, whose client-side batching already packs thousands of events into each append) and with
// 100 writers awaiting every write (sluice-100-awaited: many small appends at once, which only the
// server's group commit can pack into one fsync). Next to them the disk's own limit, fsync-limit:
// fsyncs/s of a 100-byte append + fsync in the bench data dir, one at a time. A durable append
// cannot be acknowledged faster than one fsync; group commit is how Sluice gets past fsync-limit.
import { fsyncLimit } from '../lib/limits.mjs';
import { atLeast, runSystems } from '../lib/rows.mjs';
import { sluiceGroupCommit } from '../lib/sluice-workloads.mjs';

export const AWAITED_WRITERS = 100;

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'group-commit',
  description: 'appends per fsync at the append-100b load and with 100 awaiting writers; fsync-limit: fsyncs/s of one small append + fsync',
  goal: [{ system: 'sluice', text: '≥ 50 appends/fsync', check: atLeast(50) }],
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice', unit: 'appends/fsync', measure: (p) => sluiceGroupCommit(ctx, p, { system: 'sluice', load: 'pipelined' }) },
      {
        system: 'sluice-100-awaited',
        unit: 'appends/fsync',
        measure: (p) => sluiceGroupCommit(ctx, p, { system: 'sluice-100-awaited', load: 'awaited', writers: AWAITED_WRITERS }),
      },
      { system: 'fsync-limit', unit: 'fsyncs/s', measure: (p) => fsyncLimit(ctx, p) },
    ]);
  },
};
