// pooling: 100 writers × 100-byte events in one client, pooled over shared connections vs each writer
// with enableConnectionPooling:false; events/s, and sockets open to the node while writing.
import { allOf, extraTimesFewer, runSystems, skippedRow, timesOf } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT } from '../lib/sluice-packages.mjs';

const UNIT = 'events/s';
export const WRITERS = 100;

/**
 * TODO(lead): one Sluice row, for pooling on (sluice-pooled) or off (sluice-unpooled); runSystems
 * calls this once for each. One server (withSluiceServer), one client, WRITERS writers on one stream
 * (createWriter(name, { enableConnectionPooling: pooling })), all writing 100-byte events with many
 * in flight for ctx.durationMs (windowedLoop); sockets = the client's connections to the node while
 * writing (client.stats()). Return row(system, sig3(eventsPerSecond), UNIT, { sockets, writers: WRITERS }).
 */
export async function runSluice(_ctx, _onProgress, pooling) {
  return skippedRow(pooling ? 'sluice-pooled' : 'sluice-unpooled', CLIENT_NOT_BUILT, UNIT);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'pooling',
  description: '100 writers × 100-byte events: pooled connections vs enableConnectionPooling:false; events/s and sockets',
  reference: 'sluice-unpooled',
  goal: [
    {
      system: 'sluice-pooled',
      text: '≥ 0.95× sluice-unpooled with 100× fewer sockets',
      check: allOf(timesOf('sluice-unpooled', 0.95), extraTimesFewer('sluice-unpooled', 'sockets', 100)),
    },
  ],
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice-pooled', unit: UNIT, measure: (p) => runSluice(ctx, p, true) },
      { system: 'sluice-unpooled', unit: UNIT, measure: (p) => runSluice(ctx, p, false) },
    ]);
  },
};
