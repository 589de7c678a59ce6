// scale: writer throughput (acknowledged 100-byte events/s, 64 keys, 1024 writes in flight) before,
// during and after scaleStream 4 -> 8 under that load, in one run; the dip is the lowest 100 ms
// bucket after the scale started and how long throughput stayed under half the "before" rate.
import { now, payloads, sig3 } from '../lib/measure.mjs';
import { row, runSystems, skippedRow } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT, loadClient } from '../lib/sluice-packages.mjs';
import { withSluiceServer } from '../lib/sluice-server.mjs';

const KEYS = Array.from({ length: 64 }, (_, index) => `key-${index}`);
const IN_FLIGHT = 1024;
const BUCKET_MS = 100;

/** Keeps IN_FLIGHT writes going until stop(); acks are counted per BUCKET_MS bucket since start. */
function load(writer, pool) {
  const started = now();
  const buckets = [];
  let running = true;
  let failure = null;
  const lanes = Array.from({ length: IN_FLIGHT }, async (_, lane) => {
    for (let i = lane; running && failure === null; i += IN_FLIGHT) {
      try {
        await writer.write(KEYS[i % KEYS.length], pool[i & 1023]);
      } catch (error) {
        failure = error;
      }
      const bucket = Math.floor((now() - started) / BUCKET_MS);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
  });
  return {
    started,
    buckets,
    stop: async () => {
      running = false;
      await Promise.all(lanes);
      if (failure !== null) throw failure;
    },
  };
}

/** Events/s over the buckets of [fromMs, toMs) since the load started. */
function rateBetween(buckets, fromMs, toMs) {
  let events = 0;
  for (let b = Math.floor(fromMs / BUCKET_MS); b < Math.floor(toMs / BUCKET_MS); b++) events += buckets[b] ?? 0;
  return (events * 1000) / Math.max(BUCKET_MS, toMs - fromMs);
}

async function measure(ctx, onProgress) {
  const sdk = await loadClient();
  if (!sdk) return skippedRow('sluice-before', CLIENT_NOT_BUILT, 'events/s');
  const phaseMs = Math.max(1_000, ctx.durationMs);
  return withSluiceServer(ctx, async (server) => {
    const client = new sdk.SluiceClient({ endpoints: [server.endpoint] });
    try {
      await client.createStream('bench/scale', { segments: 4 });
      const writer = client.createWriter('bench/scale');
      const running = load(writer, payloads(100));
      const at = () => now() - running.started;
      await new Promise((resolve) => setTimeout(resolve, 500 + phaseMs));
      onProgress(0.3);
      const scaleFrom = at();
      await client.scaleStream('bench/scale', { segments: 8 });
      const scaleTo = at();
      await new Promise((resolve) => setTimeout(resolve, phaseMs + 500));
      await running.stop();
      await writer.close();
      onProgress(0.9);
      const before = rateBetween(running.buckets, 500, scaleFrom);
      const during = rateBetween(running.buckets, scaleFrom, Math.max(scaleTo, scaleFrom + BUCKET_MS));
      const after = rateBetween(running.buckets, scaleTo + 500, at() - BUCKET_MS);
      // The dip: buckets after the scale started until the rate is back over half of "before".
      const perBucket = (before * BUCKET_MS) / 1000;
      let lowest = Infinity;
      let dipMs = 0;
      for (let b = Math.floor(scaleFrom / BUCKET_MS); b < running.buckets.length - 1; b++) {
        const events = running.buckets[b] ?? 0;
        lowest = Math.min(lowest, events);
        if (events >= perBucket / 2 && b * BUCKET_MS > scaleTo) break;
        if (events < perBucket / 2) dipMs += BUCKET_MS;
      }
      const extra = { scaleMs: sig3(scaleTo - scaleFrom), dipMs, lowestPer100ms: lowest, segments: '4->8' };
      return [
        row('sluice-before', sig3(before), 'events/s'),
        row('sluice-during', sig3(during), 'events/s', extra),
        row('sluice-after', sig3(after), 'events/s'),
      ];
    } finally {
      await client.close();
    }
  });
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'scale',
  description: 'scaleStream 4 -> 8 under a keyed write load: acknowledged events/s before, during and after; dip (lowest 100 ms, ms under half)',
  reference: 'sluice-before',
  goal: [],
  timeoutMs: 120_000,
  async run(ctx) {
    return runSystems(ctx, [{ system: 'sluice-before', unit: 'events/s', measure: (p) => measure(ctx, p) }]);
  },
};
