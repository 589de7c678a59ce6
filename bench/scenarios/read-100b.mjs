// read-100b: catch-up read of N stored 100-byte events (1 M; 200 k with --quick), events/s.
import { runSystems, timesOf } from '../lib/rows.mjs';
import { redisCatchUpRead } from '../peers/workloads.mjs';
import { sluiceCatchUpRead } from '../lib/sluice-workloads.mjs';

const UNIT = 'events/s';

export const eventCount = (ctx) => (ctx.quick ? 200_000 : 1_000_000);

export function runSluice(ctx, onProgress) {
  return sluiceCatchUpRead(ctx, onProgress, { events: eventCount(ctx) });
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'read-100b',
  description:
    'catch-up read of 1 M stored 100-byte events (200 k with --quick), events/s; sluice reads ahead (reads in flight while events are consumed), redis-always reads XRANGE pages of 10 k one after another (a page starts after the last id of the previous one, so it cannot be pipelined)',
  reference: 'redis-always',
  goal: [{ system: 'sluice', text: '≥ 3× redis-always', check: timesOf('redis-always', 3) }],
  async run(ctx) {
    const events = eventCount(ctx);
    return runSystems(ctx, [
      { system: 'sluice', unit: UNIT, measure: (p) => runSluice(ctx, p) },
      { system: 'redis-always', unit: UNIT, measure: (p) => redisCatchUpRead(ctx, p, { events }) },
    ]);
  },
};
