import { afterEach, describe, expect, it } from 'vitest';

import { block, framed, openTestStore, TempDirs, texts } from '../../test-support/store.js';
import type { IndexEntry } from './segment-index.js';
import { SegmentReadResult, wholeEventsFrom } from './segment-reads.js';
import type { Container, SegmentStore } from './types.js';

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

describe('reads from the block cache alone (Container.readNow)', () => {
  const dirs = new TempDirs();
  const stores: SegmentStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await dirs.cleanup();
  });

  /** A container holding segment s/t/0 with the blocks [a1 a2] [b1] [c1 c2], appended and durable. */
  async function written(cacheBytes: number): Promise<Container> {
    const store = await openTestStore(await dirs.make(), { cacheBytes });
    stores.push(store);
    const container = store.container(0);
    await container.createSegment('s/t/0');
    for (const events of [['a1', 'a2'], ['b1'], ['c1', 'c2']]) await container.append('s/t/0', block(...events), events.length);
    return container;
  }

  it('gives what read() gives, from any event boundary, when every block is cached', async () => {
    const container = await written(1024 * 1024);
    const start = framed('a1') + framed('a2');
    for (const [offset, maxBytes] of [[0, 1000], [framed('a1'), 1000], [start, 1], [start, 1000]] as const) {
      const now = container.readNow('s/t/0', offset, maxBytes)!;
      const read = await container.read('s/t/0', offset, maxBytes);
      expect(texts(now.data)).toEqual(texts(read.data));
      expect([now.offset, now.length, now.endOfSegment]).toEqual([read.offset, read.length, read.endOfSegment]);
    }
    expect(texts(container.readNow('s/t/0', start, 1000)!.data)).toEqual(['b1', 'c1', 'c2']);
  });

  it('answers a read at the tail with no data, at once', async () => {
    const container = await written(1024 * 1024);
    const { length } = container.getInfo('s/t/0');
    const now = container.readNow('s/t/0', length, 1000)!;
    expect([now.byteLength, now.offset, now.length, now.endOfSegment]).toEqual([0, length, length, false]);
  });

  it('is null when a block is not cached; read() then fetches it from the log', async () => {
    const container = await written(0);
    expect(container.readNow('s/t/0', 0, 1000)).toBeNull();
    expect(texts((await container.read('s/t/0', 0, 1000)).data)).toEqual(['a1', 'a2', 'b1', 'c1', 'c2']);
  });

  it('is null for a read that fails; read() says why', async () => {
    const container = await written(1024 * 1024);
    const { length } = container.getInfo('s/t/0');
    for (const [segment, offset] of [['s/t/0', 1], ['s/t/0', length + 1], ['s/t/0', -1], ['s/t/9', 0]] as const) {
      expect(container.readNow(segment, offset, 1000)).toBeNull();
      await expect(container.read(segment, offset, 1000)).rejects.toMatchObject({ code: expect.any(String) });
    }
  });
});
