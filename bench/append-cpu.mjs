#!/usr/bin/env node
// Fixed-work append cost, side by side: N pipelined 100-byte appends with a short routing key (the
// append-100b load: one writer, 256 writes per operation, 64 operations = 16 k events in flight, one
// segment, `--fsync always`), this tree against --base <built checkout>, in alternating rounds. Each
// round starts that tree's sluice-server on a temp data dir, and a fresh node process of that tree's
// client writes the N events. It reports what the load cost: the client's user and sys CPU
// (process.cpuUsage), minor faults, scavenges and GC time; the server's CPU while the load ran
// (/proc/<pid>/stat, start-up excluded); events/s; and how smooth the run was: the slowest 100 ms
// of acknowledged events and the longest time without an acknowledged operation (a stall: acks
// waited for, a GC, the disk). Throughput swings with this machine's load; CPU per fixed work is
// what compares two trees (docs/benchmarks.md, "#14 append-100b, session 5").
//
//   node bench/append-cpu.mjs --base /work/wt/envelope-base [--rounds 3] [--events 1500000] [--prof <dir>]
//
// --prof <dir>: every process runs with --cpu-prof into <dir>/<tree>-<client|server>-r<round>/, and
// each tree's profiles are summed from the load's start: self time per function (ms per million events).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { countGarbageCollections, loadAverage, median, processCost } from './lib/process-stats.mjs';
import { startSluiceServer } from './lib/sluice-server.mjs';

const SELF = fileURLToPath(import.meta.url);
const STREAM = 'bench/append-cpu';
const BATCH = 256;
const OPS_IN_FLIGHT = 64;
const TOP = 25;

if (process.argv[2] === '--child') await child(...process.argv.slice(3));
else await main();

async function main() {
  const { values } = parseArgs({
    options: { base: { type: 'string' }, rounds: { type: 'string', default: '3' }, events: { type: 'string', default: '1500000' }, prof: { type: 'string' } },
  });
  if (values.base === undefined) throw new Error('usage: node bench/append-cpu.mjs --base <built checkout> [--rounds 3] [--events 1500000] [--prof <dir>]');
  const trees = ['base', 'this'].map((label) => ({ label, root: label === 'base' ? resolve(values.base) : resolve(SELF, '../..') }));
  const rounds = Number(values.rounds);
  const events = Number(values.events);
  const profDir = values.prof === undefined ? null : resolve(values.prof);
  const results = { base: [], this: [] };
  console.log(`append-cpu: ${events} events, ${rounds} rounds${profDir ? `, profiles in ${profDir}` : ''}, ${loadAverage()}`);
  // Alternating: base first in odd rounds, this tree first in even ones, so neither always follows the other.
  const turns = Array.from({ length: rounds }, (_, round) => (round % 2 === 0 ? trees : trees.toReversed()).map((tree) => ({ round: round + 1, tree })));
  for (const { round, tree } of turns.flat()) {
    const prof = profDir === null ? null : (side) => join(profDir, `${tree.label}-${side}-r${round}`);
    const result = await measure(tree.root, events, prof);
    results[tree.label].push(result);
    console.log(`round ${round} ${tree.label}: ${describe(result)}  (${loadAverage()})`);
  }
  for (const tree of trees) {
    const list = results[tree.label];
    const med = (key) => median(list.map((r) => r[key]));
    console.log(
      `median ${tree.label}: client user ${med('user').toFixed(3)} s sys ${med('sys').toFixed(3)} s, server user ${med('serverUser').toFixed(2)} s ` +
        `sys ${med('serverSys').toFixed(2)} s faults ${Math.round(med('serverFaults'))}, client+server ${med('total').toFixed(2)} s, faults ${Math.round(med('faults'))}, ` +
        `scavenges ${med('scavenges')}, gc ${Math.round(med('gcMs'))} ms, ${Math.round(med('rate'))} events/s, slowest 100 ms ${Math.round(med('slowest100ms'))} events, ` +
        `longest gap ${Math.round(med('longestGapMs'))} ms`,
    );
  }
  const ratio = (key) => (median(results.this.map((r) => r[key])) / median(results.base.map((r) => r[key]))).toFixed(3);
  console.log(`this/base medians: client+server CPU ${ratio('total')}, client CPU ${ratio('cpu')}, server CPU ${ratio('serverCpu')}, events/s ${ratio('rate')}`);
  if (profDir !== null) {
    for (const tree of trees) {
      for (const side of ['client', 'server']) {
        const dirs = readdirSync(profDir).filter((name) => name.startsWith(`${tree.label}-${side}-`));
        console.log(`\n${tree.label} ${side}: self time, ms per million events (${dirs.length} profiles)`);
        for (const line of summarize(dirs.map((dir) => join(profDir, dir)), events * dirs.length)) console.log(`  ${line}`);
      }
    }
  }
}

/** One tree: a server of its own, one measured load from a fresh client process. */
async function measure(root, events, prof) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-append-cpu-'));
  const profArgs = (side) => {
    if (prof === null) return [];
    mkdirSync(prof(side), { recursive: true });
    return ['--cpu-prof', '--cpu-prof-dir', prof(side)];
  };
  // The tree's own sluice-server, started and stopped (SIGTERM: a profile is written on exit) as the bench does.
  const server = await startSluiceServer({
    dataDir: join(dir, 'data'),
    cli: join(root, 'packages/server/dist/cli.js'),
    nodeArgs: profArgs('server'),
  });
  try {
    const before = processCost(server.pid);
    const result = JSON.parse(await run(root, server.endpoint, events, profArgs('client')));
    const after = processCost(server.pid);
    result.serverUser = after.user - before.user;
    result.serverSys = after.sys - before.sys;
    result.serverFaults = after.faults - before.faults;
    result.serverCpu = result.serverUser + result.serverSys;
    result.total = result.cpu + result.serverCpu;
    return result;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(root, endpoint, events, nodeArgs) {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, [...nodeArgs, SELF, '--child', root, endpoint, String(events)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.once('exit', (code) => (code === 0 ? done(out) : fail(new Error(`append child exited with ${code}`))));
  });
}

