import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { CheckpointCorruptError } from './checkpoint.js';
import { containerDirectory, logFileName } from './log-files.js';
import { LogCorruptionError } from './recovery.js';
import { block, framed, openTestStore, recordingLogger, TempDirs, texts } from '../../test-support/store.js';
import type { Container, SegmentStore, StoreError } from './types.js';

const dirs = new TempDirs();
const stores: SegmentStore[] = [];
afterEach(async () => {
  await Promise.allSettled(stores.splice(0).map((store) => store.close()));
  await dirs.cleanup();
});

async function open(dataDir: string, overrides: Parameters<typeof openTestStore>[1] = {}): Promise<SegmentStore> {
  const store = await openTestStore(dataDir, overrides);
  stores.push(store);
  return store;
}

async function closeAll(): Promise<void> {
  await Promise.all(stores.splice(0).map((store) => store.close()));
}

const logDir = (dataDir: string): string => containerDirectory(dataDir, 0);
const firstLog = (dataDir: string): string => join(logDir(dataDir), logFileName(1));

async function readAll(container: Container, segment: string): Promise<string[]> {
  const events: string[] = [];
  let offset = container.getInfo(segment).startOffset;
  for (;;) {
    const { data } = await container.read(segment, offset, 4096);
    if (data.byteLength === 0) return events;
    events.push(...texts(data));
    offset += data.byteLength;
  }
}

/** Everything observable about the named segments: infos, attributes, writer numbers, data. */
async function observe(container: Container, segments: string[], writers: string[], keys: string[]): Promise<unknown> {
  const seen: Record<string, unknown> = {};
  for (const segment of segments) {
    try {
      const info = container.getInfo(segment);
      seen[segment] = {
        info,
        attributes: keys.map((key) => container.getAttribute(segment, key)),
        writers: writers.map((writer) => container.lastEventNumber(segment, writer)),
        data: await readAll(container, segment),
      };
    } catch (error) {
      seen[segment] = (error as StoreError).code;
    }
  }
  return seen;
}

async function logBytes(dataDir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(logDir(dataDir))) if (name.endsWith('.log')) total += (await stat(join(logDir(dataDir), name))).size;
  return total;
}

