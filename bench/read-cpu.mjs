#!/usr/bin/env node
// Fixed-work read cost, side by side: a catch-up read of N stored 100-byte events from the head (one
// segment, default reader options), this tree against --base <built checkout>, in alternating rounds.
// Each round starts that tree's sluice-server on a temp data dir, stores N events with that tree's
// client (not measured), then a fresh node process reads them and reports what the read loop alone
// cost it: user and sys CPU (process.cpuUsage), minor faults, scavenges, events/s; the server's CPU
// while serving comes from /proc/<pid>/stat. Throughput swings with this machine's load; CPU per fixed
// work is what compares two trees (docs/benchmarks.md, "Buffer reuse on the hot path").
//
//   node bench/read-cpu.mjs --base /work/wt/envelope-base [--rounds 3] [--events 500000] [--alloc] [--prof <dir>]
//
// --prof <dir> runs every reading process and every server with --cpu-prof, the profiles written to
// <dir>/<tree>-client and <dir>/<tree>-server (a server's profile covers its whole life, the stores too;
// compare the read path's functions). Profiled rounds' CPU includes the profiler's.
//
// --same-process stores and reads in one process, as the read-100b row does (a fresh process reads
// into memory malloc never handed out; after the stores it may reuse theirs, or not: compare both).
//
// --event-bytes B --passes P: events of B bytes (default 100), read P times from the head, each pass with
// a fresh reader (the `hol` row's reader: 128 events of 256 KiB read over and over with 1 MiB reads is
// `--events 128 --event-bytes 262144 --passes 16`). From 64 KiB events on, the reader reads 1 MiB at a
// time (maxBufferedBytes 2 MiB, as `hol`). Also reported: the reading process's event-loop delay (p99,
// max) while it reads, and CPU ms and faults per MiB read.
//
// --alloc adds a round per tree with V8's sampling heap profiler (objects collected by scavenges
// included): bytes allocated per event and the functions allocating most (its CPU is not reported).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { countGarbageCollections, loadAverage, median, processCost } from './lib/process-stats.mjs';

const SELF = fileURLToPath(import.meta.url);
const STREAM = 'bench/read-cpu';
const WRITTEN = 'written\n';

if (process.argv[2] === '--child') await child(...process.argv.slice(3));
else await main();

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const base = option('--base');
  if (base === undefined) throw new Error('usage: node bench/read-cpu.mjs --base <built checkout> [--rounds 3] [--events 500000] [--alloc]');
  const trees = [
    { label: 'base', root: resolve(base) },
    { label: 'this', root: resolve(SELF, '../..') },
  ];
  const rounds = Number(option('--rounds', '3'));
  const events = Number(option('--events', '500000'));
  const shape = { eventBytes: Number(option('--event-bytes', '100')), passes: Number(option('--passes', '1')) };
  const profDir = option('--prof');
  const sameProcess = args.includes('--same-process');
  const results = { base: [], this: [] };
  console.log(`read-cpu: ${events} events of ${shape.eventBytes} bytes, ${shape.passes} passes, ${rounds} rounds, ${loadAverage()}`);
  for (let round = 0; round < rounds; round++) {
    for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) {
      const result = await measure(tree.root, events, shape, 'read', profDir && join(resolve(profDir), tree.label), sameProcess);
      results[tree.label].push(result);
      console.log(`round ${round + 1} ${tree.label}: ${describe(result)}  (${loadAverage()})`);
    }
  }
  for (const tree of trees) {
    const list = results[tree.label];
    const med = (key) => median(list.map((r) => r[key]));
    console.log(
      `median ${tree.label}: client user ${med('user').toFixed(3)} s sys ${med('sys').toFixed(3)} s (user+sys ${med('cpu').toFixed(3)} s), ` +
        `faults ${Math.round(med('faults'))} (${med('faultsPerMiB').toFixed(1)}/MiB, ${med('cpuMsPerMiB').toFixed(2)} ms CPU/MiB, loop delay p99 ${med('loopP99Ms').toFixed(1)} ms), scavenges ${med('scavenges')}, gc ${Math.round(med('gcMs'))} ms, server ${med('serverCpu').toFixed(2)} s (user ${med('serverUser').toFixed(2)}, faults ${Math.round(med('serverFaults'))}), ${Math.round(med('rate'))} events/s`,
    );
  }
  const ratio = median(results.this.map((r) => r.cpu)) / median(results.base.map((r) => r.cpu));
  console.log(`client user+sys this/base: ${ratio.toFixed(3)}`);
  if (args.includes('--alloc')) {
    for (const tree of trees) {
      const result = await measure(tree.root, events, shape, 'alloc');
      console.log(`alloc ${tree.label}: ${result.bytesPerEvent.toFixed(1)} bytes/event; top: ${result.top.join(', ')}`);
    }
  }
}

