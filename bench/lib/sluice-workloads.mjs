// The Sluice side of the scenarios: real sluice-server processes (fsync on, as users run them),
// driven through the real @sluice/client. Every loop is bounded by time and by count.
import { LatencyRecorder, awaitedLoop, now, payloads, rate, sequentialLoop, sig3, windowedLoop, heapUsedAfterGc } from './measure.mjs';
import { lowerRow, row, skippedRow } from './rows.mjs';
import { CLIENT_NOT_BUILT, loadClient } from './sluice-packages.mjs';
import { startSluiceServer, withSluiceServer } from './sluice-server.mjs';

/** Writes per windowed-loop operation and operations in flight: 16 k events pending at most. */
const BATCH = 256;
const IN_FLIGHT = 64;
/** Upper bound of events one throughput run may write, whatever the duration. */
const MAX_EVENTS = 50_000_000;

/** Runs fn(client, server) against a fresh server, or returns a skipped row when the client is not built. */
async function withClient(ctx, system, unit, fn, { clientOptions = {}, serverOptions = {}, better = 'higher' } = {}) {
  const sdk = await loadClient();
  if (!sdk) return skippedRow(system, CLIENT_NOT_BUILT, unit, better);
  return withSluiceServer(
    ctx,
    async (server) => {
      const client = new sdk.SluiceClient({ endpoints: [server.endpoint], ...clientOptions });
      try {
        return await fn(client, server);
      } finally {
        await client.close();
      }
    },
    serverOptions,
  );
}

/** Writes BATCH events without awaiting each: the writer batches them and bounds what is in flight. */
function writeBatch(writer, pool, key, i) {
  const writes = new Array(BATCH);
  for (let j = 0; j < BATCH; j++) writes[j] = writer.write(key, pool[(i * BATCH + j) & 1023]);
  return Promise.all(writes).then(() => BATCH);
}

async function throughput(ctx, onProgress, writer, pool, key = 'k') {
  const maxOps = Math.ceil(MAX_EVENTS / BATCH);
  const options = { maxOps, inFlight: IN_FLIGHT, signal: ctx.signal };
  await windowedLoop({ ...options, durationMs: ctx.warmupMs }, (i) => writeBatch(writer, pool, key, i));
  return windowedLoop({ ...options, durationMs: ctx.durationMs, onProgress }, (i) => writeBatch(writer, pool, key, i));
}

/** One writer, `size`-byte events, many in flight: events/s (or MB/s). */
export function sluiceAppend(ctx, onProgress, { size, unit = 'events/s', system = 'sluice' }) {
  return withClient(ctx, system, unit, async (client) => {
    await client.createStream('bench/append', { segments: 1 });
    const writer = client.createWriter('bench/append');
    const result = await throughput(ctx, onProgress, writer, payloads(size));
    const stats = writer.stats();
    return row(system, sig3(rate(result, unit === 'MB/s' ? size : 0)), unit, {
      events: result.units,
      eventsPerBlock: Math.round(stats.eventsSent / Math.max(1, stats.blocksSent)),
    });
  });
}

/** One awaited write at a time: events/s with latency percentiles. */
export function sluiceAppendAwaited(ctx, onProgress, { system = 'sluice' } = {}) {
  return withClient(ctx, system, 'events/s', async (client) => {
    await client.createStream('bench/awaited', { segments: 1 });
    const writer = client.createWriter('bench/awaited');
    const pool = payloads(100);
    const write = (i) => writer.write('k', pool[i & 1023]).then(() => 1);
    const { perSecond, ...latency } = await awaitedLoop(ctx, onProgress, write);
    return row(system, sig3(perSecond), 'events/s', latency);
  });
}

