import { describe, expect, it } from 'vitest';

import { SegmentIndex } from './segment-index.js';

/** Records of 10 bytes each at offsets 0, 10, 20, …; record n in file n / 100 at position n * 30. */
function indexOf(records: number): SegmentIndex {
  const index = new SegmentIndex();
  for (let n = 0; n < records; n++) index.add(n * 10, Math.floor(n / 100) + 1, n * 30);
  return index;
}

describe('SegmentIndex', () => {
  it('locates the record holding an offset and copies entries out', () => {
    const index = indexOf(1000);
    expect(index.size).toBe(1000);
    expect(index.locate(0)).toBe(0);
    expect(index.locate(9)).toBe(0);
    expect(index.locate(10)).toBe(1);
    expect(index.locate(9999)).toBe(999);
    expect(index.entryAt(999, 10_000)).toEqual({ start: 9990, end: 10_000, fileNumber: 10, position: 999 * 30 });
    expect(index.entryAt(5, 10_000)).toEqual({ start: 50, end: 60, fileNumber: 1, position: 150 });
    expect(index.isRecordStart(50)).toBe(true);
    expect(index.isRecordStart(55)).toBe(false);
    expect(index.countStartingBelow(0)).toBe(0);
    expect(index.countStartingBelow(1)).toBe(1);
    expect(index.countStartingBelow(10)).toBe(1);
    expect(index.countStartingBelow(10_000)).toBe(1000);
  });

  it('drops a truncated prefix, keeping the record that holds the new start, and compacts', () => {
    const index = indexOf(5000);
    index.dropBefore(35, 50_000);
    expect(index.size).toBe(4997);
    expect(index.entryAt(index.firstEntry, 50_000).start).toBe(30);
    expect(index.locate(29)).toBe(-1);
    index.dropBefore(40_005, 50_000);
    expect(index.size).toBe(1000);
    // Compacted: entry numbers restart at 0 and lookups still work.
    expect(index.firstEntry).toBe(0);
    expect(index.entryAt(index.locate(40_005), 50_000)).toEqual({ start: 40_000, end: 40_010, fileNumber: 41, position: 4000 * 30 });
    expect(index.firstFileNumber()).toBe(41);
    index.add(50_000, 60, 0);
    expect(index.size).toBe(1001);
    index.dropBefore(50_010, 50_010);
    expect(index.size).toBe(0);
    expect(index.firstFileNumber()).toBeNull();
  });

  it('gives views of the live entries for a checkpoint and rebuilds from them', () => {
    const index = indexOf(300);
    index.dropBefore(1000, 3000);
    const arrays = index.liveArrays(index.countStartingBelow(2500));
    expect(arrays.starts.length).toBe(150);
    const rebuilt = new SegmentIndex({
      starts: Float64Array.from(arrays.starts),
      fileNumbers: Uint32Array.from(arrays.fileNumbers),
      positions: Float64Array.from(arrays.positions),
    });
    expect(rebuilt.entryAt(rebuilt.locate(1234), 2500)).toEqual({ start: 1230, end: 1240, fileNumber: 2, position: 123 * 30 });
    rebuilt.add(2500, 3, 1);
    expect(rebuilt.size).toBe(151);
  });
});
