// read-100b: catch-up read of N stored 100-byte events (1 M; 200 k with --quick), events/s.
import { runSystems, skippedRow, timesOf } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT } from '../lib/sluice-packages.mjs';
import { redisCatchUpRead } from '../peers/workloads.mjs';

const UNIT = 'events/s';

export const eventCount = (ctx) => (ctx.quick ? 200_000 : 1_000_000);

/**
 * TODO(lead): the Sluice row: write eventCount(ctx) 100-byte events to a 1-segment stream (not timed),
 * then time a reader from 'head' until it has seen them all (bounded by count and by time, as
 * redisCatchUpRead does); return row('sluice', sig3(events / seconds), UNIT, { events }).
 */
export async function runSluice(_ctx, _onProgress) {
  return skippedRow('sluice', CLIENT_NOT_BUILT, UNIT);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'read-100b',
  description: 'catch-up read of 1 M stored 100-byte events (200 k with --quick), events/s',
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
