import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceClient, type ReadEvent } from '@sluice/client';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/** Reads until count events arrived (or fails after timeoutMs), then closes the reader. */
async function readCount(client: SluiceClient, stream: string, count: number, timeoutMs = 20_000): Promise<ReadEvent[]> {
  const reader = client.createReader(stream, { from: 'head' });
  const events: ReadEvent[] = [];
  const timer = setTimeout(() => reader.close(), timeoutMs);
  for await (const event of reader) {
    events.push({ ...event, data: Buffer.from(event.data) });
    if (events.length === count) break;
  }
  clearTimeout(timer);
  return events;
}

describe('writers over a shared pool (real server)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('200 writers x 50 events on 2 sockets: no loss, no duplicate, per-key order', async () => {
    const client = new SluiceClient({ endpoints: [server.address], maxConnectionsPerEndpoint: 2 });
    const stream = 'e2e/two-hundred';
    await client.createStream(stream, { segments: 8 });
    let maxSockets = 0;
    const sample = (): void => {
      for (const endpoint of Object.values(client.stats().endpoints)) {
        maxSockets = Math.max(maxSockets, endpoint.connections + endpoint.dedicatedConnections);
      }
    };
    const sampler = setInterval(sample, 2);

    const writers = Array.from({ length: 200 }, () => client.createWriter(stream));
    await Promise.all(
      writers.map(async (writer, w) => {
        const writes: Promise<void>[] = [];
        for (let seq = 0; seq < 50; seq++) {
          const key = `w${w}-k${seq % 3}`;
          writes.push(writer.write(key, JSON.stringify({ key, seq })));
          // Some awaited, some pipelined: both paths run at once.
          if (seq % 10 === 9) await Promise.all(writes.splice(0));
        }
        await Promise.all(writes);
      }),
    );
    sample();
    expect(client.stats().flows).toBeGreaterThan(200);

    const events = await readCount(client, stream, 10_000);
    clearInterval(sampler);
    expect(events).toHaveLength(10_000);
    const seen = new Set<string>();
    const lastSeq = new Map<string, number>();
    for (const event of events) {
      const text = event.data.toString();
      expect(seen.has(text)).toBe(false);
      seen.add(text);
      const { key, seq } = JSON.parse(text) as { key: string; seq: number };
      expect(seq).toBeGreaterThan(lastSeq.get(key) ?? -1);
      lastSeq.set(key, seq);
    }
    expect(seen.size).toBe(10_000);
    expect(maxSockets).toBeLessThanOrEqual(2);
    expect(maxSockets).toBeGreaterThan(0);
    await Promise.all(writers.map((writer) => writer.close()));
    await client.close();
  });

  it('enableConnectionPooling: false gives the writer connections of its own; close frees them', async () => {
    const client = new SluiceClient({ endpoints: [server.address], maxConnectionsPerEndpoint: 1 });
    const stream = 'e2e/dedicated';
    await client.createStream(stream, { segments: 2 });
    const pooled = client.createWriter(stream);
    const dedicated = client.createWriter(stream, { enableConnectionPooling: false });
    await Promise.all([pooled.write('a', 'x'), pooled.write('b', 'y'), dedicated.write('a', 'x'), dedicated.write('b', 'y')]);
    const stats = client.stats().endpoints[server.address]!;
    expect(stats.connections).toBe(1);
    expect(stats.dedicatedConnections).toBe(dedicated.stats().segmentWriters);
    const flowsBefore = client.stats().flows;
    const dedicatedFlows = dedicated.stats().segmentWriters;
    expect(dedicatedFlows).toBeGreaterThan(0);
    await dedicated.close();
    expect(client.stats().flows).toBe(flowsBefore - dedicatedFlows);
    expect(client.stats().endpoints[server.address]!.dedicatedConnections).toBe(0);
    // The shared connection stays: the pooled writer goes on.
    await pooled.write('a', 'z');
    expect(client.stats().endpoints[server.address]!.connections).toBe(1);
    await client.close();
  });

  it('rejects with typed errors: event too large, no such stream, sealed segment', async () => {
    const client = new SluiceClient({ endpoints: [server.address] });
    const writer = client.createWriter('e2e/missing');
    await expect(writer.write('k', 'x')).rejects.toMatchObject({ code: 'NO_SUCH_STREAM', message: expect.stringContaining('createStream') });

    await client.createStream('e2e/sealed', { segments: 1 });
    const sealedWriter = client.createWriter('e2e/sealed', { maxEventSize: 1024 });
    await expect(sealedWriter.write('k', Buffer.alloc(2048))).rejects.toMatchObject({ code: 'EVENT_TOO_LARGE' });
    await sealedWriter.write('k', 'before the seal');
    await client.sealStream('e2e/sealed');
    await expect(sealedWriter.write('k', 'after the seal')).rejects.toMatchObject({ code: 'SEGMENT_IS_SEALED' });
    expect(() => client.createWriter('e2e/sealed', { maxInflightBytes: -1 })).toThrow(/maxInflightBytes/);
    await client.close();
  });

  it('client.close() flushes and closes its writers', async () => {
    const client = new SluiceClient({ endpoints: [server.address] });
    const stream = 'e2e/close-flushes';
    await client.createStream(stream, { segments: 1 });
    const writer = client.createWriter(stream, { lingerMs: 500 });
    const writes = Array.from({ length: 100 }, (_, index) => writer.write('k', String(index)));
    await client.close();
    await Promise.all(writes);
    await expect(writer.write('k', 'late')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });

    const check = new SluiceClient({ endpoints: [server.address] });
    expect((await readCount(check, stream, 100)).map((event) => event.data.toString())).toEqual(
      Array.from({ length: 100 }, (_, index) => String(index)),
    );
    await check.close();
  });
});
