/**
 * Auto-scaling on a real node: a stream with a policy is split while it runs hot and merged back
 * once it goes quiet, by the node owning its metadata; every acknowledged event is still read once
 * in key order. A stream without a policy is left alone (off by default).
 */
import { SluiceClient } from '@sluice/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startCluster, type ClusterProcesses } from './helpers/server-process.js';

let cluster: ClusterProcesses;
let client: SluiceClient;

beforeAll(async () => {
  cluster = await startCluster(2, { args: ['--auto-scale-interval', '300ms'] });
  client = new SluiceClient({ endpoints: [cluster.nodes[0]!.address] });
});

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until check() holds, for at most limitMs; returns whether it did. */
async function eventually(check: () => Promise<boolean>, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(200);
  }
  return check();
}

describe('auto-scaling', () => {
  it('splits a hot stream up to maxSegments and merges it back when it is quiet, keeping every key in order', async () => {
    const stream = 'auto/hot';
    const quiet = 'auto/quiet';
    await client.createStream(stream, { segments: 1 });
    await client.createStream(quiet, { segments: 2 });
    await expect(client.setScalingPolicy(stream, { minSegments: 1, maxSegments: 3, targetEventsPerSecond: 0 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await client.setScalingPolicy(stream, { minSegments: 1, maxSegments: 3, targetEventsPerSecond: 100 });
    expect((await client.getStreamInfo(stream)).policy).toEqual({ minSegments: 1, maxSegments: 3, targetEventsPerSecond: 100 });

    const writer = client.createWriter(stream);
    const keys = Array.from({ length: 16 }, (_, k) => `key-${k}`);
    const acked = new Map(keys.map((key) => [key, 0]));
    let hot = true;
    const load = (async () => {
      for (let seq = 0; hot && seq < 100_000; seq++) {
        await Promise.all(keys.map((key) => writer.write(key, `${key}:${seq}`).then(() => void acked.set(key, seq + 1))));
      }
    })();
    const grew = await eventually(async () => (await client.getStreamInfo(stream)).segments === 3, 20_000);
    hot = false;
    await load;
    await writer.close();
    expect(grew).toBe(true);
    const shrank = await eventually(async () => (await client.getStreamInfo(stream)).segments === 1, 20_000);
    expect(shrank).toBe(true);
    const info = await client.getStreamInfo(stream);
    expect(info.history.length).toBeGreaterThanOrEqual(4); // 1 -> 2 -> 3 -> 2 -> 1
    expect((await client.getStreamInfo(quiet)).epoch).toBe(0);

    const total = [...acked.values()].reduce((a, b) => a + b, 0);
    const next = new Map(keys.map((key) => [key, 0]));
    let count = 0;
    const reader = client.createReader(stream, { from: 'head', tailWaitMs: 200 });
    const timer = setTimeout(() => reader.close(), 30_000);
    for await (const event of reader) {
      const [key, seq] = event.data.toString().split(':') as [string, string];
      expect(Number(seq)).toBe(next.get(key));
      next.set(key, Number(seq) + 1);
      if (++count === total) break;
    }
    clearTimeout(timer);
    expect(next).toEqual(acked);
  });
});
