// The physical limits measured in the same run as everything else: what loopback TCP and the
// disk under the bench data dir can do at best, with no protocol and no storage engine.
import { once } from 'node:events';
import { closeSync, constants, fsyncSync, openSync, statfsSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timed } from './awaited.mjs';
import { LatencyRecorder, cpuLoop, now, payloads, sig3 } from './measure.mjs';
import { spawnWithLines, stopProcess, waitForLine } from './processes.mjs';
import { allOf, extraBelowOf, nearFloor, row } from './rows.mjs';
import { sizedAhead } from './sized-ahead.mjs';

const SINK = fileURLToPath(new URL('./byte-sink.mjs', import.meta.url));
export const EVENT_SIZE = 100;
/** An event on the wire and in a block: u32 length + payload. */
export const FRAMED_EVENT_SIZE = 4 + EVENT_SIZE;
export const WRITE_SIZE = 64 * 1024;
export const EVENTS_PER_WRITE = Math.floor(WRITE_SIZE / FRAMED_EVENT_SIZE);

/** 64 KiB worth of framed 100-byte events (630 of them), built once. */
export function packedEvents() {
  const pool = payloads(EVENT_SIZE);
  const block = Buffer.allocUnsafe(EVENTS_PER_WRITE * FRAMED_EVENT_SIZE);
  for (let i = 0; i < EVENTS_PER_WRITE; i++) {
    block.writeUInt32BE(EVENT_SIZE, i * FRAMED_EVENT_SIZE);
    block.set(pool[i], i * FRAMED_EVENT_SIZE + 4);
  }
  return block;
}

/**
 * raw-loopback: one TCP socket on 127.0.0.1 to a separate counting process; 100-byte framed events
 * packed into 64 KiB writes, written as fast as the socket drains. events/s = bytes received ÷ 104.
 */
export async function rawLoopback(ctx, onProgress, system = 'raw-loopback') {
  const lifetimeS = Math.ceil((ctx.durationMs + 60_000) / 1000);
  const socket = await connectToChild(ctx, [SINK, String(lifetimeS)], 'byte sink');
  const answer = new Promise((resolve, reject) => {
    const parts = [];
    socket.on('data', (chunk) => parts.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(parts)));
    socket.on('error', reject);
  });

  const block = packedEvents();
  const maxWrites = 4_000_000;
  const start = now();
  const deadline = start + ctx.durationMs;
  let writes = 0;
  while (writes < maxWrites && !ctx.signal.aborted) {
    if (!socket.write(block)) await once(socket, 'drain');
    writes += 1;
    if ((writes & 255) === 0) {
      const t = now();
      onProgress((t - start) / ctx.durationMs);
      if (t >= deadline) break;
    }
  }
  socket.end();
  const reply = await answer;
  const elapsedMs = now() - start;
  if (reply.byteLength !== 8) throw new Error(`byte sink answered ${reply.byteLength} bytes instead of 8`);
  const received = Number(reply.readBigUInt64BE(0));
  if (received !== writes * block.byteLength) {
    throw new Error(`byte sink counted ${received} bytes, ${writes * block.byteLength} were sent`);
  }
  const events = received / FRAMED_EVENT_SIZE;
  return row(system, sig3((events / elapsedMs) * 1000), 'events/s', {
    'MB/s': sig3(received / elapsedMs / 1000),
    events,
  });
}

/**
 * Starts a Node script (`args`: its path and arguments) that prints {"port":N} once listening, and
 * connects to it over loopback with Nagle off. The process and socket end with the scenario
 * (ctx.defer); a script also exits by itself when its lifetime argument runs out.
 */
async function connectToChild(ctx, args, what) {
  const child = spawnWithLines(process.execPath, args);
  ctx.defer(() => stopProcess(child, { graceMs: 1000 }));
  const port = await waitForLine(child, (line) => JSON.parse(line).port, { what: `${what} port` });
  const socket = connect({ host: '127.0.0.1', port });
  ctx.defer(() => socket.destroy());
  await once(socket, 'connect');
  socket.setNoDelay(true);
  return socket;
}

const TMPFS_MAGIC = 0x01021994;

/**
 * fsync-limit: a 100-byte append + fsync on one file in the bench data dir, one at a time.
 * fsyncs/s, with the latency of one append+fsync (the floor of any awaited durable write).
 */
export async function fsyncLimit(ctx, onProgress, system = 'fsync-limit') {
  const { dir, extra } = await floorDir(ctx, 'fsync-');
  const fd = openSync(join(dir, 'probe.log'), 'a');
  try {
    const record = payloads(EVENT_SIZE)[0];
    const latency = new LatencyRecorder();
    const append = (recordLatency) => () => {
      const t0 = now();
      writeSync(fd, record);
      fsyncSync(fd);
      if (recordLatency) latency.since(t0);
      return 1;
    };
    await cpuLoop({ durationMs: ctx.warmupMs, maxUnits: 100_000, signal: ctx.signal }, append(false));
    const result = await cpuLoop(
      { durationMs: ctx.durationMs, maxUnits: 1_000_000, signal: ctx.signal, onProgress },
      append(true),
    );
    const { p50Us, p99Us } = latency.summary();
    return row(system, sig3(result.perSecond), 'fsyncs/s', { p50Us, p99Us, ...extra });
  } finally {
    closeSync(fd);
  }
}

export const DSYNC_FLOOR = 'dsync-floor';

