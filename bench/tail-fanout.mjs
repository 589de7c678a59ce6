#!/usr/bin/env node
// Fan-out at the tail, side by side: --readers readers from 'tail' on a one-segment stream, one
// writer writing one 100-byte event at a time (awaited, then until every reader has it, then a 2 ms
// pause), --events events per round, this tree against --base <built checkout> in alternating
// rounds. Each round starts that tree's sluice-server (--fsync none by default: the software path
// alone) and that tree's client in this process; it reports the server's CPU per event
// (/proc/<pid>/stat over the measured events), and p50 of the time from the write call to the first
// and to the last reader having the event. With many readers, each event wakes that many parked reads.
//
//   node bench/tail-fanout.mjs --base /work/wt/base-main [--rounds 3] [--readers 200] [--events 500] [--fsync always]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAverage, median, processCost } from './lib/process-stats.mjs';
import { DEFAULT_DATA_DIR } from './lib/paths.mjs';
import { startSluiceServer } from './lib/sluice-server.mjs';

const SELF = fileURLToPath(import.meta.url);
const WARMUP_EVENTS = 100;
const PAUSE_MS = 2;

const defaults = { rounds: '3', readers: '200', events: '500', fsync: 'none' };
const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    ...Object.fromEntries(Object.entries(defaults).map(([name, value]) => [name, { type: 'string', default: value }])),
  },
});
const trees = [{ label: 'this', root: resolve(SELF, '../..') }];
if (values.base !== undefined) trees.unshift({ label: 'base', root: resolve(values.base) });
const readers = Number(values.readers);
const events = Number(values.events);
const results = new Map(trees.map(({ label }) => [label, []]));

for (let round = 1; round <= Number(values.rounds); round++) {
  for (const tree of trees) {
    const result = await fanOut(tree.root);
    results.get(tree.label).push(result);
    console.log(
      `round ${round}\t${tree.label}\tserver CPU ${result.cpuUsPerEvent.toFixed(0)} µs/event\tfirst reader p50 ${result.firstUs.toFixed(0)} µs\t` +
        `last reader p50 ${result.lastUs.toFixed(0)} µs\t${loadAverage()}`,
    );
  }
}
for (const key of ['cpuUsPerEvent', 'firstUs', 'lastUs']) {
  const medians = trees.map(({ label }) => median(results.get(label).map((result) => result[key])));
  console.log(`median ${key}\t${trees.map(({ label }, i) => `${label} ${medians[i].toFixed(0)}`).join('\t')}${medians.length === 2 ? `\tthis/base ${(medians[1] / medians[0]).toFixed(3)}` : ''}`);
}

/** One round against the tree at root: its server and its client. */
async function fanOut(root) {
  mkdirSync(DEFAULT_DATA_DIR, { recursive: true });
  const dataDir = mkdtempSync(join(DEFAULT_DATA_DIR, 'tail-fanout-'));
  const server = await startSluiceServer({ dataDir, cli: join(root, 'packages/server/dist/cli.js'), args: ['--fsync', values.fsync] });
  const sdk = await import(pathToFileURL(join(root, 'packages/client/dist/index.js')).href);
  const client = new sdk.SluiceClient({ endpoints: [server.endpoint] });
  try {
    await client.createStream('bench/fanout', { segments: 1 });
    const writer = client.createWriter('bench/fanout');
    const tails = Array.from({ length: readers }, () => client.createReader('bench/fanout', { from: 'tail' }));
    let received = 0;
    let firstAt = 0;
    let everyone = () => {};
    for (const reader of tails) {
      void (async () => {
        for await (const _event of reader) {
          received += 1;
          if (received === 1) firstAt = performance.now();
          if (received === readers) everyone();
        }
      })();
    }
    await sleep(300);
    const payload = Buffer.alloc(100, 7);
    const first = [];
    const last = [];
    let cpuBefore = 0;
    for (let i = 0; i < WARMUP_EVENTS + events; i++) {
      if (i === WARMUP_EVENTS) cpuBefore = cpuSeconds(server.pid);
      received = 0;
      const all = new Promise((resolve) => (everyone = resolve));
      const startedAt = performance.now();
      await writer.write('k', payload);
      await all;
      if (i >= WARMUP_EVENTS) {
        first.push((firstAt - startedAt) * 1000);
        last.push((performance.now() - startedAt) * 1000);
      }
      await sleep(PAUSE_MS);
    }
    const cpuUsPerEvent = ((cpuSeconds(server.pid) - cpuBefore) * 1e6) / events;
    for (const reader of tails) reader.close();
    await writer.close();
    return { cpuUsPerEvent, firstUs: median(first), lastUs: median(last) };
  } finally {
    await client.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function cpuSeconds(pid) {
  const { user, sys } = processCost(pid);
  return user + sys;
}
