// append-4k: one writer, 4 KiB events, many in flight, durable, MB/s (10^6 bytes of payload per second).
import { runSystems, skippedRow } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT } from '../lib/sluice-packages.mjs';
import { natsAppend, redisAppend } from '../peers/workloads.mjs';

const UNIT = 'MB/s';
const SIZE = 4096;

/**
 * TODO(lead): the Sluice row: as append-100b's runSluice with SIZE-byte events; report
 * row('sluice', sig3(rate(result, SIZE)), UNIT) (rate() in ../lib/measure.mjs gives MB/s).
 */
export async function runSluice(_ctx, _onProgress) {
  return skippedRow('sluice', CLIENT_NOT_BUILT, UNIT);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-4k',
  description: 'one writer, 4 KiB events, many in flight, durable, MB/s',
  reference: 'redis-always',
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice', unit: UNIT, measure: (p) => runSluice(ctx, p) },
      { system: 'redis-always', unit: UNIT, measure: (p) => redisAppend(ctx, p, { system: 'redis-always', appendfsync: 'always', size: SIZE, unit: UNIT }) },
      { system: 'nats', unit: UNIT, measure: (p) => natsAppend(ctx, p, { size: SIZE, unit: UNIT }) },
    ]);
  },
};
