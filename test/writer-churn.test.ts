/**
 * A service that makes a writer per request, writes and closes it: closing frees the writer's setup
 * on the node (ReleaseAppend), so churn never runs into --max-writers-per-connection, and the
 * client's heap stays flat.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

import { SluiceClient } from '@sluice/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MiB } from './helpers/process-memory.js';
import { scrape } from './helpers/prometheus.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const WRITERS = 12_000;
const WARM_UP = 2_000;

describe('writer churn', () => {
  let server: ServerProcess;
  let client: SluiceClient;

  beforeAll(async () => {
    server = await startServer({ args: ['--metrics-port', '0'] });
    client = new SluiceClient({ endpoints: [server.address], maxConnectionsPerEndpoint: 2 });
  });

  afterAll(async () => {
    await client.close();
    await server.stop();
  });

  it(`${WRITERS} writers created, written and closed one at a time all succeed; the client heap stays flat`, async () => {
    const stream = 'churn/requests';
    await client.createStream(stream, { segments: 1 });
    let heapAtWarmUp = 0;
    for (let n = 0; n < WRITERS; n++) {
      const writer = client.createWriter(stream);
      await writer.write(`request-${n}`, `event ${n}`);
      await writer.close();
      if (n + 1 === WARM_UP) heapAtWarmUp = heapAfterGc();
    }
    const growth = heapAfterGc() - heapAtWarmUp;
    console.log(`client heap growth over ${WRITERS - WARM_UP} more writers: ${(growth / MiB).toFixed(2)} MiB`);
    expect(growth).toBeLessThan(4 * MiB);
    expect(client.stats().flows).toBeLessThanOrEqual(1); // at most the admin flow
    const info = await client.segments.getSegmentInfo(`${stream}/0`);
    expect(info.length).toBeGreaterThan(0);
    const metrics = await scrape(server);
    expect(metrics.value('sluice_writers')).toBe(0);
    expect(metrics.value('sluice_append_setups_evicted_total')).toBe(0);
  }, 240_000);
});
