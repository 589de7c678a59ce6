// append-awaited: one durable 100-byte write at a time, each awaited: events/s with p50/p99 µs.
import { allOf, extraAtMost, runSystems } from '../lib/rows.mjs';
import { natsAppendAwaited, redisAppendAwaited } from '../peers/workloads.mjs';
import { sluiceAppendAwaited } from '../lib/sluice-workloads.mjs';

const UNIT = 'events/s';

export function runSluice(ctx, onProgress) {
  return sluiceAppendAwaited(ctx, onProgress);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-awaited',
  description: 'one durable 100-byte write at a time, awaited: events/s with p50/p99 latency',
  reference: 'redis-always',
  goal: [{ system: 'sluice', text: 'p50 ≤ 250 µs, p99 ≤ 1 ms', check: allOf(extraAtMost('p50Us', 250), extraAtMost('p99Us', 1000)) }],
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice', unit: UNIT, measure: (p) => runSluice(ctx, p) },
      { system: 'redis-always', unit: UNIT, measure: (p) => redisAppendAwaited(ctx, p) },
      { system: 'nats', unit: UNIT, measure: (p) => natsAppendAwaited(ctx, p) },
    ]);
  },
};
