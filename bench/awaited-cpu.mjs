#!/usr/bin/env node
// An awaited write's latency and CPU on both sides, side by side: one writer, one 100-byte write at a
// time, each awaited (the append-awaited load), N writes per round, this tree against --base <built
// checkout> in alternating rounds. Each round starts that tree's sluice-server (--fsync none by
// default: the software path alone; --fsync always for the disk too) and a fresh client process of
// that tree; it reports the p50/p99 latency and the CPU per write of the client (process.cpuUsage)
// and of the server (/proc/<pid>/stat, over the measured writes only). A control row runs a bare
// Node TCP ping-pong between two processes with frames of the same sizes (--control): what two
// event loops and the loopback cost without any of our code.
//
//   node bench/awaited-cpu.mjs --base /work/wt/base-main [--rounds 5] [--writes 5000] [--fsync always]
//        [--pace-ms 10] [--control] [--in-process] [--prof <dir> [--prof-interval-us 100]]
//
// --in-process: server and client in one process (one event loop; CPU per write is both sides').
// --prof <dir>: every process runs with --cpu-prof into <dir>/<tree>-<side>-r<round>/; each tree's
// profiles are summed over the measured writes: self time per function, µs per write.
import { spawn } from 'node:child_process';
import { constants as fsConstants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAverage, median, processCost } from './lib/process-stats.mjs';
import { DEFAULT_DATA_DIR } from './lib/paths.mjs';
import { startSluiceServer } from './lib/sluice-server.mjs';

const SELF = fileURLToPath(import.meta.url);
const STREAM = 'bench/awaited-cpu';
const WARMUP_WRITES = 1_000;
const TOP = 30;
/** Frame sizes of one awaited 100-byte append and its ack (header included), for the ping-pong control. */
const REQUEST_BYTES = 190;
const REPLY_BYTES = 70;

const mode = process.argv[2];
if (mode === '--client') {
  const childOptions = JSON.parse(process.argv[3]);
  await (childOptions.pingPong === undefined ? clientChild(childOptions) : pingPongClient(childOptions));
} else if (mode === '--echo') await echoChild(process.argv[3]);
else await main();

async function main() {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      writes: { type: 'string', default: '5000' },
      fsync: { type: 'string', default: 'none' },
      'pace-ms': { type: 'string', default: '0' },
      control: { type: 'boolean', default: false },
      'in-process': { type: 'boolean', default: false },
      prof: { type: 'string' },
      'prof-interval-us': { type: 'string', default: '100' },
    },
  });
  const trees = [{ label: 'this', root: resolve(SELF, '../..') }];
  if (values.base !== undefined) trees.unshift({ label: 'base', root: resolve(values.base) });
  const options = {
    writes: Number(values.writes),
    fsync: values.fsync,
    paceMs: Number(values['pace-ms']),
    inProcess: values['in-process'],
    profDir: values.prof === undefined ? null : resolve(values.prof),
    profIntervalUs: Number(values['prof-interval-us']),
  };
  const rounds = Number(values.rounds);
  console.log(
    `awaited-cpu: ${options.writes} awaited writes per round, ${rounds} rounds, fsync ${options.fsync}, pace ${options.paceMs} ms, ` +
      `${options.inProcess ? 'in one process' : 'two processes'}, ${loadAverage()}`,
  );
  const labels = [...trees.map((tree) => tree.label), ...(values.control ? ['control'] : [])];
  const results = Object.fromEntries(labels.map((label) => [label, []]));
  for (let round = 1; round <= rounds; round++) {
    // Alternating order, so no tree always runs right after the other.
    const order = round % 2 === 1 ? labels : labels.toReversed();
    for (const label of order) {
      const result = label === 'control' ? await pingPong(options, round) : await measure(trees.find((t) => t.label === label).root, label, round, options);
      results[label].push(result);
      console.log(`round ${round} ${label.padEnd(7)} ${describe(result)}  (${loadAverage()})`);
    }
  }
  for (const label of labels) {
    const list = results[label];
    const med = (key) => median(list.map((r) => r[key]));
    console.log(`median ${label.padEnd(6)} ${describe(Object.fromEntries(Object.keys(list[0]).map((key) => [key, med(key)])))}`);
  }
  if (trees.length === 2) {
    const ratio = (key) => (median(results.this.map((r) => r[key])) / median(results.base.map((r) => r[key]))).toFixed(3);
    console.log(`this/base medians: p50 ${ratio('p50')}, p99 ${ratio('p99')}, client CPU ${ratio('clientUs')}, server CPU ${ratio('serverUs')}, total ${ratio('totalUs')}`);
  }
  if (options.profDir !== null) {
    for (const label of labels) {
      for (const side of options.inProcess && label !== 'control' ? ['client'] : ['client', 'server']) {
        const dirs = readdirSync(options.profDir).filter((name) => name.startsWith(`${label}-${side}-`));
        console.log(`\n${label} ${side}: self time, µs per write (${dirs.length} profiles)`);
        for (const line of summarize(dirs.map((dir) => join(options.profDir, dir)), options.writes)) console.log(`  ${line}`);
      }
    }
  }
}

