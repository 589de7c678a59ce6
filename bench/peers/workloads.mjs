// The peers' side of the append/read/tail workloads, written once and used by the scenarios.
// Each function measures one system and returns one row; a missing binary gives a skipped row.
import { timed } from '../lib/awaited.mjs';
import { awaitedLoop, now, payloads, rate, sequentialLoop, sig3, windowedLoop } from '../lib/measure.mjs';
import { row, skippedRow } from '../lib/rows.mjs';
import { createInbox } from 'nats';
import { natsBinary, startNats } from './nats.mjs';
import { redisBinary, startRedis } from './redis.mjs';
import { EVENTS_IN_FLIGHT, WRITE_BATCH, WRITE_OPS_IN_FLIGHT } from '../lib/write-window.mjs';

export const NOT_INSTALLED = 'not installed';

const REDIS_DURABILITY = {
  always: 'AOF fsync before reply',
  everysec: 'AOF fsync every second',
};
const NATS_DURABILITY = 'JetStream file store, no fsync per message';
const decoder = new globalThis.TextDecoder();

/** Pipelined XADDs: BATCH commands per pipeline, IN_FLIGHT pipelines at once (as many events as Sluice's writer). */
const REDIS_BATCH = WRITE_BATCH;
const REDIS_IN_FLIGHT = WRITE_OPS_IN_FLIGHT;
/** Individual js.publish calls in flight at once. */
const NATS_IN_FLIGHT = 2048;

/** Upper bounds on what one measurement may store in a peer (memory and disk stay bounded). */
export function maxEventsFor(size) {
  return Math.floor((size <= 128 ? 600 : 1024) * 2 ** 20 / size);
}

function checkPipeline(results) {
  for (const [error] of results) if (error) throw error;
}

async function xaddBatch(client, key, pool, first) {
  const pipeline = client.pipeline();
  for (let k = 0; k < REDIS_BATCH; k++) pipeline.xadd(key, '*', 'd', pool[(first + k) & 1023]);
  checkPipeline(await pipeline.exec());
  return REDIS_BATCH;
}

/**
 * One writer, `size`-byte events, REDIS_BATCH × REDIS_IN_FLIGHT XADDs in flight.
 * Unit: events/s, or MB/s when `unit` is 'MB/s'.
 */
export async function redisAppend(ctx, onProgress, { system, appendfsync, size, unit = 'events/s' }) {
  if (!redisBinary()) return skippedRow(system, NOT_INSTALLED, unit);
  const redis = await startRedis(ctx, { appendfsync });
  try {
    const client = await redis.client();
    const pool = payloads(size);
    const batch = (i) => xaddBatch(client, 'bench', pool, i * REDIS_BATCH);
    const maxOps = Math.ceil(maxEventsFor(size) / REDIS_BATCH);
    await windowedLoop({ durationMs: ctx.warmupMs, maxOps, inFlight: REDIS_IN_FLIGHT, signal: ctx.signal }, batch);
    const result = await windowedLoop(
      { durationMs: ctx.durationMs, maxOps, inFlight: REDIS_IN_FLIGHT, signal: ctx.signal, onProgress },
      batch,
    );
    return row(system, sig3(rate(result, unit === 'MB/s' ? size : 0)), unit, {
      events: result.units,
      eventsPerAppend: 1,
      inFlightEvents: REDIS_BATCH * REDIS_IN_FLIGHT,
      durability: REDIS_DURABILITY[appendfsync],
    });
  } finally {
    await redis.stop();
  }
}

/** Sluice's writer fills blocks up to 1 MiB (its default maxBlockBytes). */
const PACKED_BLOCK_BYTES = 1024 * 1024;

/**
 * Redis batched the way Sluice's writer batches: each XADD carries one packed block of events
 * (`u32 length + bytes` each, up to 1 MiB), with as many events in flight as the other rows. Next
 * to redisAppend it separates what batching gives from what the store does.
 */