/** One tree: a server of its own, N events stored, one measured read in a fresh process. */
async function measure(root, events, shape, mode, profPrefix, sameProcess) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-read-cpu-'));
  const profile = (side) => (profPrefix ? ['--cpu-prof', `--cpu-prof-dir=${profPrefix}-${side}`] : []);
  const server = spawn(process.execPath, [...profile('server'), join(root, 'packages/server/dist/cli.js'), '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await listeningPort(server);
    const endpoint = `127.0.0.1:${port}`;
    if (!sameProcess) await run(root, endpoint, 'write', events, shape);
    let before = processCost(server.pid);
    // With --same-process the child says when its writes are done: the server's usage counts from there.
    const written = () => (before = processCost(server.pid));
    const result = JSON.parse(await run(root, endpoint, sameProcess ? 'write-read' : mode, events, shape, profile('client'), written));
    const after = processCost(server.pid);
    result.serverUser = after.user - before.user;
    result.serverSys = after.sys - before.sys;
    result.serverCpu = result.serverUser + result.serverSys;
    result.serverFaults = after.faults - before.faults;
    return result;
  } finally {
    server.kill('SIGTERM');
    await new Promise((done) => (server.exitCode !== null ? done() : server.once('exit', done)));
    rmSync(dir, { recursive: true, force: true });
  }
}

function listeningPort(server) {
  return new Promise((done, fail) => {
    let text = '';
    const timer = setTimeout(() => fail(new Error('sluice-server did not start in 20 s')), 20_000);
    server.stdout.on('data', (chunk) => {
      text += chunk;
      const match = /"msg":"listening"/.test(text) && /"port":(\d+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        server.stdout.resume();
        done(Number(match[1]));
      }
    });
    server.once('exit', (code) => fail(new Error(`sluice-server exited (${code}) before listening`)));
  });
}

function run(root, endpoint, mode, events, shape, nodeFlags = [], onWritten = () => {}) {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, [...nodeFlags, SELF, '--child', root, endpoint, mode, String(events), String(shape.eventBytes), String(shape.passes)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.startsWith(WRITTEN)) {
        out = out.slice(WRITTEN.length);
        onWritten();
      }
    });
    proc.once('exit', (code) => (code === 0 ? done(out) : fail(new Error(`${mode} child exited with ${code}`))));
  });
}

/** user and sys seconds (clock ticks of 1/100 s) and minor faults of a process, from /proc/<pid>/stat. */
function describe(r) {
  return `client user ${r.user.toFixed(3)} s sys ${r.sys.toFixed(3)} s, faults ${r.faults} (${r.faultsPerMiB.toFixed(1)}/MiB, ${r.cpuMsPerMiB.toFixed(2)} ms CPU/MiB, loop delay p99 ${r.loopP99Ms.toFixed(1)} max ${r.loopMaxMs.toFixed(1)} ms), scavenges ${r.scavenges}, mark-compacts ${r.markCompacts}, gc ${Math.round(r.gcMs)} ms, server user ${r.serverUser.toFixed(2)} s sys ${r.serverSys.toFixed(2)} s faults ${r.serverFaults}, ${Math.round(r.rate)} events/s`;
}

/** In the child: store the events, or read them back measured. */
async function child(root, endpoint, mode, eventsText, eventBytesText, passesText) {
  const events = Number(eventsText);
  const eventBytes = Number(eventBytesText);
  const passes = Number(passesText);
  const { SluiceClient } = await import(join(root, 'packages/client/dist/index.js'));
  const client = new SluiceClient({ endpoints: [endpoint] });
  if (mode === 'write' || mode === 'write-read') {
    await client.createStream(STREAM, { segments: 1 });
    const writer = client.createWriter(STREAM);
    const payload = Buffer.alloc(eventBytes, 7);
    let batch = [];
    for (let i = 0; i < events; i++) {
      batch.push(writer.write('k', payload));
      if (batch.length === 16384) {
        await Promise.all(batch);
        batch = [];
      }
    }
    await Promise.all(batch);
    await writer.close();
    if (mode === 'write') {
      await client.close();
      return;
    }
    process.stdout.write(WRITTEN);
  }
  const collections = countGarbageCollections();
  let session = null;
  if (mode === 'alloc') {
    const { Session } = await import('node:inspector/promises');
    session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  const readerOptions = eventBytes >= 64 * 1024 ? { from: 'head', maxBufferedBytes: 2 * 1024 * 1024 } : { from: 'head' };
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  const faults0 = process.resourceUsage().minorPageFault;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  loopDelay.enable();
  let seen = 0;
  for (let pass = 0; pass < passes; pass++) {
    const reader = client.createReader(STREAM, readerOptions);
    let seenInPass = 0;
    for await (const event of reader) {
      if (event.data.byteLength !== eventBytes) throw new Error(`read an event of ${event.data.byteLength} bytes`);
      seen += 1;
      if (++seenInPass === events) break;
    }
    await reader.close();
  }
  loopDelay.disable();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const faults = process.resourceUsage().minorPageFault - faults0;
  const mib = (seen * eventBytes) / 2 ** 20;
  const result = {
    user: cpu.user / 1e6,
    sys: cpu.system / 1e6,
    cpu: (cpu.user + cpu.system) / 1e6,
    faults,
    rate: (seen / ms) * 1000,
    faultsPerMiB: faults / mib,
    cpuMsPerMiB: (cpu.user + cpu.system) / 1e3 / mib,
    loopP99Ms: loopDelay.percentile(99) / 1e6,
    loopMaxMs: loopDelay.max / 1e6,
  };
  if (session !== null) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    const byFunction = new Map();
    let total = 0;
    const visit = (node) => {
      const name = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').pop()}:${node.callFrame.lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
      total += node.selfSize;
      for (const childNode of node.children) visit(childNode);
    };
    visit(profile.head);
    result.bytesPerEvent = total / seen;
    result.top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, bytes]) => `${name} ${(bytes / seen).toFixed(1)}`);
  }
  Object.assign(result, await collections.stop());
  await client.close();
  process.stdout.write(JSON.stringify(result));
}