/** `writers` writers on one stream, pooled over one socket or each on connections of its own. */
export function sluicePooling(ctx, onProgress, { writers, pooled }) {
  const system = pooled ? 'sluice-pooled' : 'sluice-unpooled';
  const clientOptions = { maxConnectionsPerEndpoint: 1, maxDedicatedConnectionsPerEndpoint: writers * 2 };
  return withClient(
    ctx,
    system,
    'events/s',
    async (client, server) => {
      await client.createStream('bench/pooling', { segments: 8 });
      const all = Array.from({ length: writers }, () =>
        client.createWriter('bench/pooling', { enableConnectionPooling: pooled }),
      );
      const pool = payloads(100);
      let sockets = 0;
      const perWriter = Math.ceil(MAX_EVENTS / writers / BATCH);
      const options = { maxOps: perWriter, inFlight: 4, signal: ctx.signal };
      const load = (durationMs, report) =>
        Promise.all(
          all.map((writer, w) =>
            windowedLoop({ ...options, durationMs, onProgress: w === 0 ? report : undefined }, (i) => {
              const endpoint = client.stats().endpoints[server.endpoint];
              if (endpoint) sockets = Math.max(sockets, endpoint.connections + endpoint.dedicatedConnections);
              return writeBatch(writer, pool, `key-${w}`, i);
            }),
          ),
        );
      await load(ctx.warmupMs);
      const started = now();
      const results = await load(ctx.durationMs, onProgress);
      const seconds = (now() - started) / 1000;
      const events = results.reduce((sum, result) => sum + result.units, 0);
      await Promise.all(all.map((writer) => writer.close()));
      return row(system, sig3(events / seconds), 'events/s', { sockets, writers });
    },
    { clientOptions },
  );
}

/** Heap bytes per idle flow: `flows` flows, half writer flows, half reader flows, one client. */
export function sluiceFlows(ctx, onProgress, { flows }) {
  return withClient(
    ctx,
    'sluice',
    'B/flow',
    async (client, server) => {
      const segments = 100;
      await client.createStream('bench/flows', { segments });
      await client.createStream('bench/one', { segments: 1 });
      // Warm the code paths and the pooled connections before measuring.
      const warm = client.createWriter('bench/one');
      await warm.write('k', 'warm');
      const before = heapUsedAfterGc();
      const writerCount = flows / 2;
      const writers = [];
      for (let i = 0; i < writerCount; i++) {
        const writer = client.createWriter('bench/one');
        await writer.write('k', 'x');
        writers.push(writer);
        if (i % 500 === 0) onProgress(i / flows);
      }
      const readers = [];
      for (let i = 0; i < writerCount / segments; i++) {
        readers.push(client.createReader('bench/flows', { from: 'tail', maxBufferedBytes: segments * 64 * 1024 }));
      }
      // Let every reader flow place itself and park a tail read on the server.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      onProgress(0.9);
      const after = heapUsedAfterGc();
      const stats = client.stats();
      const endpoint = stats.endpoints[server.endpoint];
      const bytesPerFlow = (after - before) / stats.flows;
      const result = lowerRow('sluice', sig3(bytesPerFlow), 'B/flow', {
        flows: stats.flows,
        socketsPerNode: endpoint.connections + endpoint.dedicatedConnections,
      });
      await Promise.all([...writers, warm].map((writer) => writer.close()));
      await Promise.all(readers.map((reader) => reader.close()));
      return result;
    },
    { clientOptions: { maxConnectionsPerEndpoint: 4 }, better: 'lower' },
  );
}

/** Stores `events` 100-byte events (not timed), then times one reader from the head until it saw them all. */
export function sluiceCatchUpRead(ctx, onProgress, { events }) {
  return withClient(ctx, 'sluice', 'events/s', async (client) => {
    await client.createStream('bench/read', { segments: 1 });
    const writer = client.createWriter('bench/read');
    const pool = payloads(100);
    await windowedLoop(
      { durationMs: Math.max(60_000, ctx.durationMs * 6), maxOps: Math.ceil(events / BATCH), inFlight: IN_FLIGHT, signal: ctx.signal, onProgress: (f) => onProgress(f * 0.5) },
      (i) => writeBatch(writer, pool, 'k', i),
    );
    await writer.close();
    const reader = client.createReader('bench/read', { from: 'head' });
    const started = now();
    const deadline = started + Math.max(60_000, ctx.durationMs * 6);
    let seen = 0;
    const target = Math.ceil(events / BATCH) * BATCH;
    for await (const event of reader) {
      if (event.data.byteLength !== 100) throw new Error(`read an event of ${event.data.byteLength} bytes`);
      seen += 1;
      if (seen % 50_000 === 0) onProgress(0.5 + (seen / target) * 0.5);
      if (seen >= target || now() > deadline || ctx.signal.aborted) break;
    }
    const seconds = (now() - started) / 1000;
    await reader.close();
    return row('sluice', sig3(seen / seconds), 'events/s', { events: seen });
  });
}