export async function redisAppendPacked(ctx, onProgress, { system, appendfsync, size, unit = 'events/s' }) {
  if (!redisBinary()) return skippedRow(system, NOT_INSTALLED, unit);
  const redis = await startRedis(ctx, { appendfsync });
  try {
    const client = await redis.client();
    const pool = payloads(size);
    const perBlock = Math.floor(PACKED_BLOCK_BYTES / (size + 4));
    // Built once, as the writer's copying is not what this row measures; entries rotate over them.
    const blocks = Array.from({ length: 4 }, (_, b) =>
      Buffer.concat(Array.from({ length: perBlock }, (_, k) => framed(pool[(b * perBlock + k) & 1023]))),
    );
    const append = (i) => client.xadd('bench', '*', 'd', blocks[i & 3]).then(() => perBlock);
    const inFlight = Math.max(1, Math.ceil(EVENTS_IN_FLIGHT / perBlock));
    const maxOps = Math.ceil(maxEventsFor(size) / perBlock);
    await windowedLoop({ durationMs: ctx.warmupMs, maxOps, inFlight, signal: ctx.signal }, append);
    const result = await windowedLoop({ durationMs: ctx.durationMs, maxOps, inFlight, signal: ctx.signal, onProgress }, append);
    return row(system, sig3(rate(result, unit === 'MB/s' ? size : 0)), unit, {
      events: result.units,
      eventsPerAppend: perBlock,
      inFlightEvents: inFlight * perBlock,
      durability: REDIS_DURABILITY[appendfsync],
    });
  } finally {
    await redis.stop();
  }
}

function framed(event) {
  const out = Buffer.allocUnsafe(4 + event.length);
  out.writeUInt32BE(event.length, 0);
  out.set(event, 4);
  return out;
}

/** One awaited XADD at a time (a session for measureInTurns). */
export async function openRedisAwaited(ctx, { system = 'redis-always', appendfsync = 'always', size = 100 } = {}) {
  if (!redisBinary()) return skippedRow(system, NOT_INSTALLED);
  const redis = await startRedis(ctx, { appendfsync });
  const client = await redis.client();
  const pool = payloads(size);
  return {
    sample: timed((i) => client.xadd('bench', '*', 'd', pool[i & 1023])),
    close: () => redis.stop(),
    extra: { durability: REDIS_DURABILITY[appendfsync] },
  };
}

/**
 * Catch-up read: stores `events` 100-byte events, then reads them all back with XRANGE pages of
 * `page` entries, one page at a time (each page starts after the last id of the one before).
 * The untimed load runs with appendfsync everysec to save time; the reads run with `always`, as
 * the row's name says (reads do not fsync either way).
 */
export async function redisCatchUpRead(ctx, onProgress, { system = 'redis-always', events, page = 10_000 }) {
  if (!redisBinary()) return skippedRow(system, NOT_INSTALLED, 'events/s');
  const redis = await startRedis(ctx, { appendfsync: 'everysec' });
  try {
    const client = await redis.client();
    const pool = payloads(100);
    const loadOps = Math.ceil(events / REDIS_BATCH);
    const loaded = await windowedLoop(
      {
        durationMs: Math.max(60_000, ctx.durationMs * 6),
        maxOps: loadOps,
        inFlight: REDIS_IN_FLIGHT,
        signal: ctx.signal,
        onProgress: (f) => onProgress(f * 0.5),
      },
      (i) => xaddBatch(client, 'bench', pool, i * REDIS_BATCH),
    );
    await client.config('SET', 'appendfsync', 'always');
    const stored = await client.xlen('bench');
    let start = '-';
    let bytes = 0;
    const result = await sequentialLoop(
      {
        durationMs: Math.max(ctx.durationMs * 3, 10_000),
        maxOps: Math.ceil(stored / page) + 1,
        signal: ctx.signal,
        onProgress: (f) => onProgress(0.5 + f * 0.5),
      },
      async () => {
        const entries = await client.xrangeBuffer('bench', start, '+', 'COUNT', page);
        if (entries.length === 0) return 0;
        for (const [, fields] of entries) bytes += fields[1].byteLength;
        start = `(${entries[entries.length - 1][0].toString()}`;
        return entries.length;
      },
    );
    if (result.units < stored) ctx.log(`${system}: read ${result.units} of ${stored} events within the time bound`);
    return row(system, sig3(result.perSecond), 'events/s', {
      events: result.units,
      loadedPerSecond: sig3(loaded.perSecond),
      page,
      bytesRead: bytes,
    });
  } finally {
    await redis.stop();
  }
}

/**
 * Write -> waiting reader (a session for measureInTurns): one client blocked in XREAD BLOCK, another
 * XADDs one event; the latency is from just before the XADD to the reader receiving it. The reader
 * re-arms its XREAD and waits ~1 ms before the write, so every sample hits a reader already waiting.
 * With appendfsync always, Redis sends both replies (the XADD's and the reader's) after the fsync of
 * that event-loop round (beforeSleep writes and fsyncs the AOF before it writes replies).
 */
