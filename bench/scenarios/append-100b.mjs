// append-100b: one writer, 100-byte events, many in flight, durable (acknowledged after fsync), events/s.
import { rawLoopback } from '../lib/limits.mjs';
import { allOf, atLeast, runSystems, skippedRow, timesOf } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT } from '../lib/sluice-packages.mjs';
import { natsAppend, redisAppend } from '../peers/workloads.mjs';

const UNIT = 'events/s';

/**
 * TODO(lead): the Sluice row. Shape of the measurement, as for the peers (peers/workloads.mjs):
 *   return withSluiceServer(ctx, async (server) => {          // ../lib/sluice-server.mjs, fsync always
 *     const client = new SluiceClient({ endpoints: [server.endpoint] });   // loadClient() in ../lib/sluice-packages.mjs
 *     await client.createStream('bench/append', { segments: 1 }); const w = client.createWriter('bench/append');
 *     const pool = payloads(100);                             // ../lib/measure.mjs
 *     // keep many writes in flight: windowedLoop({ durationMs: ctx.warmupMs, … }) then
 *     const result = await windowedLoop({ durationMs: ctx.durationMs, maxOps: maxEventsFor(100) / 64,
 *       inFlight: 64, signal: ctx.signal, onProgress }, async (i) => { …64 × w.write(key, pool[…])…; return 64; });
 *     await client.close();
 *     return row('sluice', sig3(result.perSecond), UNIT, { events: result.units });
 *   });
 */
export async function runSluice(_ctx, _onProgress) {
  return skippedRow('sluice', CLIENT_NOT_BUILT, UNIT);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-100b',
  description: 'one writer, 100-byte events, many in flight, durable, events/s',
  reference: 'redis-always',
  goal: [{ system: 'sluice', text: '≥ 1.5 M events/s and ≥ 5× redis-always', check: allOf(atLeast(1.5e6), timesOf('redis-always', 5)) }],
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice', unit: UNIT, measure: (p) => runSluice(ctx, p) },
      { system: 'redis-always', unit: UNIT, measure: (p) => redisAppend(ctx, p, { system: 'redis-always', appendfsync: 'always', size: 100 }) },
      { system: 'redis-everysec', unit: UNIT, measure: (p) => redisAppend(ctx, p, { system: 'redis-everysec', appendfsync: 'everysec', size: 100 }) },
      { system: 'nats', unit: UNIT, measure: (p) => natsAppend(ctx, p, { size: 100 }) },
      { system: 'raw-loopback', unit: UNIT, measure: (p) => rawLoopback(ctx, p) },
    ]);
  },
};
