// append-4k: one writer, 4 KiB events, many in flight, durable, MB/s (10^6 bytes of payload per second).
import { runSystems } from '../lib/rows.mjs';
import { natsAppend, redisAppend, redisAppendPacked } from '../peers/workloads.mjs';
import { sluiceAppend } from '../lib/sluice-workloads.mjs';

const UNIT = 'MB/s';
const SIZE = 4096;

export function runSluice(ctx, onProgress) {
  return sluiceAppend(ctx, onProgress, { size: SIZE, unit: UNIT });
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-4k',
  description:
    'one writer, 4 KiB events, 16 k events in flight for every system, durable, MB/s; sluice packs ~250 events into each append (block) where redis-always sends one XADD per event; redis-always-packed sends one XADD per packed 1 MiB block',
  reference: 'redis-always',
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice', unit: UNIT, measure: (p) => runSluice(ctx, p) },
      { system: 'redis-always', unit: UNIT, measure: (p) => redisAppend(ctx, p, { system: 'redis-always', appendfsync: 'always', size: SIZE, unit: UNIT }) },
      {
        system: 'redis-always-packed',
        unit: UNIT,
        measure: (p) => redisAppendPacked(ctx, p, { system: 'redis-always-packed', appendfsync: 'always', size: SIZE, unit: UNIT }),
      },
      { system: 'nats', unit: UNIT, measure: (p) => natsAppend(ctx, p, { size: SIZE, unit: UNIT }) },
    ]);
  },
};