/** Write → a reader waiting at the tail, one event at a time: p50/p99 µs. */
export function sluiceTailLatency(ctx, onProgress) {
  return withClient(
    ctx,
    'sluice',
    'µs',
    async (client) => {
      await client.createStream('bench/tail', { segments: 1 });
      const writer = client.createWriter('bench/tail');
      const reader = client.createReader('bench/tail', { from: 'tail' });
      const events = reader[Symbol.asyncIterator]();
      const payload = payloads(100)[0];
      const latency = new LatencyRecorder();
      const sample = async (record) => {
        const next = events.next();
        await new Promise((resolve) => setTimeout(resolve, 1));
        const t0 = now();
        const written = writer.write('k', payload);
        const { done } = await next;
        if (record) latency.since(t0);
        if (done) throw new Error('the reader ended');
        await written;
        return 1;
      };
      await sequentialLoop({ durationMs: ctx.warmupMs, maxOps: 1000, signal: ctx.signal }, () => sample(false));
      await sequentialLoop({ durationMs: ctx.durationMs, maxOps: 100_000, signal: ctx.signal, onProgress }, () => sample(true));
      await reader.close();
      const { count, p50Us, p99Us, p999Us, maxUs } = latency.summary();
      return lowerRow('sluice', p50Us, 'µs', { p50Us, p99Us, p999Us, maxUs, samples: count });
    },
    { better: 'lower' },
  );
}

/**
 * Head-of-line blocking on one socket: p99 of awaited 100-byte writes alone, then while a reader on
 * the same socket pulls large events in 1 MiB reads. Value: p99 with the reader ÷ p99 alone.
 */
export function sluiceHeadOfLine(ctx, onProgress) {
  return withClient(
    ctx,
    'sluice',
    'ratio',
    async (client) => {
      await client.createStream('bench/hol-writes', { segments: 1 });
      await client.createStream('bench/hol-reads', { segments: 1 });
      const filler = client.createWriter('bench/hol-reads');
      const big = Buffer.alloc(256 * 1024, 7);
      await Promise.all(Array.from({ length: 128 }, () => filler.write('k', big)));
      await filler.close();
      const writer = client.createWriter('bench/hol-writes');
      const payload = payloads(100)[0];
      const measure = async (report) => {
        const latency = new LatencyRecorder();
        await sequentialLoop(
          { durationMs: ctx.durationMs / 2, maxOps: 200_000, signal: ctx.signal, onProgress: report, latency },
          () => writer.write('k', payload).then(() => 1),
        );
        return latency.summary();
      };
      await sequentialLoop({ durationMs: ctx.warmupMs, maxOps: 10_000, signal: ctx.signal }, () => writer.write('k', payload).then(() => 1));
      const alone = await measure((f) => onProgress(f / 2));
      let reading = true;
      let bytesRead = 0;
      const readLoop = (async () => {
        while (reading) {
          const reader = client.createReader('bench/hol-reads', { from: 'head', maxBufferedBytes: 1024 * 1024 });
          let seen = 0;
          for await (const event of reader) {
            bytesRead += event.data.byteLength;
            if (++seen === 128 || !reading) break;
          }
          await reader.close();
        }
      })();
      const withReader = await measure((f) => onProgress(0.5 + f / 2));
      reading = false;
      await readLoop;
      return lowerRow('sluice', sig3(withReader.p99Us / alone.p99Us), 'ratio', {
        p99AloneUs: alone.p99Us,
        p99WithReaderUs: withReader.p99Us,
        readerMB: Math.round(bytesRead / 1e6),
      });
    },
    { clientOptions: { maxConnectionsPerEndpoint: 1 }, better: 'lower' },
  );
}

