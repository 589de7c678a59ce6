// tail-latency: a reader waiting at the tail; one durable 100-byte write at a time; the time from the
// write call to the reader having the event. value = p50 µs (lower is better), p99 in extra.
import { runSystems } from '../lib/rows.mjs';
import { redisTailLatency } from '../peers/workloads.mjs';
import { sluiceTailLatency } from '../lib/sluice-workloads.mjs';

const UNIT = 'µs';

export function runSluice(ctx, onProgress) {
  return sluiceTailLatency(ctx, onProgress);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'tail-latency',
  description: 'write -> reader waiting at the tail, one event at a time, p50 (and p99) µs',
  reference: 'redis',
  async run(ctx) {
    return runSystems(ctx, [
      { system: 'sluice', unit: UNIT, better: 'lower', measure: (p) => runSluice(ctx, p) },
      { system: 'redis', unit: UNIT, better: 'lower', measure: (p) => redisTailLatency(ctx, p) },
    ]);
  },
};
