// The Sluice side of the scenarios: real sluice-server processes (fsync on, as users run them),
// driven through the real @sluice/client. Every loop is bounded by time and by count.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { timed } from './awaited.mjs';
import { now, payloads, rate, sequentialLoop, sig3, windowedLoop, heapUsedAfterGc } from './measure.mjs';
import { lowerRow, row, skippedRow } from './rows.mjs';
import { CLIENT_NOT_BUILT, loadClient } from './sluice-packages.mjs';
import { EVENTS_IN_FLIGHT, WRITE_BATCH, WRITE_OPS_IN_FLIGHT } from './write-window.mjs';
import { etcdMissing, startSluiceCluster } from './sluice-cluster.mjs';
import { spawnTracked, stopProcess } from './processes.mjs';
import { startSluiceServer, withSluiceServer } from './sluice-server.mjs';

/** Writes per windowed-loop operation and operations in flight: 16 k events pending at most. */
const BATCH = WRITE_BATCH;
const IN_FLIGHT = WRITE_OPS_IN_FLIGHT;
/** Upper bound of events one throughput run may write, whatever the duration. */
const MAX_EVENTS = 50_000_000;
/** A throughput turn measured in turns with another system: long against filling and draining 16 k events. */
const THROUGHPUT_TURN_MS = 500;

/**
 * Runs fn(client, server) against a fresh server, or returns a skipped row when the client is not
 * built. `replicated`: against a fresh 3-node replicated cluster (etcd, RF 3) instead; fn then gets
 * the cluster (see sluice-cluster.mjs) as its second argument.
 */
async function withClient(ctx, system, unit, fn, { clientOptions = {}, serverOptions = {}, better = 'higher', replicated = false } = {}) {
  const sdk = await loadClient();
  if (!sdk) return skippedRow(system, CLIENT_NOT_BUILT, unit, better);
  const run = async (endpoints, target) => {
    const client = new sdk.SluiceClient({ endpoints, ...clientOptions });
    try {
      return await fn(client, target);
    } finally {
      await client.close();
    }
  };
  if (!replicated) return withSluiceServer(ctx, (server) => run([server.endpoint], server), serverOptions);
  if (etcdMissing()) return skippedRow(system, etcdMissing(), unit, better);
  const cluster = await startSluiceCluster(ctx);
  try {
    return await run(cluster.endpoints, cluster);
  } finally {
    await cluster.stop();
  }
}

