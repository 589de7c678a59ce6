import { afterAll, describe, expect, it } from 'vitest';
import { SluiceClient } from '@sluice/client';
import { storedSize } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const KEYS = 16;
const SEGMENTS = 4;
/** Writes in flight per key: a windowed load, each key's writes issued in order. */
const WINDOW = 32;

/** Polls until condition holds or timeoutMs passes; the assertions after it say what was expected. */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('writer across kill -9 of the server (fsync always)', () => {
  let server: ServerProcess | null = null;

  afterAll(async () => {
    await server?.stop();
  });

  it('keeps every acknowledged event exactly once, completes pending writes and keeps key order', { timeout: 150_000 }, async () => {
    server = await startServer({ fsync: 'always' });
    const client = new SluiceClient({ endpoints: [server.address], retryWindowMs: 30_000, connectTimeoutMs: 1_000 });
    const stream = 'e2e/crash';
    await client.createStream(stream, { segments: SEGMENTS });
    let reconnecting = 0;
    /** Segments whose writer saw its connection go (after every reply that was on its way). */
    const writersCutOff = new Set<unknown>();
    client.on('reconnecting', (detail: Record<string, unknown>) => {
      reconnecting += 1;
      if (detail.writerId !== undefined) writersCutOff.add(detail.segment);
    });
    const writer = client.createWriter(stream);
    // A reader that reads through the crash too: it must resume where it was, without loss or duplicate.
    const liveReader = client.createReader(stream, { from: 'head' });
    const liveNext = new Array<number>(KEYS).fill(0);
    let liveCount = 0;
    const liveErrors: string[] = [];
    const live = (async () => {
      for await (const event of liveReader) {
        const [key, seq] = event.data.toString().split(':').map(Number) as [number, number];
        if (seq !== liveNext[key]) liveErrors.push(`key ${key}: got ${seq}, expected ${liveNext[key]}`);
        liveNext[key] = seq + 1;
        liveCount += 1;
      }
    })();

    let stop = false;
    const acknowledged: string[] = [];
    const failures: unknown[] = [];
    const written = new Array<number>(KEYS).fill(0);
    const load = Array.from({ length: KEYS }, async (_, key) => {
      const window = new Set<Promise<void>>();
      while (!stop) {
        const text = `${key}:${written[key]!++}`;
        const write = writer.write(`key-${key}`, text).then(
          () => void acknowledged.push(text),
          (error: unknown) => void failures.push(error),
        );
        window.add(write);
        void write.finally(() => window.delete(write));
        if (window.size >= WINDOW) await Promise.race(window);
      }
      await Promise.all(window);
    });

    // Kill once the load is under way (some writes acknowledged), however long a loaded machine takes.
    await waitUntil(() => acknowledged.length >= 100, 30_000);
    await server.kill('SIGKILL');
    // The process has exited; replies already in the sockets may still arrive until each segment
    // writer has seen its connection end. From then on, nothing can be acknowledged until the restart.
    await waitUntil(() => writersCutOff.size >= SEGMENTS, 30_000);
    expect(writersCutOff.size).toBe(SEGMENTS);
    const beforeKill = acknowledged.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const duringOutage = acknowledged.length;
    await server.restart();
    // Let the writers resend and go on past the outage before the load stops.
    await waitUntil(() => acknowledged.length > duringOutage + 100, 30_000);
    stop = true;
    await Promise.all(load);
    const stats = writer.stats();
    await writer.close();
    console.log('crash test:', { beforeKill, duringOutage, acknowledged: acknowledged.length, resent: stats.blocksResent, reconnects: stats.reconnects });

    expect(failures).toEqual([]);
    expect(beforeKill).toBeGreaterThan(0);
    // Nothing is acknowledged while the node is down.
    expect(duringOutage).toBe(beforeKill);
    expect(acknowledged.length).toBeGreaterThan(duringOutage);
    expect(reconnecting).toBeGreaterThan(0);
    const total = written.reduce((sum, count) => sum + count, 0);
    expect(acknowledged).toHaveLength(total);

    // Read everything back: each event once, and each key's events in the order written.
    const reader = client.createReader(stream, { from: 'head' });
    const next = new Array<number>(KEYS).fill(0);
    let count = 0;
    const timer = setTimeout(() => reader.close(), 20_000);
    for await (const event of reader) {
      const [key, seq] = event.data.toString().split(':').map(Number) as [number, number];
      expect(seq).toBe(next[key]);
      next[key] = seq + 1;
      if (++count === total) break;
    }
    clearTimeout(timer);
    if (count !== total) console.log('read back only', count, 'of', total, JSON.stringify(client.stats()), 'live reader at', liveCount);
    expect(count).toBe(total);
    expect(next).toEqual(written);

    await waitUntil(() => liveCount >= total, 30_000);
    liveReader.close();
    await live;
    expect(liveErrors).toEqual([]);
    expect(liveCount).toBe(total);
    // Nothing more than what was written (no duplicate after the last event either).
    const info = await client.getStreamInfo(stream);
    const storedBytes = info.segmentInfos.reduce((sum, segment) => sum + segment.length, 0);
    const expectedBytes = acknowledged.reduce((sum, text) => sum + storedSize(text, `key-${text.split(':')[0]}`), 0);
    expect(storedBytes).toBe(expectedBytes);
    await client.close();
  });
});
