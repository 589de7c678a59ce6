/**
 * A for-await loop over events a reader already buffered runs as one chain of microtasks unless the
 * reader gives way: with 16 MiB of small events that was hundreds of milliseconds in which no timer
 * fired and no socket of the process was read (a writer's acks waited behind it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useServerWithClient } from './helpers/server-with-client.js';

const EVENTS = 60_000;

describe('a reader delivering buffered events (real server)', () => {
  const running = useServerWithClient();

  it('lets timers and sockets run while the loop takes events it already holds', async () => {
    const { client } = running;
    await client.createStream('e2e/gives-way', { segments: 1 });
    const writer = client.createWriter('e2e/gives-way');
    const payload = Buffer.alloc(100, 1);
    await Promise.all(Array.from({ length: EVENTS }, () => writer.write('k', payload)));
    await writer.close();

    const reader = client.createReader('e2e/gives-way', { from: 'head' });
    // Every event fits in the default 16 MiB read-ahead: wait (bounded) until it is all buffered.
    for (let waited = 0; reader.bufferedBytes < EVENTS * 100 && waited < 30_000; waited += 20) await sleep(20);
    expect(reader.bufferedBytes).toBeGreaterThanOrEqual(EVENTS * 100);

    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    let seen = 0;
    try {
      for await (const event of reader) {
        expect(event.data.byteLength).toBe(100);
        if (++seen === EVENTS) break;
      }
    } finally {
      clearInterval(timer);
    }
    expect(seen).toBe(EVENTS);
    expect(ticks).toBeGreaterThan(0);
  });
});
