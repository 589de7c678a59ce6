import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { TempDirs } from '../../test-support/store.js';
import { EpochHistory } from './epoch-history.js';
import { commitIncomingSnapshot, incomingSnapshotDirectory, settleSnapshotInstall } from './snapshot-install.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** A container directory `0` under a fresh containers directory, holding these files. */
async function containerWith(files: Record<string, string>): Promise<string> {
  const directory = join(await dirs.make(), '0');
  await writeFiles(directory, files);
  return directory;
}

async function writeFiles(directory: string, files: Record<string, string>): Promise<void> {
  await mkdir(directory, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(directory, name), text);
}

async function contents(directory: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(directory)).sort()) files[name] = await readFile(join(directory, name), 'utf8');
  return files;
}

async function siblings(directory: string): Promise<string[]> {
  return (await readdir(join(directory, '..'))).sort();
}

const OLD = { 'log-0000000001.log': 'old log', checkpoint: 'old checkpoint' };
const NEW = { 'log-0000000007.log': 'new log 7', 'log-0000000008.log': 'new log 8', checkpoint: 'new checkpoint' };

describe('installing a snapshot into a container directory', () => {
  it('replaces the directory with a committed snapshot when the container opens, and forgets the old one', async () => {
    const directory = await containerWith(OLD);
    await writeFiles(incomingSnapshotDirectory(directory), NEW);
    await commitIncomingSnapshot(directory, true);
    expect(await siblings(directory)).toEqual(['0', '0.snapshot']);
    expect(await settleSnapshotInstall(directory, true)).toBe(true);
    expect(await contents(directory)).toEqual(NEW);
    expect(await siblings(directory)).toEqual(['0']);
    // Opening again finds nothing more to do.
    expect(await settleSnapshotInstall(directory, true)).toBe(false);
    expect(await contents(directory)).toEqual(NEW);
  });

  it('drops a snapshot that was not received whole (crash while receiving): the old directory stays', async () => {
    const directory = await containerWith(OLD);
    await writeFiles(incomingSnapshotDirectory(directory), { 'log-0000000007.log': 'half of it' });
    expect(await settleSnapshotInstall(directory, false)).toBe(false);
    expect(await contents(directory)).toEqual(OLD);
    expect(await siblings(directory)).toEqual(['0']);
  });

  it('finishes an install cut short after the old directory was moved aside', async () => {
    const directory = await containerWith({});
    await writeFiles(`${directory}.replaced`, OLD);
    await writeFiles(`${directory}.snapshot`, NEW);
    await rm(directory, { recursive: true });
    expect(await settleSnapshotInstall(directory, false)).toBe(true);
    expect(await contents(directory)).toEqual(NEW);
    expect(await siblings(directory)).toEqual(['0']);
  });

  it('removes what is left of the old directory after the snapshot took its place', async () => {
    const directory = await containerWith(NEW);
    await writeFiles(`${directory}.replaced`, { 'log-0000000001.log': 'partly removed' });
    expect(await settleSnapshotInstall(directory, false)).toBe(false);
    expect(await contents(directory)).toEqual(NEW);
    expect(await siblings(directory)).toEqual(['0']);
  });

  it('keeps a fence the replica promised after the snapshot was received (the higher of the two)', async () => {
    const directory = await containerWith(OLD);
    await (await EpochHistory.load(directory, false)).fence(9);
    await writeFiles(incomingSnapshotDirectory(directory), NEW);
    await EpochHistory.create(incomingSnapshotDirectory(directory), false, 5, [{ epoch: 5, start: { fileNumber: 7, position: 0 } }]);
    await commitIncomingSnapshot(directory, false);
    await settleSnapshotInstall(directory, false);
    const installed = await EpochHistory.load(directory, false);
    expect(installed.fencedEpoch).toBe(9);
    expect(installed.entries).toEqual([{ epoch: 5, start: { fileNumber: 7, position: 0 } }]);
  });
});