/** Issue #18's goal for an awaited write, back to back or sporadic: at the disk's floor, and faster than Redis. */
export const AWAITED_WRITE_GOAL = {
  system: 'sluice',
  text: 'p50 ≤ dsync-floor p50 + 100 µs, p99 ≤ 2× dsync-floor p99, p50 < redis-always p50',
  check: allOf(nearFloor(DSYNC_FLOOR, { p50PlusUs: 100, p99Times: 2 }), extraBelowOf('redis-always', 'p50Us')),
};

/**
 * dsync-floor: the least an awaited durable write can cost on this disk, measured in turns with the
 * rows beside it (measureInTurns, at their pace). Each write is one 100-byte pwrite at the end of the
 * records of a file opened O_DSYNC and sized ahead of them, as Sluice's log file is (sized-ahead.mjs),
 * made synchronously in the bench process: it returns once the data is on disk, with no network,
 * thread pool or second event loop in between. Returns a session for measureInTurns.
 */
export const openDsyncFloor = (ctx) => openDsyncWrites(ctx, { sized: true });

export const DSYNC_APPEND_FLOOR = 'dsync-append-floor';

/**
 * dsync-append-floor: dsync-floor's write into a file that grows with each write (no size set
 * ahead), so each write also commits the file's new size to the journal: the floor as measured
 * before session 9, and what an append-only file written the plain way (Redis's AOF) pays.
 */
export const openDsyncAppendFloor = (ctx) => openDsyncWrites(ctx, { sized: false });

async function openDsyncWrites(ctx, { sized }) {
  const { dir, extra } = await floorDir(ctx, sized ? 'dsync-' : 'dsync-append-');
  const fd = openSync(join(dir, 'floor.log'), FLOOR_FILE_FLAGS);
  const makeRoom = sized ? sizedAhead(fd) : () => {};
  const record = payloads(EVENT_SIZE)[0];
  let position = 0;
  return {
    sample: timed(async () => {
      makeRoom(position + record.byteLength);
      position += writeSync(fd, record, 0, record.byteLength, position);
    }),
    close: async () => closeSync(fd),
    extra,
  };
}

export const NODE_DSYNC_RPC = 'node-dsync-rpc';
const DSYNC_RPC_SERVER = fileURLToPath(new URL('./dsync-rpc-server.mjs', import.meta.url));

/**
 * node-dsync-rpc: dsync-floor's write made by a separate plain Node process at the other end of a
 * loopback TCP socket, one awaited request at a time (bench/lib/dsync-rpc-server.mjs): no protocol,
 * codec or storage engine, only two Node event loops and a round trip. The distance from
 * dsync-floor to it is what the runtime and the machine charge any Node client and server; the
 * distance from it to Sluice is Sluice's own. Returns a session for measureInTurns.
 */
export async function openNodeDsyncRpc(ctx) {
  const { dir, extra } = await floorDir(ctx, 'dsync-rpc-');
  const lifetimeS = Math.ceil((ctx.durationMs * 4 + 120_000) / 1000);
  const socket = await connectToChild(ctx, [DSYNC_RPC_SERVER, join(dir, 'rpc.log'), String(lifetimeS)], 'dsync rpc server');
  const record = payloads(EVENT_SIZE)[0];
  const request = Buffer.allocUnsafe(4 + record.byteLength);
  request.writeUInt32BE(record.byteLength, 0);
  record.copy(request, 4);
  let answered = null;
  let received = 0;
  socket.on('data', (chunk) => {
    received += chunk.byteLength;
    if (received >= 8) {
      received -= 8;
      answered?.();
    }
  });
  return {
    sample: timed(() => {
      const reply = new Promise((resolve) => (answered = resolve));
      socket.write(request);
      return reply;
    }),
    close: async () => socket.destroy(),
    extra,
  };
}

export const DSYNC_MAJORITY_FLOOR = 'dsync-majority-floor';

/**
 * dsync-majority-floor: the least an awaited write acknowledged by a majority of three replicas can
 * cost when, as in the replicated bench, all three replicas share this one disk. Each sample issues
 * one 100-byte O_DSYNC pwrite to each of three files sized ahead at once (thread pool, as three nodes would
 * write at the same moment) and is timed until the second returns; the next waits for the third.
 * On three machines each replica would cost one dsync-floor; here they queue for one device.
 */
export async function openDsyncMajorityFloor(ctx) {
  const { dir, extra } = await floorDir(ctx, 'dsync-majority-');
  const replicas = await Promise.all([0, 1, 2].map((i) => open(join(dir, `replica-${i}.log`), FLOOR_FILE_FLAGS)));
  const makeRoom = replicas.map((file) => sizedAhead(file.fd));
  const record = payloads(EVENT_SIZE)[0];
  let position = 0;
  return {
    sample: async () => {
      for (const room of makeRoom) room(position + record.byteLength);
      const t0 = now();
      let durable = 0;
      let majorityUs = 0;
      const write = (file) =>
        file.write(record, 0, record.byteLength, position).then(() => {
          if (++durable === 2) majorityUs = (now() - t0) * 1000;
        });
      await Promise.all(replicas.map(write));
      position += record.byteLength;
      return majorityUs;
    },
    close: () => Promise.all(replicas.map((file) => file.close())),
    extra,
  };
}

const FLOOR_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC;

/** A fresh directory for a floor's files, with a warning (and a `tmpfs` extra) when O_DSYNC would cost nothing there. */
async function floorDir(ctx, prefix) {
  const dir = await ctx.tmpDir(prefix);
  const onTmpfs = statfsSync(dir).type === TMPFS_MAGIC;
  if (onTmpfs) ctx.log(`warning: ${dir} is on tmpfs; fsync and O_DSYNC cost nothing there. Use --data-dir on a real disk.`);
  return { dir, extra: onTmpfs ? { tmpfs: true } : {} };
}
