import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EpochHistory } from '../store/epoch-history.js';
import { chooseNewPrimaryWith, longestLog, type LogReport } from './choose-new-primary.js';
import { majorityOf, majorityPosition } from './quorum.js';
import { divergencePoint } from './replicated-log.js';

const at = (fileNumber: number, position: number) => ({ fileNumber, position });

describe('majorities', () => {
  it('takes the furthest position a majority holds, and none with fewer reports', () => {
    expect(majorityOf(1)).toBe(1);
    expect(majorityOf(3)).toBe(2);
    expect(majorityOf(4)).toBe(3);
    expect(majorityPosition([at(1, 900), at(1, 100), at(1, 500)], 3)).toEqual(at(1, 500));
    expect(majorityPosition([at(2, 0), at(1, 900)], 3)).toEqual(at(1, 900));
    expect(majorityPosition([at(1, 900)], 3)).toBeNull();
    expect(majorityPosition([at(1, 900)], 1)).toEqual(at(1, 900));
  });

  it('chooses the log with the highest last epoch, then the longest, first on ties', () => {
    const reports = [
      { node: 'a', lastEpoch: 2, end: at(1, 900) },
      { node: 'b', lastEpoch: 3, end: at(1, 100) },
      { node: 'c', lastEpoch: 3, end: at(1, 100) },
    ];
    expect(longestLog(reports)?.node).toBe('b');
    expect(longestLog([])).toBeNull();
    // A longer log from an older epoch loses: its tail past the newer epoch's start was never acknowledged.
    expect(longestLog([reports[1]!, reports[0]!])?.node).toBe('b');
  });

  it('picks the new primary among live replicas by their reports; one that does not answer is passed over', async () => {
    const reports: Record<string, LogReport | null | Error> = {
      a: { node: 'a', lastEpoch: 4, end: at(2, 10) },
      b: { node: 'b', lastEpoch: 4, end: at(2, 800) },
      c: new Error('unreachable'),
      d: null,
    };
    const asked: string[] = [];
    const choose = chooseNewPrimaryWith(async (node, container) => {
      asked.push(`${node}/${container}`);
      const report = reports[node]!;
      if (report instanceof Error) throw report;
      return report;
    });
    expect(await choose(7, ['a', 'b', 'c'])).toBe('b');
    expect(asked).toEqual(['a/7', 'b/7', 'c/7']);
    expect(await choose(7, ['c', 'a'])).toBe('a');
    // Nobody answers: any live replica is safe (the promotion fences a majority and takes its longest log).
    expect(await choose(7, ['d', 'c'])).toBe('d');
    expect(await choose(7, [])).toBeNull();
  });
});

describe('divergent tails', () => {
  it('cuts where the primary says our last epoch ended, or where our copy of its last common epoch ends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-epochs-'));
    try {
      const history = await EpochHistory.load(dir, false);
      await history.startEpoch(1, at(1, 0));
      await history.startEpoch(2, at(1, 400));
      // The primary holds our epoch 2 up to 500; or never had epoch 2 and its epoch 1 ends at 350 or 450.
      expect(divergencePoint(history, 2, at(1, 600), { epoch: 2, fileNumber: 1, position: 500 })).toEqual(at(1, 500));
      expect(divergencePoint(history, 2, at(1, 600), { epoch: 1, fileNumber: 1, position: 350 })).toEqual(at(1, 350));
      expect(divergencePoint(history, 2, at(1, 600), { epoch: 1, fileNumber: 1, position: 450 })).toEqual(at(1, 400));
      expect(divergencePoint(history, 2, at(1, 600), { epoch: 2, fileNumber: 1, position: 900 })).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
