// auto-scale: a stream created with 1 segment and the policy { minSegments 1, maxSegments 4,
// targetEventsPerSecond 5000 } under a keyed write load that is far over the target: time from the
// load's start until the node owning the metadata has split it to 4 segments (--auto-scale-interval
// 500 ms), and the load's acknowledged events/s meanwhile.
import { now, payloads, sig3 } from '../lib/measure.mjs';
import { lowerRow, runSystems, skippedRow } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT, loadClient } from '../lib/sluice-packages.mjs';
import { withSluiceServer } from '../lib/sluice-server.mjs';

const KEYS = Array.from({ length: 64 }, (_, index) => `key-${index}`);
const IN_FLIGHT = 512;
const INTERVAL_MS = 500;
const POLICY = { minSegments: 1, maxSegments: 4, targetEventsPerSecond: 5_000 };

async function measure(ctx, onProgress) {
  const sdk = await loadClient();
  if (!sdk) return skippedRow('sluice-auto-scale', CLIENT_NOT_BUILT, 'ms', 'lower');
  return withSluiceServer(
    ctx,
    async (server) => {
      const client = new sdk.SluiceClient({ endpoints: [server.endpoint] });
      try {
        await client.createStream('bench/auto', { segments: 1 });
        await client.setScalingPolicy('bench/auto', POLICY);
        const writer = client.createWriter('bench/auto');
        const pool = payloads(100);
        let running = true;
        let acked = 0;
        const started = now();
        const lanes = Array.from({ length: IN_FLIGHT }, async (_, lane) => {
          for (let i = lane; running; i += IN_FLIGHT) {
            await writer.write(KEYS[i % KEYS.length], pool[i & 1023]);
            acked += 1;
          }
        });
        let reached = null;
        const deadline = started + 60_000;
        while (reached === null && now() < deadline && !ctx.signal.aborted) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          if ((await client.getStreamInfo('bench/auto')).segments >= POLICY.maxSegments) reached = now();
        }
        running = false;
        await Promise.all(lanes);
        await writer.close();
        onProgress(0.9);
        if (reached === null) throw new Error(`not at ${POLICY.maxSegments} segments within 60 s`);
        const seconds = (reached - started) / 1000;
        return lowerRow('sluice-auto-scale', sig3(reached - started), 'ms', {
          eventsPerSecond: sig3(acked / seconds),
          intervalMs: INTERVAL_MS,
          epochs: (await client.getStreamInfo('bench/auto')).epoch,
        });
      } finally {
        await client.close();
      }
    },
    { args: ['--auto-scale-interval', `${INTERVAL_MS}ms`] },
  );
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'auto-scale',
  description: 'auto-scaling: ms from a hot load (far over targetEventsPerSecond 5000) on a 1-segment stream to its maxSegments 4; evaluation every 500 ms',
  reference: 'sluice-auto-scale',
  goal: [],
  timeoutMs: 120_000,
  async run(ctx) {
    return runSystems(ctx, [{ system: 'sluice-auto-scale', unit: 'ms', better: 'lower', measure: (p) => measure(ctx, p) }]);
  },
};