/** Creates a stream, retrying while a fresh replicated cluster's primaries are still being chosen (bounded). */
async function createStreamWhenReady(client, stream, options, { timeoutMs = 30_000 } = {}) {
  const deadline = now() + timeoutMs;
  for (;;) {
    try {
      return await client.createStream(stream, options);
    } catch (error) {
      if (!error?.retriable || now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * A fresh node's block cache (`--cache-bytes`, 256 MiB by default) fills with memory the process has
 * never touched, and on this machine each first touch of a page costs a fault of ~20 µs: a fresh
 * node's first 256 MiB of appends cost it about twice the CPU per event of later ones
 * (docs/benchmarks.md, "Session 7: a fresh node's first 256 MiB"). A throughput row is about a node
 * that has been running: before it is measured, the stream it writes gets CACHE_FILL_BYTES of large
 * events (few client CPU per byte), at most CACHE_FILL_MAX_MS. The same stream, so a replicated
 * cluster fills the cache of the primary that the measured writer then uses.
 */
const CACHE_FILL_BYTES = 320 * 1024 * 1024;
const CACHE_FILL_EVENT_BYTES = 256 * 1024;
const CACHE_FILL_MAX_MS = 20_000;

/** Fills the serving node's block cache through `stream`; returns what it wrote and how long it took. */
async function fillBlockCache(ctx, client, stream) {
  const writer = client.createWriter(stream);
  const event = Buffer.alloc(CACHE_FILL_EVENT_BYTES, 0x66);
  const events = CACHE_FILL_BYTES / CACHE_FILL_EVENT_BYTES;
  const start = now();
  try {
    const { units } = await windowedLoop({ durationMs: CACHE_FILL_MAX_MS, maxOps: events, inFlight: 16, signal: ctx.signal }, () =>
      writer.write('fill', event).then(() => 1),
    );
    return { cacheFillMB: Math.round((units * CACHE_FILL_EVENT_BYTES) / 1e6), cacheFillMs: Math.round(now() - start) };
  } finally {
    await writer.close();
  }
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
    await createStreamWhenReady(client, 'bench/append', { segments: 1 });
    const filled = await fillBlockCache(ctx, client, 'bench/append');
    const writer = client.createWriter('bench/append');
    const result = await throughput(ctx, onProgress, writer, payloads(size));
    return row(system, sig3(rate(result, unit === 'MB/s' ? size : 0)), unit, { events: result.units, ...windowExtra(writer), ...filled });
  });
}

/** What a throughput row shows of its writer: events per append and the window it kept in flight. */
function windowExtra(writer) {
  const stats = writer.stats();
  // The writer packs events into blocks: one append (one store record) per block.
  return { eventsPerAppend: Math.round(stats.eventsSent / Math.max(1, stats.blocksSent)), inFlightEvents: EVENTS_IN_FLIGHT };
}

/** A client on a server of its own (or on a 3-node replicated cluster), kept up across measureInTurns' turns; closes both. */
async function openSluice(ctx, system, { replicated = false } = {}) {
  const sdk = await loadClient();
  if (!sdk) return { skipped: skippedRow(system, CLIENT_NOT_BUILT) };
  if (replicated && etcdMissing()) return { skipped: skippedRow(system, etcdMissing()) };
  const target = replicated ? await startSluiceCluster(ctx) : await startSluiceServer({ dataDir: await ctx.tmpDir('sluice-'), ctx });
  const client = new sdk.SluiceClient({ endpoints: replicated ? target.endpoints : [target.endpoint] });
  const close = async () => {
    await client.close();
    await target.stop();
  };
  return { client, close };
}

/**
 * append-100b's load (one writer, `size`-byte events, 16 k in flight) as a throughput session for
 * measureInTurns, in turns of THROUGHPUT_TURN_MS (each fills the window and drains it).
 * `replicated`: on 3 nodes, RF 3.
 */
export async function openSluiceThroughput(ctx, { system = 'sluice', replicated = false, size = 100 } = {}) {
  const { client, close, skipped } = await openSluice(ctx, system, { replicated });
  if (skipped) return skipped;
  await createStreamWhenReady(client, 'bench/append', { segments: 1 });
  const filled = await fillBlockCache(ctx, client, 'bench/append');
  const writer = client.createWriter('bench/append');
  const pool = payloads(size);
  let batches = 0;
  return {
    turnMs: THROUGHPUT_TURN_MS,
    run: async (durationMs) => {
      const options = { durationMs, maxOps: Math.ceil(MAX_EVENTS / BATCH), inFlight: IN_FLIGHT, signal: ctx.signal };
      const { units, elapsedMs } = await windowedLoop(options, () => writeBatch(writer, pool, 'k', batches++));
      return { units, elapsedMs };
    },
    get extra() {
      return { ...windowExtra(writer), ...filled };
    },
    close,
  };
}

/** One awaited 100-byte write at a time (a session for measureInTurns). `replicated`: on 3 nodes, RF 3. */
export async function openSluiceAwaited(ctx, { system = 'sluice', replicated = false } = {}) {
  const { client, close, skipped } = await openSluice(ctx, system, { replicated });
  if (skipped) return skipped;
  await createStreamWhenReady(client, 'bench/awaited', { segments: 1 });
  const writer = client.createWriter('bench/awaited');
  const pool = payloads(100);
  return { sample: timed((i) => writer.write('k', pool[i & 1023])), close };
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

/**
 * Write → a reader waiting at the tail, one event at a time (a session for measureInTurns): each
 * sample asks the reader for its next event, lets ~1 ms pass so the read is parked at the tail, then
 * times the write call to the reader having the event.
 */
export async function openSluiceTail(ctx) {
  const { client, close, skipped } = await openSluice(ctx, 'sluice');
  if (skipped) return skipped;
  await client.createStream('bench/tail', { segments: 1 });
  const writer = client.createWriter('bench/tail');
  const reader = client.createReader('bench/tail', { from: 'tail' });
  const events = reader[Symbol.asyncIterator]();
  const payload = payloads(100)[0];
  return {
    sample: async () => {
      const next = events.next();
      await new Promise((resolve) => setTimeout(resolve, 1));
      const t0 = now();
      const written = writer.write('k', payload);
      const { done } = await next;
      const us = (now() - t0) * 1000;
      if (done) throw new Error('the reader ended');
      await written;
      return us;
    },
    close: async () => {
      await reader.close();
      await close();
    },
  };
}

/** The hol scenario's writer and readers, run as a process of their own (hol-client.mjs). */
const HOL_CLIENT = fileURLToPath(new URL('./hol-client.mjs', import.meta.url));

/**
 * Head-of-line blocking on one socket: p99 of awaited 100-byte writes alone, with a reader pulling
 * 1 MiB reads over the writer's socket (`sluice`), and with the same reader on a socket of its own
 * in the same process (`sluice-own-socket`, the control: what sharing the CPU and the event loop
 * costs without sharing the socket). The three conditions alternate in rounds so a burst of load
 * elsewhere on the machine hits them alike. Values: p99 with the reader ÷ p99 alone; the gap between
 * the two rows is what the shared socket adds.
 *
 * The clients run in a fresh process, not in the bench's: after earlier scenarios the bench
 * process's V8 old generation is above 8 MB with little room to its limit, and then every scavenge
 * the reader's 1 MiB replies cause (one per ~30 MB read) starts a major GC, whose pauses land in the
 * writer's p99. The row would measure what ran before it (docs/benchmarks.md, "Session 8: hol in
 * every run").
 */
export async function sluiceHeadOfLine(ctx, onProgress) {
  if (!(await loadClient())) return skippedRow('sluice', CLIENT_NOT_BUILT, 'ratio', 'lower');
  return withSluiceServer(ctx, async (server) => {
    const { alone, shared, own, readerBytes, readBytes, rounds, holdMB, copyEventData, heapUsedMB } = await runHolClient(ctx, server.endpoint, onProgress);
    // hol-client.mjs's diagnostic knobs, named in the row when one was set (the scenario sets none).
    const knobs = holdMB > 0 || copyEventData ? { holdMB, copyEventData, heapUsedMB } : {};
    const extra = { p99AloneUs: alone.p99Us, readBytes, readerMB: Math.round(readerBytes / 1e6), rounds, ...knobs };
    return [
      lowerRow('sluice', sig3(shared.p99Us / alone.p99Us), 'ratio', { ...extra, p99WithReaderUs: shared.p99Us, socket: 'shared with the writer' }),
      lowerRow('sluice-own-socket', sig3(own.p99Us / alone.p99Us), 'ratio', { ...extra, p99WithReaderUs: own.p99Us, socket: 'its own (control)' }),
    ];
  });
}

/** Runs hol-client.mjs against `endpoint` and resolves with its result line; stops it on abort. */
async function runHolClient(ctx, endpoint, onProgress) {
  let result = null;
  const child = spawnTracked(process.execPath, [HOL_CLIENT, JSON.stringify({ endpoint, durationMs: ctx.durationMs, warmupMs: ctx.warmupMs })], {
    name: 'hol client',
    onLine: (line, from) => {
      if (from !== 'stdout' || !line.startsWith('{')) return;
      const message = JSON.parse(line);
      if (message.type === 'progress') onProgress(message.fraction);
      else if (message.type === 'result') result = message;
    },
  });
  // 'close' comes after the child's output was read to its end, so a result line is never missed.
  const closed = new Promise((resolve) => child.once('close', resolve));
  const stop = () => stopProcess(child, { graceMs: 1000 });
  ctx.signal.addEventListener('abort', stop, { once: true });
  try {
    const code = await closed;
    if (result === null) throw new Error(`the hol client exited (code ${code}) without a result:\n  ${child.tail.slice(-10).join('\n  ')}`);
    return result;
  } finally {
    ctx.signal.removeEventListener('abort', stop);
  }
}

async function scrapeCounters(metricsPort) {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (name) => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((line) => line.startsWith(`${name} `)) ?? '')?.[2] ?? NaN);
  return {
    appends: value('sluice_appends_total'),
    events: value('sluice_events_total'),
    fsyncs: value('sluice_fsyncs_total'),
    syncs: value('sluice_syncs_total'),
  };
}

/**
 * Appends (records) per sync call, from the server's own counters read before and after a load. Every
 * sync counts: log writes that return once on disk (O_DSYNC, counted from the flags the files were
 * opened with), checkpoint file fsyncs and directory fsyncs. The loads:
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
    'appends/sync',
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
      const syncs = after.syncs - before.syncs;
      if (!(syncs > 0)) throw new Error(`the server counted ${syncs} sync calls under a durable load`);
      return row(system, sig3(appends / syncs), 'appends/sync', {
        appends,
        syncs,
        logSyncs: after.fsyncs - before.fsyncs,
        eventsPerSync: Math.round((after.events - before.events) / syncs),
        writers,
      });
    },
    { serverOptions: { args: ['--metrics-port', '0'], onLine } },
  );
}

/**
 * Writes `logBytes` of 1 KiB events, kills the node with SIGKILL, and times its restart on the same
 * data (spawn -> "listening"), twice: with the log in the page cache as the crash left it, then,
 * after another kill -9, with the page cache dropped (a cold start, when the machine lets us drop it:
 * root and a writable /proc/sys/vm/drop_caches). Each row reports the log bytes recovery replayed.
 */
export async function sluiceRecovery(ctx, onProgress, { logBytes }) {
  const sdk = await loadClient();
  if (!sdk) return [skippedRow('sluice', CLIENT_NOT_BUILT, 's', 'lower')];
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
      { durationMs: 240_000, maxOps: Math.ceil(logBytes / size / BATCH), inFlight: 16, signal: ctx.signal, onProgress: (f) => onProgress(f * 0.8) },
      (i) => writeBatch(writer, pool, `k${i & 63}`, i),
    );
    written = result.units * (size + 4);
  } finally {
    await first.kill();
    await client.close().catch(() => undefined);
  }
  const warm = await timeRecovery(sdk, ctx, dataDir, written, 'sluice');
  onProgress(0.9);
  const cold = dropPageCache()
    ? await timeRecovery(sdk, ctx, dataDir, written, 'sluice-cold-cache')
    : skippedRow('sluice-cold-cache', 'cannot drop the page cache here (needs root and /proc/sys/vm/drop_caches)', 's', 'lower');
  onProgress(1);
  return [warm, cold];
}

