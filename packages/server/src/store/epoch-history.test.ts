import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { EPOCH_FILE, EpochHistory, EpochHistoryCorruptError } from './epoch-history.js';
import { TempDirs } from '../../test-support/store.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const at = (fileNumber: number, position: number) => ({ fileNumber, position });

describe('epoch history', () => {
  it('starts empty and survives a reopen with its fence and epoch starts', async () => {
    const dir = await dirs.make();
    const history = await EpochHistory.load(dir, true);
    expect(history.lastEpoch).toBe(0);
    expect(history.fencedEpoch).toBe(0);
    await history.startEpoch(1, at(1, 0));
    await history.startEpoch(3, at(1, 500));
    await history.fence(5);
    const reopened = await EpochHistory.load(dir, true);
    expect(reopened.entries).toEqual([
      { epoch: 1, start: at(1, 0) },
      { epoch: 3, start: at(1, 500) },
    ]);
    expect(reopened.fencedEpoch).toBe(5);
    expect(reopened.lastEpoch).toBe(3);
  });

  it('answers where an epoch ends as KIP-101/279 do', async () => {
    const history = await EpochHistory.load(await dirs.make(), false);
    await history.startEpoch(1, at(1, 0));
    await history.startEpoch(3, at(1, 500));
    await history.startEpoch(4, at(2, 100));
    const end = at(2, 900);
    expect(history.endOfEpoch(1, end)).toEqual({ epoch: 1, end: at(1, 500) });
    // Epoch 2 never had records here: the largest one below it (1) and its end.
    expect(history.endOfEpoch(2, end)).toEqual({ epoch: 1, end: at(1, 500) });
    expect(history.endOfEpoch(4, end)).toEqual({ epoch: 4, end });
    expect(history.endOfEpoch(9, end)).toEqual({ epoch: 4, end });
    expect(history.endOfEpoch(0, end)).toEqual({ epoch: 0, end: at(1, 0) });
    expect(history.epochAt(at(1, 499))).toEqual({ epoch: 1, nextStart: at(1, 500) });
    expect(history.epochAt(at(2, 100))).toEqual({ epoch: 4, nextStart: null });
  });

  it('forgets epochs whose records were all cut, and refuses to go backwards', async () => {
    const dir = await dirs.make();
    const history = await EpochHistory.load(dir, false);
    await history.startEpoch(1, at(1, 0));
    await history.startEpoch(2, at(1, 500));
    await history.truncateTo(at(1, 500));
    expect(history.lastEpoch).toBe(1);
    expect((await EpochHistory.load(dir, false)).lastEpoch).toBe(1);
    await expect(history.startEpoch(3, at(1, 10))).resolves.toBeUndefined();
    await expect(history.startEpoch(2, at(1, 20))).rejects.toThrow(RangeError);
  });

  it('refuses a damaged file with a message saying what to do', async () => {
    const dir = await dirs.make();
    await writeFile(join(dir, EPOCH_FILE), '{"fenced": 2, "starts": [[2, 1, 0], [1, 1, 5]]}');
    await expect(EpochHistory.load(dir, false)).rejects.toThrow(EpochHistoryCorruptError);
    await expect(EpochHistory.load(dir, false)).rejects.toThrow(/epochs out of order.*resync/);
  });
});