export async function openRedisTail(ctx, { system = 'redis', appendfsync = 'always' } = {}) {
  if (!redisBinary()) return skippedRow(system, NOT_INSTALLED, 'µs', 'lower');
  const redis = await startRedis(ctx, { appendfsync });
  const writer = await redis.client();
  const reader = await redis.client();
  const payload = payloads(100)[0];
  let lastId = (await writer.xadd('bench', '*', 'd', payload)).toString();
  return {
    sample: async () => {
      const read = reader.xreadBuffer('BLOCK', 5000, 'STREAMS', 'bench', lastId);
      await new Promise((resolve) => setTimeout(resolve, 1));
      const t0 = now();
      const written = writer.xadd('bench', '*', 'd', payload);
      const reply = await read;
      const us = (now() - t0) * 1000;
      if (!reply) throw new Error('XREAD BLOCK timed out: the write never reached the reader');
      const entries = reply[0][1];
      lastId = entries[entries.length - 1][0].toString();
      await written;
      return us;
    },
    close: () => redis.stop(),
    extra: { durability: REDIS_DURABILITY[appendfsync] },
  };
}

/**
 * Publishes with acks collected asynchronously: every message carries one shared reply inbox, and
 * JetStream's acks arrive there (the pattern of the Go client's PublishAsync). `js.publish` awaits
 * one request per message instead and is ~10× slower in nats.js, which would understate the peer.
 * Sends until `durationMs` or `maxMessages`, keeping at most `window` messages unacknowledged, then
 * waits for the last acks. Resolves with { units, elapsedMs, perSecond }.
 */
async function natsPublishAsync(nc, { subject, pool, durationMs, maxMessages, window, signal, onProgress }) {
  const inbox = createInbox();
  let sent = 0;
  let acked = 0;
  let failure = null;
  let wake = null;
  const wakeUp = () => {
    const resume = wake;
    wake = null;
    resume?.();
  };
  const sub = nc.subscribe(inbox, {
    callback: (error, message) => {
      if (error) failure ??= error;
      else {
        const ack = JSON.parse(decoder.decode(message.data));
        if (ack.error) failure ??= new Error(`JetStream refused a message: ${JSON.stringify(ack.error)}`);
      }
      acked += 1;
      if (failure || sent - acked <= window / 2 || acked === sent) wakeUp();
    },
  });
  try {
    const start = now();
    const deadline = start + durationMs;
    let t = start;
    const waitForAcks = async (until) => {
      while (!failure && !until()) {
        const before = acked;
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, 10_000);
        });
        if (acked === before && !until()) throw new Error('no JetStream ack for 10 s');
      }
    };
    while (!failure && t < deadline && sent < maxMessages && !signal?.aborted) {
      while (sent - acked < window && sent < maxMessages) {
        nc.publish(subject, pool[sent & 1023], { reply: inbox });
        sent += 1;
      }
      await waitForAcks(() => sent - acked <= window / 2);
      t = now();
      onProgress?.((t - start) / durationMs);
    }
    await waitForAcks(() => acked >= sent);
    if (failure) throw failure;
    const elapsedMs = now() - start;
    return { units: acked, elapsedMs, perSecond: (acked / elapsedMs) * 1000 };
  } finally {
    sub.unsubscribe();
  }
}

/** One publisher, `size`-byte messages, up to NATS_IN_FLIGHT unacknowledged (see natsPublishAsync). */
export async function natsAppend(ctx, onProgress, { system = 'nats', size, unit = 'events/s' }) {
  if (!natsBinary()) return skippedRow(system, NOT_INSTALLED, unit);
  const nats = await startNats(ctx);
  try {
    const { nc } = await nats.connection();
    const pool = payloads(size);
    const maxMessages = maxEventsFor(size);
    const common = { subject: 'bench.append', pool, maxMessages, window: NATS_IN_FLIGHT, signal: ctx.signal };
    await natsPublishAsync(nc, { ...common, durationMs: ctx.warmupMs });
    const result = await natsPublishAsync(nc, { ...common, durationMs: ctx.durationMs, onProgress });
    return row(system, sig3(rate(result, unit === 'MB/s' ? size : 0)), unit, {
      events: result.units,
      inFlight: NATS_IN_FLIGHT,
      durability: NATS_DURABILITY,
    });
  } finally {
    await nats.stop();
  }
}

/** One acked js.publish at a time: events/s with p50/p99 latency. */
export async function natsAppendAwaited(ctx, onProgress, { system = 'nats', size = 100 } = {}) {
  if (!natsBinary()) return skippedRow(system, NOT_INSTALLED, 'events/s');
  const nats = await startNats(ctx);
  try {
    const { js } = await nats.connection();
    const pool = payloads(size);
    const publish = (i) => js.publish('bench.awaited', pool[i & 1023]).then(() => 1);
    const { perSecond, ...latency } = await awaitedLoop(ctx, onProgress, publish);
    return row(system, sig3(perSecond), 'events/s', { ...latency, durability: NATS_DURABILITY });
  } finally {
    await nats.stop();
  }
}