async function scrapeCounters(metricsPort) {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (name) => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((line) => line.startsWith(`${name} `)) ?? '')?.[2] ?? NaN);
  return { appends: value('sluice_appends_total'), events: value('sluice_events_total'), fsyncs: value('sluice_fsyncs_total') };
}

/**
 * Appends (records) per fsync, from the server's own counters read before and after a load:
 *   pipelined  the append-100b load: one writer, many 100-byte writes in flight (it batches them
 *              into large blocks, so there are few appends, each of thousands of events);
 *   awaited    `writers` writers each awaiting every 100-byte write: many small independent appends,
 *              the case group commit exists for.
 */
export async function sluiceGroupCommit(ctx, onProgress, { system, load, writers = 1 }) {
  let metricsPort = null;
  const onLine = (line) => {
    if (line.includes('"metrics listening"')) metricsPort = JSON.parse(line).port;
  };
  return withClient(
    ctx,
    system,
    'appends/fsync',
    async (client) => {
      if (!metricsPort) throw new Error('the server did not report its metrics port');
      await client.createStream('bench/group', { segments: 1 });
      const pool = payloads(100);
      const all = Array.from({ length: writers }, () => client.createWriter('bench/group'));
      const before = await scrapeCounters(metricsPort);
      if (load === 'pipelined') {
        await throughput(ctx, onProgress, all[0], pool);
      } else {
        await Promise.all(
          all.map((writer, w) =>
            sequentialLoop(
              { durationMs: ctx.durationMs, maxOps: 1_000_000, signal: ctx.signal, onProgress: w === 0 ? onProgress : undefined },
              (i) => writer.write(`k${w}`, pool[i & 1023]).then(() => 1),
            ),
          ),
        );
      }
      const after = await scrapeCounters(metricsPort);
      const appends = after.appends - before.appends;
      const fsyncs = after.fsyncs - before.fsyncs;
      return row(system, sig3(appends / Math.max(1, fsyncs)), 'appends/fsync', {
        appends,
        fsyncs,
        eventsPerFsync: Math.round((after.events - before.events) / Math.max(1, fsyncs)),
        writers,
      });
    },
    { serverOptions: { args: ['--metrics-port', '0'], onLine } },
  );
}

/** Writes `logBytes` of 1 KiB events, kills the node with SIGKILL, and times its restart on the same data. */
export async function sluiceRecovery(ctx, onProgress, { logBytes }) {
  const sdk = await loadClient();
  if (!sdk) return skippedRow('sluice', CLIENT_NOT_BUILT, 's', 'lower');
  const dataDir = await ctx.tmpDir('recovery-');
  const first = await startSluiceServer({ dataDir, ctx });
  const client = new sdk.SluiceClient({ endpoints: [first.endpoint] });
  const size = 1024;
  let written;
  try {
    await client.createStream('bench/recovery', { segments: 4 });
    const writer = client.createWriter('bench/recovery');
    const pool = payloads(size);
    const result = await windowedLoop(
      { durationMs: 240_000, maxOps: Math.ceil(logBytes / size / BATCH), inFlight: 16, signal: ctx.signal, onProgress: (f) => onProgress(f * 0.9) },
      (i) => writeBatch(writer, pool, `k${i & 63}`, i),
    );
    written = result.units * (size + 4);
  } finally {
    await first.kill();
    await client.close().catch(() => undefined);
  }
  const second = await startSluiceServer({ dataDir, ctx, readyTimeoutMs: 120_000 });
  const check = new sdk.SluiceClient({ endpoints: [second.endpoint] });
  try {
    const info = await check.getStreamInfo('bench/recovery');
    const recovered = info.segmentInfos.reduce((sum, segment) => sum + segment.length, 0);
    if (recovered < written) throw new Error(`recovered ${recovered} bytes of ${written} acknowledged`);
    onProgress(1);
    return lowerRow('sluice', sig3(second.readyMs / 1000), 's', { logMB: Math.round(recovered / 1e6) });
  } finally {
    await check.close();
    await second.stop();
  }
}
