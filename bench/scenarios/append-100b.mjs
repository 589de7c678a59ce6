// append-100b: one writer, 100-byte events, many in flight, durable (acknowledged after fsync), events/s.
import { rawLoopback } from '../lib/limits.mjs';
import { allOf, atLeast, runSystems, timesOf } from '../lib/rows.mjs';
import { natsAppend, redisAppend, redisAppendPacked } from '../peers/workloads.mjs';
import { sluiceAppend } from '../lib/sluice-workloads.mjs';

const UNIT = 'events/s';

export function runSluice(ctx, onProgress) {
  return sluiceAppend(ctx, onProgress, { size: 100 });
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-100b',
  description:
    'one writer, 100-byte events, 16 k events in flight for every system, durable, events/s; sluice packs ~8,000 events into each append (block) where redis-always/-everysec send one XADD per event; redis-always-packed sends one XADD per packed 1 MiB block, to separate batching from the store',
  reference: 'redis-always',
  goal: [{ system: 'sluice', text: '≥ 1.5 M events/s and ≥ 5× redis-always', check: allOf(atLeast(1.5e6), timesOf('redis-always', 5)) }],
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice', unit: UNIT, measure: (p) => runSluice(ctx, p) },
      { system: 'redis-always', unit: UNIT, measure: (p) => redisAppend(ctx, p, { system: 'redis-always', appendfsync: 'always', size: 100 }) },
      {
        system: 'redis-always-packed',
        unit: UNIT,
        measure: (p) => redisAppendPacked(ctx, p, { system: 'redis-always-packed', appendfsync: 'always', size: 100 }),
      },
      { system: 'redis-everysec', unit: UNIT, measure: (p) => redisAppend(ctx, p, { system: 'redis-everysec', appendfsync: 'everysec', size: 100 }) },
      { system: 'nats', unit: UNIT, measure: (p) => natsAppend(ctx, p, { size: 100 }) },
      { system: 'raw-loopback', unit: UNIT, measure: (p) => rawLoopback(ctx, p) },
    ]);
  },
};