function describe(r) {
  return (
    `p50 ${r.p50.toFixed(0)} µs p99 ${r.p99.toFixed(0)} µs | CPU per write: client ${r.clientUs.toFixed(1)} µs ` +
    `server ${r.serverUs.toFixed(1)} µs total ${r.totalUs.toFixed(1)} µs | client scavenges ${r.scavenges}`
  );
}

function profDirOf(options, label, side, round) {
  return options.profDir === null ? null : join(options.profDir, `${label}-${side}-r${round}`);
}

function profArgs(options, label, side, round) {
  const dir = profDirOf(options, label, side, round);
  if (dir === null) return [];
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(options.profIntervalUs)];
}

/** One tree, one round: its server (unless in process) and a fresh client process. */
async function measure(root, label, round, options) {
  mkdirSync(DEFAULT_DATA_DIR, { recursive: true });
  const dir = mkdtempSync(join(DEFAULT_DATA_DIR, 'awaited-cpu-'));
  try {
    const childOptions = { root, writes: options.writes, paceMs: options.paceMs, endpoint: null, dataDir: null, fsync: options.fsync };
    if (options.inProcess) {
      childOptions.dataDir = join(dir, 'data');
      const profDirs = options.profDir === null ? [] : [profDirOf(options, label, 'client', round)];
      return await runClient(childOptions, profArgs(options, label, 'client', round), null, profDirs);
    }
    const server = await startSluiceServer({
      dataDir: join(dir, 'data'),
      cli: join(root, 'packages/server/dist/cli.js'),
      args: ['--fsync', options.fsync],
      nodeArgs: profArgs(options, label, 'server', round),
    });
    try {
      childOptions.endpoint = server.endpoint;
      const profDirs = options.profDir === null ? [] : ['client', 'server'].map((side) => profDirOf(options, label, side, round));
      return await runClient(childOptions, profArgs(options, label, 'client', round), server.pid, profDirs);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs a client child; it says "ready" before its measured writes and "done" after, and the server's
 * CPU is read at those two points (so connecting, warming up and the child's start are left out).
 */
function runClient(childOptions, nodeArgs, serverPid, profDirs = []) {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, [...nodeArgs, SELF, '--client', JSON.stringify(childOptions)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let before = null;
    let serverUs = 0;
    let measured = null;
    const window = [0, 0];
    const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (text) => {
      out += text;
      for (;;) {
        const newline = out.indexOf('\n');
        if (newline < 0) return;
        const line = out.slice(0, newline);
        out = out.slice(newline + 1);
        if (line === 'ready') {
          before = serverPid === null ? null : processCost(serverPid);
          window[0] = monotonicUs();
          proc.stdin.write('go\n');
        } else if (line === 'done') {
          window[1] = monotonicUs();
          if (serverPid !== null) {
            const after = processCost(serverPid);
            serverUs = ((after.user + after.sys - before.user - before.sys) * 1e6) / childOptions.writes;
          }
          proc.stdin.write('ok\n');
        } else if (line.startsWith('{')) {
          const result = JSON.parse(line);
          result.serverUs = serverUs;
          result.totalUs = result.clientUs + serverUs;
          for (const dir of profDirs) writeFileSync(join(dir, 'window.json'), JSON.stringify(window));
          measured = result;
        }
      }
    });
    // Resolved at exit: a profiled child writes its profile then.
    proc.once('exit', (code) => (code === 0 && measured !== null ? done(measured) : fail(new Error(`client child exited with ${code}`))));
  });
}

/** Waits for one line on stdin. */
function nextLine() {
  return new Promise((done) => {
    let text = '';
    const onData = (chunk) => {
      text += chunk;
      if (text.includes('\n')) {
        process.stdin.off('data', onData);
        process.stdin.pause();
        done(text);
      }
    };
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', onData);
    process.stdin.resume();
  });
}

/** In the child: that tree's client (and, in process, its server), the warm-up, then the measured awaited writes. */
async function clientChild({ root, writes, paceMs, endpoint, dataDir, fsync }) {
  const { SluiceClient } = await import(pathToFileURL(join(root, 'packages/client/dist/index.js')).href);
  let server = null;
  if (dataDir !== null) {
    const { startServer } = await import(pathToFileURL(join(root, 'packages/server/dist/index.js')).href);
    server = await startServer({ port: 0, host: '127.0.0.1', dataDir, fsync, logLevel: 'warn' });
    endpoint = `127.0.0.1:${server.port}`;
  }
  const client = new SluiceClient({ endpoints: [endpoint] });
  await client.createStream(STREAM, { segments: 1 });
  const writer = client.createWriter(STREAM);
  const pool = Array.from({ length: 1024 }, (_, i) => Buffer.alloc(100, i & 0xff));
  for (let i = 0; i < WARMUP_WRITES; i++) await writer.write('k', pool[i & 1023]);

  process.stdout.write('ready\n');
  await nextLine();
  const { countGarbageCollections } = await import('./lib/process-stats.mjs');
  const collections = countGarbageCollections();
  const latencies = new Float64Array(writes);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < writes; i++) {
    const t0 = performance.now();
    await writer.write('k', pool[i & 1023]);
    latencies[i] = (performance.now() - t0) * 1000;
    if (paceMs > 0) await sleep(paceMs);
  }
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write('done\n');
  const { scavenges } = await collections.stop();
  await nextLine();
  latencies.sort();
  const result = {
    p50: latencies[Math.floor(writes * 0.5)],
    p99: latencies[Math.floor(writes * 0.99)],
    clientUs: (cpu.user + cpu.system) / writes,
    scavenges,
  };
  await writer.close();
  await client.close();
  await server?.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.stdin.destroy();
}

/**
 * The control: a bare Node TCP ping-pong between this process's child (the echo side) and another
 * child, one REQUEST_BYTES frame answered by one REPLY_BYTES frame, awaited, with the same counts.
 */
async function pingPong(options, round) {
  mkdirSync(DEFAULT_DATA_DIR, { recursive: true });
  const dir = mkdtempSync(join(DEFAULT_DATA_DIR, 'awaited-cpu-echo-'));
  const logFile = options.fsync === 'always' ? join(dir, 'log') : '';
  const echo = spawn(process.execPath, [...profArgs(options, 'control', 'server', round), SELF, '--echo', logFile], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((done) => echo.stdout.once('data', (text) => done(Number(String(text).trim()))));
    const profDirs = options.profDir === null ? [] : ['client', 'server'].map((side) => profDirOf(options, 'control', side, round));
    return await runClient({ pingPong: port, writes: options.writes, paceMs: options.paceMs }, profArgs(options, 'control', 'client', round), echo.pid, profDirs);
  } finally {
    echo.stdin.end(); // the echo side exits (writing its profile) when its stdin closes
    await new Promise((done) => (echo.exitCode !== null ? done() : echo.once('exit', done)));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The echo side of the control: answers every REQUEST_BYTES received with one REPLY_BYTES write;
 * with a logFile (--fsync always), after appending the request to it with an O_DSYNC write, as a
 * node's log does for a lone append: the disk's floor plus the bare round trip.
 */
async function echoChild(logFile) {
  const reply = Buffer.alloc(REPLY_BYTES, 1);
  const log = logFile ? openSync(logFile, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_DSYNC) : null;
  let position = 0;
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    let buffered = 0;
    socket.on('data', (chunk) => {
      buffered += chunk.byteLength;
      while (buffered >= REQUEST_BYTES) {
        buffered -= REQUEST_BYTES;
        if (log !== null) position += writeSync(log, chunk, 0, REQUEST_BYTES, position);
        socket.write(reply);
      }
    });
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  process.stdout.write(`${server.address().port}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
}

/** The requesting side of the control, in the client child: same protocol with the parent as clientChild. */
async function pingPongClient({ pingPong: port, writes, paceMs }) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((done) => socket.once('connect', done));
  const request = Buffer.alloc(REQUEST_BYTES, 2);
  let waiting = null;
  let buffered = 0;
  socket.on('data', (chunk) => {
    buffered += chunk.byteLength;
    if (buffered >= REPLY_BYTES) {
      buffered -= REPLY_BYTES;
      waiting();
    }
  });
  const once = () => new Promise((done) => {
    waiting = done;
    socket.write(request);
  });
  for (let i = 0; i < WARMUP_WRITES; i++) await once();
  process.stdout.write('ready\n');
  await nextLine();
  const latencies = new Float64Array(writes);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < writes; i++) {
    const t0 = performance.now();
    await once();
    latencies[i] = (performance.now() - t0) * 1000;
    if (paceMs > 0) await sleep(paceMs);
  }
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write('done\n');
  await nextLine();
  latencies.sort();
  socket.destroy();
  const result = { p50: latencies[Math.floor(writes * 0.5)], p99: latencies[Math.floor(writes * 0.99)], clientUs: (cpu.user + cpu.system) / writes, scavenges: 0 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.stdin.destroy();
}

/**
 * Self time per function over the profiles in dirs, in µs per write, counted only over the measured
 * writes (each dir's window.json: the monotonic µs at "ready" and "done", the clock V8 stamps samples
 * with): the busy total, then the TOP largest.
 */
function summarize(dirs, writesPerProfile) {
  const self = new Map();
  let busy = 0;
  let profiles = 0;
  for (const dir of dirs) {
    if (!existsSync(join(dir, 'window.json'))) continue;
    const [from, to] = JSON.parse(readFileSync(join(dir, 'window.json'), 'utf8'));
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
      const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const byId = new Map(profile.nodes.map((node) => [node.id, node]));
      profiles += 1;
      let at = profile.startTime;
      profile.samples.forEach((id, i) => {
        const delta = profile.timeDeltas[i] ?? 0;
        at += delta;
        if (at < from || at > to) return;
        const { functionName, url, lineNumber } = byId.get(id).callFrame;
        if (functionName === '(idle)') return;
        const name = `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber + 1}`;
        self.set(name, (self.get(name) ?? 0) + delta);
        busy += delta;
      });
    }
  }
  const perWrite = (us) => us / (writesPerProfile * Math.max(1, profiles));
  const lines = [`busy ${perWrite(busy).toFixed(1)} µs per write`];
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    lines.push(`${perWrite(us).toFixed(2).padStart(8)}  ${((us / busy) * 100).toFixed(1).padStart(5)} %  ${name}`);
  }
  return lines;
}