/** Starts a node on dataDir, times it to "listening", checks every acknowledged byte is there, kills it again. */
async function timeRecovery(sdk, ctx, dataDir, written, system) {
  let replayedLogBytes = null;
  const onLine = (line) => {
    if (line.includes('"segment store open"')) replayedLogBytes = JSON.parse(line).replayedLogBytes;
  };
  const server = await startSluiceServer({ dataDir, ctx, readyTimeoutMs: 120_000, onLine });
  const check = new sdk.SluiceClient({ endpoints: [server.endpoint] });
  try {
    const info = await check.getStreamInfo('bench/recovery');
    const recovered = info.segmentInfos.reduce((sum, segment) => sum + segment.length, 0);
    if (recovered < written) throw new Error(`recovered ${recovered} bytes of ${written} acknowledged`);
    return lowerRow(system, sig3(server.readyMs / 1000), 's', {
      logMB: Math.round(recovered / 1e6),
      replayedMB: replayedLogBytes === null ? null : Math.round(replayedLogBytes / 1e6),
    });
  } finally {
    await check.close();
    // kill -9, not a stop: a clean stop would write a checkpoint and leave nothing to replay.
    await server.kill();
  }
}

/** Writes dirty pages out and drops the page cache; false where that is not allowed. */
function dropPageCache() {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

/**
 * Failover on a replicated cluster (3 nodes, RF 3, lease TTL 2 s): a writer writes awaited events,
 * the primary of its segment is killed (SIGKILL), and the row is the time from the kill to the
 * first append acknowledged after it (started after the kill; the writer retries by itself).
 */
export function sluiceFailover(ctx, onProgress, { system = 'sluice' } = {}) {
  return withClient(
    ctx,
    system,
    'ms',
    async (client, cluster) => {
      const stream = 'bench/failover';
      await createStreamWhenReady(client, stream, { segments: 1 });
      const writer = client.createWriter(stream);
      const pool = payloads(100);
      for (let i = 0; i < 200; i++) await writer.write('k', pool[i & 1023]);
      onProgress(0.3);
      const { owner } = (await client.getStreamInfo(stream)).segmentInfos[0];
      const victim = cluster.nodes.find((node) => node.endpoint === owner);
      if (!victim) throw new Error(`the segment's primary ${owner} is not one of ${cluster.endpoints.join(', ')}`);
      const killedAt = now();
      await victim.kill();
      await writer.write('k', pool[0]);
      const ms = Math.round(now() - killedAt);
      onProgress(1);
      await writer.close();
      return lowerRow(system, ms, 'ms', { leaseTtlMs: cluster.leaseTtlMs });
    },
    { replicated: true, better: 'lower', clientOptions: { retryWindowMs: 60_000 } },
  );
}