describe('recovery', () => {
  it('reopens a log cut at every byte of its last record with exactly the records before it', async () => {
    const dataDir = await dirs.make();
    let store = await open(dataDir);
    let container = store.container(0);
    await container.createSegment('s/t/0');
    await container.createSegment('s/t/1');
    for (let n = 0; n < 10; n++) {
      await container.append('s/t/0', block(`event-${n}`, `more-${n}`), 2, { writer: { writerId: 'w', lastEventNumber: 2 * n + 1, eventCount: 2 } });
    }
    await container.updateAttribute('s/t/1', 'k', null, 7);
    await closeAll();
    const cleanEnd = (await stat(firstLog(dataDir))).size;
    store = await open(dataDir);
    const expected = await observe(store.container(0), ['s/t/0', 's/t/1'], ['w'], ['k']);
    await store.container(0).append('s/t/0', block('the-last-event'), 1, { writer: { writerId: 'w', lastEventNumber: 20, eventCount: 1 } });
    await closeAll();
    const full = await readFile(firstLog(dataDir));
    expect(full.byteLength).toBeGreaterThan(cleanEnd + framed('the-last-event'));

    for (let cut = cleanEnd; cut < full.byteLength; cut++) {
      const copy = await dirs.make();
      await mkdir(logDir(copy), { recursive: true });
      await writeFile(firstLog(copy), full.subarray(0, cut));
      const logger = recordingLogger();
      store = await open(copy, { logger });
      container = store.container(0);
      expect(await observe(container, ['s/t/0', 's/t/1'], ['w'], ['k'])).toEqual(expected);
      expect(logger.warnings.some((warning) => warning.includes('torn'))).toBe(cut > cleanEnd);
      if (cut % 8 === 0 || cut === full.byteLength - 1) {
        // The torn bytes are gone from the file: what is appended next is read back after a reopen.
        await container.append('s/t/0', block('after'), 1, { writer: { writerId: 'w', lastEventNumber: 20, eventCount: 1 } });
        await closeAll();
        store = await open(copy);
        expect((await readAll(store.container(0), 's/t/0')).at(-1)).toBe('after');
      }
      await closeAll();
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('refuses to open a log corrupted in the middle, and drops a corrupted last record', async () => {
    const dataDir = await dirs.make();
    const store = await open(dataDir);
    const container = store.container(0);
    await container.createSegment('s/t/0');
    for (let n = 0; n < 20; n++) await container.append('s/t/0', block(`payload-number-${n}`), 1);
    await closeAll();
    await rm(join(logDir(dataDir), 'checkpoint')); // so the whole log is replayed
    const pristine = await readFile(firstLog(dataDir));

    const corruptAt = async (position: number): Promise<string> => {
      const copy = await dirs.make();
      await mkdir(logDir(copy), { recursive: true });
      const damaged = Buffer.from(pristine);
      damaged[position] = damaged[position]! ^ 0x40;
      await writeFile(firstLog(copy), damaged);
      return copy;
    };
    const middlePayload = pristine.indexOf('payload-number-10');
    // Append record of no writer: 10-byte header + 18 fixed bytes, then the block (4-byte event header first).
    const middleRecord = middlePayload - 4 - 28;

    await expect(openTestStore(await corruptAt(middlePayload + 3))).rejects.toThrow(LogCorruptionError);
    await expect(openTestStore(await corruptAt(middlePayload + 3))).rejects.toThrow(/corrupt at byte \d+ \(CRC mismatch\).*valid record follows/);
    // A flipped length or magic byte: the scanner must resynchronise to find the valid records after it.
    await expect(openTestStore(await corruptAt(middleRecord + 8))).rejects.toThrow(LogCorruptionError);
    await expect(openTestStore(await corruptAt(middleRecord + 4))).rejects.toThrow(/no record starts here.*valid record follows/);

    const tailCopy = await corruptAt(pristine.indexOf('payload-number-19') + 2);
    const logger = recordingLogger();
    const recovered = await open(tailCopy, { logger });
    const events = await readAll(recovered.container(0), 's/t/0');
    expect(events).toHaveLength(19);
    expect(events.at(-1)).toBe('payload-number-18');
    expect(logger.warnings.join('\n')).toMatch(/torn.*CRC mismatch/);
  });

  it('takes zeros after the newest file\'s records as the log\'s end, and zeros in an older file as damage', async () => {
    const dataDir = await dirs.make();
    const store = await open(dataDir);
    await store.container(0).createSegment('s/t/0');
    for (let n = 0; n < 5; n++) await store.container(0).append('s/t/0', block(`event-${n}`), 1);
    await closeAll();
    const records = await readFile(firstLog(dataDir));
    const zeros = Buffer.alloc(64 * 1024);
    const copyWith = async (...files: Buffer[]): Promise<string> => {
      const copy = await dirs.make();
      await mkdir(logDir(copy), { recursive: true });
      for (const [k, file] of files.entries()) await writeFile(join(logDir(copy), logFileName(k + 1)), file);
      return copy;
    };

    // What a kill -9 leaves: the writer had sized its file ahead of the records.
    const roomy = await copyWith(Buffer.concat([records, zeros]));
    const logger = recordingLogger();
    let recovered = await open(roomy, { logger });
    expect(await readAll(recovered.container(0), 's/t/0')).toEqual(['event-0', 'event-1', 'event-2', 'event-3', 'event-4']);
    expect(logger.warnings).toEqual([]);
    // Appends go where the records end, over the zeros, and are there after a reopen.
    await recovered.container(0).append('s/t/0', block('after'), 1);
    await closeAll();
    expect((await stat(firstLog(roomy))).size).toBeLessThan(records.byteLength + zeros.byteLength);
    recovered = await open(roomy);
    expect((await readAll(recovered.container(0), 's/t/0')).at(-1)).toBe('after');
    await closeAll();

    // A record torn by the crash, zeros after it: still a torn tail, dropped.
    const torn = await copyWith(Buffer.concat([records.subarray(0, records.byteLength - 3), zeros]));
    const tornLogger = recordingLogger();
    recovered = await open(torn, { logger: tornLogger });
    expect(await readAll(recovered.container(0), 's/t/0')).toHaveLength(4);
    expect(tornLogger.warnings.join('\n')).toMatch(/torn/);
    await closeAll();

    // An older file is cut back to its records before the next one gets a byte: zeros there are damage.
    const gap = await copyWith(Buffer.concat([records, zeros]), records);
    await expect(openTestStore(gap)).rejects.toThrow(/zeros to the end of the file.*later .* holds data/);
  });

  it('refuses to open with a corrupt checkpoint', async () => {
    const dataDir = await dirs.make();
    const store = await open(dataDir);
    await store.container(0).createSegment('s/t/0');
    await closeAll();
    const path = join(logDir(dataDir), 'checkpoint');
    const checkpoint = await readFile(path);
    checkpoint[checkpoint.byteLength - 1] = checkpoint[checkpoint.byteLength - 1]! ^ 1;
    await writeFile(path, checkpoint);
    await expect(openTestStore(dataDir)).rejects.toThrow(CheckpointCorruptError);
  });

  it('gives the same state from checkpoint + replay as from replay alone, after a crash', async () => {
    const dataDir = await dirs.make();
    const tuning = { checkpointIntervalBytes: 4096, logFileBytes: 16 * 1024 };
    const store = await open(dataDir, tuning);
    const container = store.container(0);
    const segments = ['s/t/0', 's/t/1', 's/t/2', 's/t/3', 's/t/4'];
    const writers = segments.map((_, s) => `writer-${s}`);
    for (const segment of segments) await container.createSegment(segment);
    const lengths = segments.map(() => 0);
    const eventNumbers = segments.map(() => -1);
    for (let round = 0; round < 60; round++) {
      const pending: Array<Promise<unknown>> = [];
      for (const [s, segment] of segments.entries()) {
        if ((s === 3 && round >= 40) || (s === 4 && round >= 30 && round < 35)) continue;
        const events = [`r${round}-s${s}`, 'p'.repeat((round * 7 + s * 13) % 60)];
        eventNumbers[s]! += 2;
        const writer = { writerId: writers[s]!, lastEventNumber: eventNumbers[s]!, eventCount: 2 };
        pending.push(container.append(segment, block(...events), 2, { writer }));
        lengths[s]! += framed(events[0]!) + framed(events[1]!);
      }
      if (round % 9 === 0) pending.push(container.updateAttribute('s/t/1', `k${round % 2}`, null, round));
      if (round % 9 === 1) pending.push(container.updateAttribute('s/t/1', `k${round % 2}`, round - 1, Buffer.from(`v${round}`)));
      if (round === 25) pending.push(container.truncate('s/t/2', lengths[2]!));
      if (round === 40) pending.push(container.seal('s/t/3'));
      if (round === 30) pending.push(container.delete('s/t/4'));
      if (round === 34) {
        pending.push(container.createSegment('s/t/4'));
        eventNumbers[4] = -1; // a new segment: the writer starts over
      }
      await Promise.all(pending);
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // let a checkpoint in progress finish
    // A checkpoint may have just covered the whole log: small appends until one stays past the last checkpoint, so
    // that recovery from it replays a tail (what this test is about). Bounded: each is far below the interval.
    const checkpointBytes = (): Promise<Buffer | null> => readFile(join(logDir(dataDir), 'checkpoint')).catch(() => null);
    for (let tail = 0; tail < 5; tail++) {
      const before = await checkpointBytes();
      await container.append('s/t/0', block(`tail-${tail}`), 1); // no writer: dedup state untouched
      await new Promise((resolve) => setTimeout(resolve, 50));
      const after = await checkpointBytes();
      if (before !== null && after !== null && after.equals(before)) break;
    }
    const expected = await observe(container, segments, writers, ['k0', 'k1']);

    // A crash: the files as they are now, with no close (and no final checkpoint).
    const crashed = await dirs.make();
    await cp(dataDir, crashed, { recursive: true });
    await closeAll();
    // Closed, the log's files hold exactly its records (the crashed copy's newest file may run on in zeros).
    const totalLog = await logBytes(dataDir);
    const replayOnly = await dirs.make();
    await cp(crashed, replayOnly, { recursive: true });
    await rm(join(logDir(replayOnly), 'checkpoint'));
    expect((await readdir(logDir(replayOnly))).filter((name) => name.endsWith('.log')).length).toBeGreaterThan(1);

    const fromCheckpoint = await open(crashed, tuning);
    expect(await observe(fromCheckpoint.container(0), segments, writers, ['k0', 'k1'])).toEqual(expected);
    expect(fromCheckpoint.stats().recoveredLogBytes).toBeLessThan(totalLog);
    expect(fromCheckpoint.stats().recoveredLogBytes).toBeGreaterThan(0);

    const fromLog = await open(replayOnly, tuning);
    expect(await observe(fromLog.container(0), segments, writers, ['k0', 'k1'])).toEqual(expected);
    expect(fromLog.stats().recoveredLogBytes).toBe(totalLog);

    // And both keep going alike.
    for (const recovered of [fromCheckpoint, fromLog]) {
      await recovered.container(0).append('s/t/0', block('next'), 1, { writer: { writerId: 'writer-0', lastEventNumber: 120, eventCount: 1 } });
    }
    expect(await observe(fromCheckpoint.container(0), segments, writers, ['k0', 'k1'])).toEqual(
      await observe(fromLog.container(0), segments, writers, ['k0', 'k1']),
    );
  });

  it('removes log files that nothing reads or replays any more after a checkpoint', async () => {
    const dataDir = await dirs.make();
    const tuning = { checkpointIntervalBytes: 8192, logFileBytes: 4096, cacheBytes: 0 };
    let store = await open(dataDir, tuning);
    let container = store.container(0);
    await container.createSegment('s/t/0');
    let length = 0;
    let keepFrom = 0;
    for (let n = 0; n < 300; n++) {
      if (n === 250) keepFrom = length;
      const event = `event-${n}`.padEnd(40, '.');
      await container.append('s/t/0', block(event), 1);
      length += framed(event);
    }
    await container.truncate('s/t/0', keepFrom);
    await closeAll();
    const files = (await readdir(logDir(dataDir))).filter((name) => name.endsWith('.log')).sort();
    expect(files[0]).not.toBe(logFileName(1));

    store = await open(dataDir, tuning);
    container = store.container(0);
    const events = await readAll(container, 's/t/0');
    expect(events).toHaveLength(50);
    expect(events[0]).toMatch(/^event-250\./);
    await container.append('s/t/0', block('more'), 1);
    expect((await readAll(container, 's/t/0')).at(-1)).toBe('more');
  });
});
