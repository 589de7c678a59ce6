import { describe, expect, it } from 'vitest';

import { block, framed, texts } from '../../test-support/store.js';
import type { IndexEntry } from './segment-index.js';
import { SegmentReadResult, wholeEventsFrom } from './segment-reads.js';

/** Records holding the given blocks back to back from offset 0 (file places do not matter here). */
function recordsOf(blocks: Buffer[]): IndexEntry[] {
  let start = 0;
  return blocks.map((data) => {
    const entry = { start, end: start + data.byteLength, fileNumber: 1, position: start };
    start += data.byteLength;
    return entry;
  });
}

const joined = (parts: Buffer[] | null): Buffer => Buffer.concat(parts!);

describe('wholeEventsFrom', () => {
  const pieces = [block('a1', 'a2'), block('b1'), block('c1', 'c2')];
  const records = recordsOf(pieces);

  it('merges whole events across records from an offset, up to maxBytes', () => {
    expect(texts(joined(wholeEventsFrom(records, pieces, 0, 1_000)))).toEqual(['a1', 'a2', 'b1', 'c1', 'c2']);
    expect(texts(joined(wholeEventsFrom(records, pieces, framed('a1'), framed('a2') + framed('b1'))))).toEqual(['a2', 'b1']);
  });

  it('gives at least one event even when it is larger than maxBytes, and no part of a later one', () => {
    expect(texts(joined(wholeEventsFrom(records, pieces, 0, 1)))).toEqual(['a1']);
    expect(texts(joined(wholeEventsFrom(records, pieces, 0, framed('a1') + framed('a2') + 1)))).toEqual(['a1', 'a2']);
  });

  it('is null for an offset inside an event', () => {
    expect(wholeEventsFrom(records, pieces, 1, 1_000)).toBeNull();
  });

  it('gives views of the blocks, one per record, not a copy', () => {
    const parts = wholeEventsFrom(records, pieces, framed('a1'), 1_000)!;
    expect(parts).toHaveLength(3);
    const skipped = [framed('a1'), 0, 0];
    parts.forEach((part, k) => {
      expect(part.buffer).toBe(pieces[k]!.buffer);
      expect(part.byteOffset).toBe(pieces[k]!.byteOffset + skipped[k]!);
    });
  });
});

describe('SegmentReadResult', () => {
  const parts = [block('a1', 'a2'), block('b1')];
  const bytes = parts[0]!.byteLength + parts[1]!.byteLength;

  it('counts the bytes of its parts and joins them only for data', () => {
    const result = new SegmentReadResult(100, parts, 100 + bytes, false);
    expect(result.byteLength).toBe(bytes);
    expect(result.parts).toBe(parts);
    expect(texts(result.data)).toEqual(['a1', 'a2', 'b1']);
    expect(result.data).toBe(result.data);
  });

  it('is the end of the segment only when sealed and reaching its length', () => {
    expect(new SegmentReadResult(100, parts, 100 + bytes, true).endOfSegment).toBe(true);
    expect(new SegmentReadResult(100, parts, 100 + bytes + 1, true).endOfSegment).toBe(false);
    expect(new SegmentReadResult(100, parts, 100 + bytes, false).endOfSegment).toBe(false);
    expect(new SegmentReadResult(100, [], 100, true).endOfSegment).toBe(true);
    expect(new SegmentReadResult(100, [], 100, true).data.byteLength).toBe(0);
  });
});
