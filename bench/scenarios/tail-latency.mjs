// tail-latency: a reader waiting at the tail; one durable 100-byte write at a time; the time from the
// write call to the reader having the event. value = p50 µs (lower is better), p99 in extra.
import { runSystems, skippedRow } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT } from '../lib/sluice-packages.mjs';
import { redisTailLatency } from '../peers/workloads.mjs';

const UNIT = 'µs';

/**
 * TODO(lead): the Sluice row: a reader iterating at the tail of a 1-segment stream and a writer in
 * the same client; per sample note now() before w.write() and record latency.since(t0) when the
 * reader yields that event; pace samples as redisTailLatency does; return
 * lowerRow('sluice', p50Us, UNIT, { p50Us, p99Us, p999Us, maxUs, samples }).
 */
export async function runSluice(_ctx, _onProgress) {
  return skippedRow('sluice', CLIENT_NOT_BUILT, UNIT, 'lower');
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
