import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { containerDirectory, logFileName } from './log-files.js';
import { repairDataDir } from './repair.js';
import { block, openTestStore, TempDirs } from '../../test-support/store.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** A data dir whose container 0 holds one log file with `events` small appends; returns the file's bytes. */
async function logOf(events: number): Promise<Buffer> {
  const dataDir = await dirs.make();
  const store = await openTestStore(dataDir);
  await store.container(0).createSegment('s/t/0');
  for (let n = 0; n < events; n++) await store.container(0).append('s/t/0', block(`event-${n}`), 1);
  await store.close();
  return readFile(join(containerDirectory(dataDir, 0), logFileName(1)));
}

async function dataDirWith(log: Buffer): Promise<string> {
  const dataDir = await dirs.make();
  await mkdir(containerDirectory(dataDir, 0), { recursive: true });
  await writeFile(join(containerDirectory(dataDir, 0), logFileName(1)), log);
  return dataDir;
}

describe('sluice-server repair', () => {
  const room = Buffer.alloc(256 * 1024);

  it('leaves a log whose newest file ends in zeros (room sized ahead of its records) as it is', async () => {
    const log = await logOf(5);
    const [repair] = await repairDataDir(await dataDirWith(Buffer.concat([log, room])), 0);
    expect(repair!.cut).toBeNull();
  });

  it('counts what it drops after damage without the zeros the file ends in', async () => {
    const log = await logOf(10);
    const damaged = Buffer.from(log);
    const at = damaged.indexOf('event-5');
    damaged[at] = damaged[at]! ^ 0x40;
    const [repair] = await repairDataDir(await dataDirWith(Buffer.concat([damaged, room])), 0);
    const { cut } = repair!;
    expect(cut!.reason).toBe('CRC mismatch');
    expect(cut!.validRecordsDropped).toBe(true);
    // From the damaged record's start to the last record's end: the room is not data.
    expect(cut!.droppedBytes).toBe(log.byteLength - cut!.position);
  });
});
