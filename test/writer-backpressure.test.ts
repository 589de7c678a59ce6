import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceClient } from '@sluice/client';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const KiB = 1024;

describe('writer back-pressure (real server)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('keeps bytes in flight under maxInflightBytes while the server does not acknowledge, then completes', async () => {
    const client = new SluiceClient({ endpoints: [server.address] });
    const stream = 'e2e/backpressure';
    await client.createStream(stream, { segments: 2 });
    const bound = 256 * KiB;
    const writer = client.createWriter(stream, { maxInflightBytes: bound });
    await writer.write('warm-up', 'x'); // set up before the server stops answering

    // A stopped process keeps its socket open but acknowledges nothing: the writer must wait.
    process.kill(server.pid!, 'SIGSTOP');
    let resumed = false;
    try {
      const payload = Buffer.alloc(100, 1);
      const writes = Array.from({ length: 20_000 }, (_, index) => writer.write(`key-${index % 16}`, payload));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const stalled = writer.stats();
      expect(stalled.inflightBytes).toBeLessThanOrEqual(bound);
      expect(stalled.inflightBytes).toBeGreaterThan(bound / 2);
      expect(stalled.queuedWrites).toBeGreaterThan(15_000);
      process.kill(server.pid!, 'SIGCONT');
      resumed = true;
      await Promise.all(writes);
    } finally {
      if (!resumed) process.kill(server.pid!, 'SIGCONT');
    }
    const stats = writer.stats();
    expect(stats.peakInflightBytes).toBeLessThanOrEqual(bound);
    expect(stats.inflightBytes).toBe(0);
    expect(stats.eventsAcknowledged).toBe(20_001);
    await client.close();
  });

  it('an open-loop producer outrunning an fsync-always server stays under the bound', async () => {
    const durable = await startServer({ fsync: 'always' });
    const client = new SluiceClient({ endpoints: [durable.address] });
    const stream = 'e2e/backpressure-fsync';
    await client.createStream(stream, { segments: 1 });
    const bound = 512 * KiB;
    const writer = client.createWriter(stream, { maxInflightBytes: bound });
    const payload = Buffer.alloc(1_000, 2);
    const writes: Promise<void>[] = [];
    for (let index = 0; index < 20_000; index++) writes.push(writer.write('k', payload));
    expect(writer.stats().queuedWrites).toBeGreaterThan(10_000);
    await Promise.all(writes);
    expect(writer.stats().peakInflightBytes).toBeLessThanOrEqual(bound);
    await client.close();
    await durable.stop();
  });
});
