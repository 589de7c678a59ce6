/**
 * Measures how long opening a store takes when it must replay a large log (not part of the test
 * suite, not part of the package). Writes `--gib` GiB of appends with no checkpoint in between,
 * removes the checkpoint written on close, and times the reopen: the worst case, the whole log
 * replayed. Then times a reopen from the checkpoint.
 *
 *   node --import tsx bench/store-recovery.ts --gib 1 --block 1024
 *
 * The log is read back from the page cache (it was just written); from a cold disk, add the time to
 * read it (about 0.5-1 s per GiB on an SSD).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { encodeEventBlock } from '@sluice/protocol';

import { containerDirectory } from '../packages/server/src/store/log-files.js';
import { openSegmentStore } from '../packages/server/src/store/segment-store.js';
import type { StoreLogger, StoreOptions } from '../packages/server/src/store/types.js';

const { values } = parseArgs({
  options: {
    gib: { type: 'string', default: '1' },
    block: { type: 'string', default: '1024' },
    events: { type: 'string', default: '4' },
    dir: { type: 'string' },
    /** Internal: the child process that only opens the store (recovery runs in a fresh process, as after a crash). */
    'recover-only': { type: 'string' },
  },
});

const quiet: StoreLogger = { info: () => undefined, debug: () => undefined, warn: console.warn, error: console.error };
const optionsFor = (dataDir: string): StoreOptions => ({
  dataDir,
  containers: [0],
  fsync: 'none',
  cacheBytes: 64 * 1024 * 1024,
  logFileBytes: 64 * 1024 * 1024,
  checkpointIntervalBytes: Number.MAX_SAFE_INTEGER,
  maxEventSize: 8 * 1024 * 1024,
  logger: quiet,
});

if (values['recover-only']) {
  const started = performance.now();
  const store = await openSegmentStore(optionsFor(values['recover-only']));
  const elapsed = performance.now() - started;
  const { recoveredLogBytes } = store.stats();
  const memory = process.memoryUsage();
  console.log(
    `open took ${elapsed.toFixed(0)} ms, replayed ${(recoveredLogBytes / 1024 ** 2).toFixed(0)} MiB of log; ` +
      `heap ${(memory.heapUsed / 1024 ** 2).toFixed(0)} MiB, rss ${(memory.rss / 1024 ** 2).toFixed(0)} MiB`,
  );
  await store.close(); // writes the checkpoint the next run starts from
} else {
  await writeLogThenMeasure();
}

async function writeLogThenMeasure(): Promise<void> {
  const targetBytes = Number(values.gib) * 1024 ** 3;
  const eventsPerBlock = Number(values.events);
  const segments = 16;
  const inFlight = 512;
  const dataDir = values.dir ?? (await mkdtemp(join(tmpdir(), 'sluice-recovery-benchmark-')));
  const payload = Buffer.alloc(Math.max(1, Math.floor(Number(values.block) / eventsPerBlock) - 4), 'x');
  const block = encodeEventBlock(Array.from({ length: eventsPerBlock }, () => payload));

  const started = performance.now();
  const store = await openSegmentStore(optionsFor(dataDir));
  const container = store.container(0);
  for (let s = 0; s < segments; s++) await container.createSegment(`bench/recovery/${s}`);
  const eventNumbers = new Array<number>(segments).fill(-1);
  let records = 0;
  while (store.stats().bytes < targetBytes) {
    const round: Array<Promise<unknown>> = [];
    for (let i = 0; i < inFlight; i++, records++) {
      const s = records % segments;
      eventNumbers[s]! += eventsPerBlock;
      const writer = { writerId: `writer-${s}`, lastEventNumber: eventNumbers[s]!, eventCount: eventsPerBlock };
      round.push(container.append(`bench/recovery/${s}`, block, eventsPerBlock, { writer }));
    }
    await Promise.all(round);
  }
  await store.close();
  console.log(`wrote ${records} records of ${block.byteLength} bytes in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await rm(join(containerDirectory(dataDir, 0), 'checkpoint'));

  const self = fileURLToPath(import.meta.url);
  for (const label of ['replay of the whole log (no checkpoint)', 'from the checkpoint']) {
    const output = execFileSync(process.execPath, [...process.execArgv, self, '--recover-only', dataDir], { encoding: 'utf8' });
    console.log(`${label}: ${output.trim()}`);
  }
  if (!values.dir) await rm(dataDir, { recursive: true, force: true });
}
