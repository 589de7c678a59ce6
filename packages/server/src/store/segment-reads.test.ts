import { describe, expect, it } from 'vitest';

import { block, framed, texts } from '../../test-support/store.js';
import type { IndexEntry } from './segment-index.js';
import { wholeEventsFrom } from './segment-reads.js';

/** Records holding the given blocks back to back from offset 0 (file places do not matter here). */
function recordsOf(blocks: Buffer[]): IndexEntry[] {
  let start = 0;
  return blocks.map((data) => {
    const entry = { start, end: start + data.byteLength, fileNumber: 1, position: start };
    start += data.byteLength;
    return entry;
  });
}

describe('wholeEventsFrom', () => {
  const pieces = [block('a1', 'a2'), block('b1'), block('c1', 'c2')];
  const records = recordsOf(pieces);

  it('merges whole events across records from an offset, up to maxBytes', () => {
    expect(texts(wholeEventsFrom(records, pieces, 0, 1_000)!)).toEqual(['a1', 'a2', 'b1', 'c1', 'c2']);
    expect(texts(wholeEventsFrom(records, pieces, framed('a1'), framed('a2') + framed('b1'))!)).toEqual(['a2', 'b1']);
  });

  it('gives at least one event even when it is larger than maxBytes, and no part of a later one', () => {
    expect(texts(wholeEventsFrom(records, pieces, 0, 1)!)).toEqual(['a1']);
    expect(texts(wholeEventsFrom(records, pieces, 0, framed('a1') + framed('a2') + 1)!)).toEqual(['a1', 'a2']);
  });

  it('is null for an offset inside an event', () => {
    expect(wholeEventsFrom(records, pieces, 1, 1_000)).toBeNull();
  });
});
