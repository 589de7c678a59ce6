import { readFile, rm, stat } from 'node:fs/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { extractRecords, wholeRecordsPrefix } from './log-extract.js';
import { containerDirectory, listLogFiles, logFilePath } from './log-files.js';
import { truncateLog, TruncationBelowCheckpointError } from './log-truncation.js';
import { block, openTestStore, TempDirs, texts } from '../../test-support/store.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** A container log of several files: `count` appends of one event each, to segment s. */
async function writtenLog(count: number): Promise<{ dataDir: string; directory: string }> {
  const dataDir = await dirs.make();
  const store = await openTestStore(dataDir, { logFileBytes: 64 * 1024 });
  const container = store.container(0);
  await container.createSegment('s');
  for (let n = 0; n < count; n++) await container.append('s', block(`event-${n}-`.padEnd(2000, 'x')), 1);
  // Closing writes a checkpoint at the end: remove it so cuts anywhere are allowed in these tests.
  await store.close();
  const directory = containerDirectory(dataDir, 0);
  await rm(`${directory}/checkpoint`, { force: true });
  return { dataDir, directory };
}

describe('truncating a container log', () => {
  it('cuts at a record boundary, removes later files, and recovery sees exactly the prefix', async () => {
    const { dataDir, directory } = await writtenLog(100);
    expect((await listLogFiles(directory)).length).toBeGreaterThan(2);
    const first = await extractRecords(directory, { fileNumber: 1, position: 0 }, 3 * 2100, { fileNumber: 99, position: 0 });
    const cut = { fileNumber: 1, position: first.data.byteLength };
    await truncateLog(directory, cut, true);
    expect(await listLogFiles(directory)).toEqual([1]);
    expect((await stat(logFilePath(directory, 1))).size).toBe(cut.position);

    const store = await openTestStore(dataDir, { logFileBytes: 64 * 1024 });
    const read = await store.container(0).read('s', 0, 1 << 20);
    // The create record and three appends are the records in those first bytes.
    expect(texts(read.data).map((event) => event.slice(0, 8))).toEqual(['event-0-', 'event-1-', 'event-2-']);
    await store.close();
  });

  it('refuses a cut inside a record, past the end, or below the checkpoint', async () => {
    const { dataDir, directory } = await writtenLog(5);
    await expect(truncateLog(directory, { fileNumber: 1, position: 7 }, false)).rejects.toThrow(/no record starts there/);
    await expect(truncateLog(directory, { fileNumber: 1, position: 1 << 30 }, false)).rejects.toThrow(/only \d+ bytes long/);
    const store = await openTestStore(dataDir);
    await store.close(); // checkpoint at the end
    await expect(truncateLog(directory, { fileNumber: 1, position: 0 }, false)).rejects.toThrow(TruncationBelowCheckpointError);
  });
});

describe('extracting records to ship', () => {
  it('returns whole records from a position, crosses to the next file at a file end, and stops at the limit', async () => {
    const { directory } = await writtenLog(100);
    const whole = await readFile(logFilePath(directory, 1));
    const firstEnd = { fileNumber: 1, position: whole.byteLength };
    const limit = { fileNumber: 2, position: 5000 };
    const some = await extractRecords(directory, { fileNumber: 1, position: 0 }, 5000, limit);
    expect(some.data.byteLength).toBeLessThanOrEqual(5000);
    expect(wholeRecordsPrefix(some.data).byteLength).toBe(some.data.byteLength);
    expect(some.data.equals(whole.subarray(0, some.data.byteLength))).toBe(true);
    const next = await extractRecords(directory, firstEnd, 1 << 20, limit);
    expect(next.at).toEqual({ fileNumber: 2, position: 0 });
    expect(next.data.byteLength).toBeLessThanOrEqual(5000);
    const atLimit = await extractRecords(directory, { fileNumber: 2, position: next.data.byteLength }, 1 << 20, { fileNumber: 2, position: next.data.byteLength });
    expect(atLimit.data.byteLength).toBe(0);
    // A record larger than maxBytes still comes whole.
    const one = await extractRecords(directory, { fileNumber: 1, position: 0 }, 1, limit);
    expect(one.data.byteLength).toBeGreaterThan(1);
  });
});
