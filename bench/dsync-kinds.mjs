#!/usr/bin/env node
// What one O_DSYNC log write costs on this disk depending on how its file was prepared, side by side:
// 182-byte pwrites (an awaited 100-byte event's log record) one after the other, each into
//   growing    a file that grows with every write (each also commits the file's new size),
//   sized      a file whose size was set ahead with ftruncate (a hole: blocks are allocated as written;
//              what Sluice's log writer does, docs/decisions.md "Log files sized ahead of their records"),
//   pre-zeroed a file written with zeros and fsynced beforehand (nothing left to allocate),
// in alternating rounds, p50/p90/p99 latency and the kernel CPU per write (process.cpuUsage).
//
//   node bench/dsync-kinds.mjs [--rounds 3] [--writes 2000] [--pace-ms 0]
//
// --pace-ms: milliseconds between writes (10: append-sporadic's pace); the CPU per write then includes
// the process waking from each pause. Files go under the bench data dir
// (a real disk: on tmpfs O_DSYNC costs nothing) and are removed after each round.
import { closeSync, constants, fsyncSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR } from './lib/paths.mjs';
import { loadAverage } from './lib/process-stats.mjs';

const RECORD = Buffer.alloc(182, 7);
const ZEROS = Buffer.alloc(1024 * 1024);

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    writes: { type: 'string', default: '2000' },
    'pace-ms': { type: 'string', default: '0' },
  },
});
const writes = Number(values.writes);
const paceMs = Number(values['pace-ms']);
const bytes = writes * RECORD.byteLength;

/** How each kind prepares its file; returns the open O_DSYNC descriptor. */
const KINDS = {
  growing: (path) => openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC),
  sized: (path) => {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC);
    ftruncateSync(fd, bytes);
    return fd;
  },
  'pre-zeroed': (path) => {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
    for (let at = 0; at < bytes; at += ZEROS.byteLength) writeSync(fd, ZEROS, 0, Math.min(ZEROS.byteLength, bytes - at), at);
    fsyncSync(fd);
    closeSync(fd);
    return openSync(path, constants.O_WRONLY | constants.O_DSYNC);
  },
};

const percentile = (sorted, p) => sorted[Math.floor((sorted.length - 1) * p)];

async function round(kind, dir) {
  const path = join(dir, `${kind}.log`);
  const fd = KINDS[kind](path);
  const latencies = [];
  const cpu = process.cpuUsage();
  try {
    for (let n = 0; n < writes; n++) {
      if (paceMs > 0) await sleep(paceMs);
      const started = performance.now();
      writeSync(fd, RECORD, 0, RECORD.byteLength, n * RECORD.byteLength);
      latencies.push((performance.now() - started) * 1000);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  const { user, system } = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  const [p50, p90, p99] = [0.5, 0.9, 0.99].map((p) => percentile(latencies, p).toFixed(0));
  return `p50 ${p50} µs, p90 ${p90}, p99 ${p99} | CPU per write: user ${(user / writes).toFixed(1)} µs, sys ${(system / writes).toFixed(1)} µs`;
}

mkdirSync(DEFAULT_DATA_DIR, { recursive: true });
const dir = mkdtempSync(join(DEFAULT_DATA_DIR, 'dsync-kinds-'));
try {
  console.log(`dsync-kinds: ${writes} writes of ${RECORD.byteLength} bytes per round, pace ${paceMs} ms, ${values.rounds} rounds, ${loadAverage()}`);
  const kinds = Object.keys(KINDS);
  for (let r = 1; r <= Number(values.rounds); r++) {
    // Alternating order, so no kind always runs right after another.
    for (const kind of r % 2 === 1 ? kinds : kinds.toReversed()) console.log(`round ${r} ${kind.padEnd(10)} ${await round(kind, dir)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