/** A process's user and sys seconds (clock ticks of 1/100 s) and minor faults so far, from /proc/<pid>/stat. */
function describe(r) {
  return (
    `client user ${r.user.toFixed(2)} sys ${r.sys.toFixed(2)} s, server user ${r.serverUser.toFixed(2)} sys ${r.serverSys.toFixed(2)} s faults ${r.serverFaults}, ` +
    `total ${r.total.toFixed(2)} s, faults ${r.faults}, scavenges ${r.scavenges}, gc ${Math.round(r.gcMs)} ms, ${Math.round(r.rate)} events/s, ` +
    `events/append ${r.eventsPerAppend}, slowest 100 ms ${r.slowest100ms}, longest gap ${Math.round(r.longestGapMs)} ms`
  );
}

/**
 * Self time per function over the profiles in dirs, in ms per million events, counted from the first
 * sample with an append function on its stack (start-up left out): the TOP largest after the busy total.
 */
function summarize(dirs, totalEvents) {
  const self = new Map();
  let busy = 0;
  for (const dir of dirs) {
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
      const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const byId = new Map(profile.nodes.map((node) => [node.id, node]));
      const parentOf = new Map(profile.nodes.flatMap((node) => (node.children ?? []).map((child) => [child, node])));
      const appending = (node) => (node === undefined ? false : /append/i.test(node.callFrame.functionName) || appending(parentOf.get(node.id)));
      let loaded = false;
      profile.samples.forEach((id, i) => {
        const node = byId.get(id);
        loaded ||= appending(node);
        const { functionName, url, lineNumber } = node.callFrame;
        if (!loaded || functionName === '(idle)') return;
        const name = `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber + 1}`;
        self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
        busy += profile.timeDeltas[i] ?? 0;
      });
    }
  }
  const perMillion = (us) => ((us / 1000) * 1e6) / totalEvents;
  const lines = [`busy ${perMillion(busy).toFixed(0)}`];
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    lines.push(`${perMillion(us).toFixed(1).padStart(8)}  ${((us / busy) * 100).toFixed(1).padStart(5)} %  ${name}`);
  }
  return lines;
}

/** In the child: the timed append load, with that tree's client. */
async function child(root, endpoint, eventsText) {
  const events = Number(eventsText);
  const { SluiceClient } = await import(pathToFileURL(join(root, 'packages/client/dist/index.js')).href);
  const client = new SluiceClient({ endpoints: [endpoint] });
  await client.createStream(STREAM, { segments: 1 });
  const writer = client.createWriter(STREAM);
  const pool = Array.from({ length: 1024 }, (_, i) => Buffer.alloc(100, i & 0xff));
  // Warm the path (and the server's) before measuring: one window's worth.
  await Promise.all(Array.from({ length: BATCH * OPS_IN_FLIGHT }, (_, i) => writer.write('k', pool[i & 1023])));

  const collections = countGarbageCollections();
  const faults0 = process.resourceUsage().minorPageFault;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const ackedAt = await pipelined(writer, pool, Math.ceil(events / BATCH));
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const faults = process.resourceUsage().minorPageFault - faults0;
  const { scavenges, gcMs } = await collections.stop();
  const stats = writer.stats();
  const written = ackedAt.length * BATCH;
  const result = {
    user: cpu.user / 1e6,
    sys: cpu.system / 1e6,
    cpu: (cpu.user + cpu.system) / 1e6,
    faults,
    scavenges,
    gcMs,
    rate: (written / ms) * 1000,
    eventsPerAppend: Math.round(stats.eventsSent / Math.max(1, stats.blocksSent)),
    ...smoothness(ackedAt, started, ms),
  };
  await writer.close();
  await client.close();
  process.stdout.write(JSON.stringify(result));
}

/** ops operations of BATCH writes, OPS_IN_FLIGHT at once (as the bench's windowedLoop); the time each was acknowledged. */
function pipelined(writer, pool, ops) {
  return new Promise((done, fail) => {
    const ackedAt = [];
    let started = 0;
    const launch = () => {
      if (ackedAt.length === ops) return done(ackedAt);
      while (started < ops && started - ackedAt.length < OPS_IN_FLIGHT) {
        const i = started++;
        const writes = new Array(BATCH);
        for (let j = 0; j < BATCH; j++) writes[j] = writer.write('k', pool[(i * BATCH + j) & 1023]);
        Promise.all(writes).then(() => {
          ackedAt.push(performance.now());
          launch();
        }, fail);
      }
    };
    launch();
  });
}

/** The fewest events acknowledged in a whole 100 ms window, and the longest time without an acknowledgement. */
function smoothness(ackedAt, started, ms) {
  const buckets = new Array(Math.max(1, Math.floor(ms / 100))).fill(0);
  let longestGapMs = 0;
  let last = started;
  for (const at of ackedAt) {
    const bucket = Math.floor((at - started) / 100);
    if (bucket < buckets.length) buckets[bucket] += BATCH;
    longestGapMs = Math.max(longestGapMs, at - last);
    last = at;
  }
  return { slowest100ms: Math.min(...buckets), longestGapMs };
}
