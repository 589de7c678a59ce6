// pooling: 100 writers × 100-byte events in one client, pooled over shared connections vs each writer
// with enableConnectionPooling:false; events/s, and sockets open to the node while writing.
import { allOf, extraTimesFewer, runSystems, timesOf } from '../lib/rows.mjs';
import { sluicePooling } from '../lib/sluice-workloads.mjs';

const UNIT = 'events/s';
export const WRITERS = 100;

export function runSluice(ctx, onProgress, pooling) {
  return sluicePooling(ctx, onProgress, { writers: WRITERS, pooled: pooling });
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
