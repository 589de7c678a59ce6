import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { block, framed, openTestStore, TempDirs, texts } from '../../test-support/store.js';
import type { Container, SegmentStore, StoreError } from './types.js';

const dirs = new TempDirs();
const stores: SegmentStore[] = [];
afterEach(async () => {
  await Promise.allSettled(stores.splice(0).map((store) => store.close()));
  await dirs.cleanup();
});

async function open(dataDir: string, overrides: Parameters<typeof openTestStore>[1] = {}): Promise<Container> {
  const store = await openTestStore(dataDir, overrides);
  stores.push(store);
  return store.container(0);
}

async function reopen(dataDir: string, overrides: Parameters<typeof openTestStore>[1] = {}): Promise<Container> {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  return open(dataDir, overrides);
}

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    return error as StoreError;
  }
  throw new Error('expected a rejection');
}

function thrown(call: () => unknown): StoreError {
  try {
    call();
  } catch (error) {
    return error as StoreError;
  }
  throw new Error('expected a throw');
}

/** Every event of the segment from offset, read maxBytes at a time. */
async function readAll(container: Container, segment: string, maxBytes = 1 << 20, from?: number): Promise<string[]> {
  const events: string[] = [];
  let offset = from ?? container.getInfo(segment).startOffset;
  for (;;) {
    const result = await container.read(segment, offset, maxBytes);
    if (result.data.byteLength === 0) return events;
    events.push(...texts(result.data));
    offset += result.data.byteLength;
  }
}

/** A deterministic mix of event sizes, so records and events have uneven boundaries. */
function eventText(n: number): string {
  return `event-${n}-`.padEnd(8 + ((n * 37) % 90), 'x');
}

describe('append and read', () => {
  it('round-trips many records through the cache and, once evicted, through rolled log files', async () => {
    const dataDir = await dirs.make();
    const container = await open(dataDir, { cacheBytes: 2048, logFileBytes: 4096 });
    await container.createSegment('s/t/0');
    const expected: string[] = [];
    const offsets: number[] = [];
    let length = 0;
    const appends: Array<Promise<unknown>> = [];
    for (let record = 0; record < 300; record++) {
      const events = Array.from({ length: 1 + (record % 4) }, (_, i) => eventText(expected.length + i));
      for (const event of events) {
        offsets.push(length);
        length += framed(event);
      }
      expected.push(...events);
      appends.push(container.append('s/t/0', block(...events), events.length));
    }
    await Promise.all(appends);
    expect(container.getInfo('s/t/0')).toEqual({ segment: 's/t/0', startOffset: 0, length, sealed: false });
    const logFiles = (await readdir(join(dataDir, 'containers', '0'))).filter((name) => name.endsWith('.log'));
    expect(logFiles.length).toBeGreaterThan(5);

    expect(await readAll(container, 's/t/0')).toEqual(expected);
    const stats = stores[0]!.stats();
    expect(stats.cacheMisses).toBeGreaterThan(0);
    expect(stats.cacheBytes).toBeLessThanOrEqual(2048);
    expect(stats).toMatchObject({ appends: 300, events: expected.length, bytes: length });
    // Small reads: every event offset is a valid start, reads span records and stop at maxBytes.
    for (const maxBytes of [1, 100, 700]) {
      expect(await readAll(container, 's/t/0', maxBytes)).toEqual(expected);
    }
    for (const [i, offset] of offsets.entries()) {
      if (i % 7 !== 0) continue;
      const result = await container.read('s/t/0', offset, 500);
      const got = texts(result.data);
      expect(got[0]).toBe(expected[i]);
      expect(got).toEqual(expected.slice(i, i + got.length));
      // As many whole events as fit in 500 bytes: the next one would not have fit.
      expect(result.data.byteLength <= 500 || got.length === 1).toBe(true);
      if (i + got.length < expected.length) expect(result.data.byteLength + framed(expected[i + got.length]!)).toBeGreaterThan(500);
      expect(result.length).toBe(length);
    }
    const reopened = await reopen(dataDir, { cacheBytes: 2048, logFileBytes: 4096 });
    expect(await readAll(reopened, 's/t/0', 300)).toEqual(expected);
  });

  it('returns at least one whole event even when it is larger than maxBytes', async () => {
    const container = await open(await dirs.make());
    await container.createSegment('s/t/0');
    const big = 'b'.repeat(5000);
    await container.append('s/t/0', block(big, 'small'), 2);
    const first = await container.read('s/t/0', 0, 10);
    expect(texts(first.data)).toEqual([big]);
    const second = await container.read('s/t/0', first.data.byteLength, 1);
    expect(texts(second.data)).toEqual(['small']);
  });

  it('rejects offsets inside events, past the end, and answers empty at the tail', async () => {
    const container = await open(await dirs.make());
    await container.createSegment('s/t/0');
    await container.append('s/t/0', block('one', 'two'), 2);
    const { length } = container.getInfo('s/t/0');
    expect((await rejection(container.read('s/t/0', 2, 100))).code).toBe('INVALID_OFFSET');
    expect((await rejection(container.read('s/t/0', framed('one') + 1, 100))).code).toBe('INVALID_OFFSET');
    expect((await rejection(container.read('s/t/0', length + 1, 100))).code).toBe('INVALID_OFFSET');
    expect((await rejection(container.read('s/t/0', -1, 100))).code).toBe('INVALID_OFFSET');
    const atTail = await container.read('s/t/0', length, 100);
    expect({ ...atTail, data: atTail.data }).toMatchObject({ offset: length, parts: [], byteLength: 0, data: Buffer.alloc(0), length, endOfSegment: false });
    expect(texts((await container.read('s/t/0', framed('one'), 100)).data)).toEqual(['two']);
    expect((await rejection(container.read('nope/x/0', 0, 100))).code).toBe('NO_SUCH_SEGMENT');
    expect((await rejection(container.createSegment('s/t/0'))).code).toBe('SEGMENT_ALREADY_EXISTS');
  });

  it('shows only durable data: length and reads move when the fsync completes', async () => {
    const container = await open(await dirs.make(), { fsync: 'always' });
    await container.createSegment('s/t/0');
    const appended = container.append('s/t/0', block('pending'), 1);
    expect(container.getInfo('s/t/0').length).toBe(0);
    expect((await container.read('s/t/0', 0, 100)).data.byteLength).toBe(0);
    const result = await appended;
    expect(result).toEqual({ length: framed('pending'), lastEventNumber: -1, duplicate: false });
    expect(container.getInfo('s/t/0').length).toBe(framed('pending'));
  });
});

describe('writer dedup', () => {
  it('acknowledges resent events as duplicates, keeps the new tail of a partial overlap, refuses gaps; survives reopen', async () => {
    const dataDir = await dirs.make();
    let container = await open(dataDir);
    await container.createSegment('s/t/0');
    const writer = (last: number, count: number): { writer: { writerId: string; lastEventNumber: number; eventCount: number } } => ({
      writer: { writerId: 'w1', lastEventNumber: last, eventCount: count },
    });
    const first = await container.append('s/t/0', block('e0', 'e1', 'e2'), 3, writer(2, 3));
    expect(first).toEqual({ length: 3 * framed('e0'), lastEventNumber: 2, duplicate: false });
    expect(await container.append('s/t/0', block('e0', 'e1', 'e2'), 3, writer(2, 3))).toEqual({ ...first, duplicate: true });
    expect(await container.append('s/t/0', block('e1', 'e2'), 2, writer(2, 2))).toEqual({ ...first, duplicate: true });
    const overlap = await container.append('s/t/0', block('e1', 'e2', 'e3', 'e4'), 4, writer(4, 4));
    expect(overlap).toEqual({ length: 5 * framed('e0'), lastEventNumber: 4, duplicate: false });
    expect(await readAll(container, 's/t/0')).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);

    const gap = await rejection(container.append('s/t/0', block('e7', 'e8'), 2, writer(8, 2)));
    expect(gap.code).toBe('INVALID_EVENT_NUMBER');
    expect(gap.detail.lastEventNumber).toBe(4);
    expect(gap.message).toBe('writer w1 sent events 7..8 to s/t/0 but its last stored event is 4');
    const newWriterGap = await rejection(
      container.append('s/t/0', block('x'), 1, { writer: { writerId: 'w2', lastEventNumber: 5, eventCount: 1 } }),
    );
    expect(newWriterGap.detail.lastEventNumber).toBe(-1);
    expect(container.lastEventNumber('s/t/0', 'w1')).toBe(4);
    expect(container.lastEventNumber('s/t/0', 'w2')).toBe(-1);

    // Dedup also holds against appends still in flight (decided at call time).
    const inFlight = container.append('s/t/0', block('e5'), 1, writer(5, 1));
    const resent = container.append('s/t/0', block('e5'), 1, writer(5, 1));
    expect((await inFlight).duplicate).toBe(false);
    expect((await resent).duplicate).toBe(true);

    container = await reopen(dataDir);
    expect(container.lastEventNumber('s/t/0', 'w1')).toBe(5);
    expect((await container.append('s/t/0', block('e4', 'e5'), 2, writer(5, 2))).duplicate).toBe(true);
    await container.append('s/t/0', block('e5', 'e6'), 2, writer(6, 2));
    expect(await readAll(container, 's/t/0')).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
  });
});

describe('what an append counts', () => {
  it('counts only the new events of a partial overlap, and nothing for duplicates or an empty block', async () => {
    const store = await openTestStore(await dirs.make());
    stores.push(store);
    const container = store.container(0);
    await container.createSegment('s/c/0');
    const writer = (last: number, count: number) => ({ writer: { writerId: 'w1', lastEventNumber: last, eventCount: count } });
    await container.append('s/c/0', block('e0', 'e1'), 2, writer(1, 2));
    await container.append('s/c/0', block('e0', 'e1'), 2, writer(1, 2));
    await container.append('s/c/0', block('e1', 'e2', 'e3'), 3, writer(3, 3));
    expect(store.stats()).toMatchObject({ appends: 2, events: 4, bytes: 4 * framed('e0') });

    // An empty block is answered with the length and writes no record.
    const empty = await container.append('s/c/0', block(), 0);
    expect(empty).toEqual({ length: 4 * framed('e0'), lastEventNumber: -1, duplicate: false });
    expect(store.stats()).toMatchObject({ appends: 2, events: 4 });
    expect(await readAll(container, 's/c/0')).toEqual(['e0', 'e1', 'e2', 'e3']);
  });
});

describe('segment life cycle', () => {
  it('seals: appends fail with the sealed length, seal is idempotent, reads report the end; survives reopen', async () => {
    const dataDir = await dirs.make();
    let container = await open(dataDir);
    await container.createSegment('s/t/0');
    await container.append('s/t/0', block('a', 'b'), 2);
    const length = 2 * framed('a');
    const appendBeforeSeal = container.append('s/t/0', block('c'), 1);
    const sealed = container.seal('s/t/0');
    const late = await rejection(container.append('s/t/0', block('d'), 1));
    expect(late.code).toBe('SEGMENT_IS_SEALED');
    expect(late.detail.length).toBe(length + framed('c'));
    expect(late.message).toBe(`segment s/t/0 is sealed at ${length + framed('c')}`);
    await appendBeforeSeal;
    expect(await sealed).toBe(length + framed('c'));
    expect(await container.seal('s/t/0')).toBe(length + framed('c'));
    expect(container.getInfo('s/t/0').sealed).toBe(true);
    const tail = await container.read('s/t/0', length, 100);
    expect(texts(tail.data)).toEqual(['c']);
    expect(tail.endOfSegment).toBe(true);

    container = await reopen(dataDir);
    expect(container.getInfo('s/t/0')).toEqual({ segment: 's/t/0', startOffset: 0, length: length + framed('c'), sealed: true });
    expect((await rejection(container.append('s/t/0', block('e'), 1))).code).toBe('SEGMENT_IS_SEALED');
  });

  it('truncates at event boundaries, even inside a record; survives reopen', async () => {
    const dataDir = await dirs.make();
    let container = await open(dataDir, { cacheBytes: 0 });
    await container.createSegment('s/t/0');
    await container.append('s/t/0', block('aa', 'bb', 'cc'), 3);
    await container.append('s/t/0', block('dd', 'ee'), 2);
    const size = framed('aa');
    expect((await rejection(container.truncate('s/t/0', size + 1))).code).toBe('INVALID_OFFSET');
    expect((await rejection(container.truncate('s/t/0', 6 * size))).code).toBe('INVALID_OFFSET');
    expect(await container.truncate('s/t/0', size)).toBe(size);
    const truncated = await rejection(container.read('s/t/0', 0, 100));
    expect(truncated.code).toBe('SEGMENT_IS_TRUNCATED');
    expect(truncated.detail.startOffset).toBe(size);
    expect(await readAll(container, 's/t/0')).toEqual(['bb', 'cc', 'dd', 'ee']);
    expect(await container.truncate('s/t/0', 3 * size)).toBe(3 * size); // a record start
    expect(await container.truncate('s/t/0', 2 * size)).toBe(3 * size); // behind the start: unchanged
    expect(container.getInfo('s/t/0').startOffset).toBe(3 * size);

    container = await reopen(dataDir, { cacheBytes: 0 });
    expect(container.getInfo('s/t/0')).toMatchObject({ startOffset: 3 * size, length: 5 * size });
    expect(await readAll(container, 's/t/0')).toEqual(['dd', 'ee']);
    expect(await container.truncate('s/t/0', 5 * size)).toBe(5 * size);
    expect(await readAll(container, 's/t/0')).toEqual([]);
    await container.append('s/t/0', block('ff'), 1);
    expect(await readAll(container, 's/t/0')).toEqual(['ff']);
  });

  it('deletes: the name can be created again as a new, empty segment; survives reopen', async () => {
    const dataDir = await dirs.make();
    let container = await open(dataDir);
    await container.createSegment('s/t/0');
    await container.createSegment('s/t/1');
    await container.append('s/t/0', block('old'), 1, { writer: { writerId: 'w', lastEventNumber: 0, eventCount: 1 } });
    await container.updateAttribute('s/t/0', 'k', null, 1);
    await container.delete('s/t/0');
    expect(thrown(() => container.getInfo('s/t/0')).code).toBe('NO_SUCH_SEGMENT');
    expect((await rejection(container.append('s/t/0', block('x'), 1))).code).toBe('NO_SUCH_SEGMENT');
    expect((await rejection(container.delete('s/t/0'))).code).toBe('NO_SUCH_SEGMENT');
    await container.createSegment('s/t/0');
    expect(container.getInfo('s/t/0').length).toBe(0);
    expect(container.lastEventNumber('s/t/0', 'w')).toBe(-1);
    await container.append('s/t/0', block('new'), 1);

    container = await reopen(dataDir);
    expect(await readAll(container, 's/t/0')).toEqual(['new']);
    expect(container.getAttribute('s/t/0', 'k')).toBeNull();
    expect(container.getInfo('s/t/1').length).toBe(0);
  });

  it('updates attributes by compare-and-set (numbers, bytes, removal); survives reopen', async () => {
    const dataDir = await dirs.make();
    let container = await open(dataDir);
    await container.createSegment('s/t/0');
    expect(container.getAttribute('s/t/0', 'mark')).toBeNull();
    expect(await container.updateAttribute('s/t/0', 'mark', null, 5)).toEqual({ success: true, current: 5 });
    expect(await container.updateAttribute('s/t/0', 'mark', null, 6)).toEqual({ success: false, current: 5 });
    expect(await container.updateAttribute('s/t/0', 'mark', 4, 6)).toEqual({ success: false, current: 5 });
    const bytes = Buffer.from('revision-7');
    expect(await container.updateAttribute('s/t/0', 'mark', 5, bytes)).toEqual({ success: true, current: bytes });
    expect(await container.updateAttribute('s/t/0', 'mark', Buffer.from('other'), 1)).toEqual({ success: false, current: bytes });
    // Concurrent CAS from the same expected value: exactly one wins (decided at call time).
    const racing = await Promise.all([
      container.updateAttribute('s/t/0', 'other', null, 1),
      container.updateAttribute('s/t/0', 'other', null, 2),
    ]);
    expect(racing.map((update) => update.success)).toEqual([true, false]);
    expect(racing[1]!.current).toBe(1);
    expect(await container.updateAttribute('s/t/0', 'gone', null, 9)).toMatchObject({ success: true });
    expect(await container.updateAttribute('s/t/0', 'gone', 9, null)).toEqual({ success: true, current: null });

    container = await reopen(dataDir);
    expect(container.getAttribute('s/t/0', 'mark')).toEqual(bytes);
    expect(container.getAttribute('s/t/0', 'other')).toBe(1);
    expect(container.getAttribute('s/t/0', 'gone')).toBeNull();
    expect(await container.updateAttribute('s/t/0', 'mark', Buffer.from('revision-7'), 8)).toEqual({ success: true, current: 8 });
  });

  it('appends conditionally on the length, counting appends still in flight; survives reopen', async () => {
    const dataDir = await dirs.make();
    let container = await open(dataDir, { fsync: 'always' });
    await container.createSegment('s/t/0');
    expect(await container.append('s/t/0', block('r0'), 1, { expectedOffset: 0 })).toMatchObject({ length: framed('r0') });
    const failed = await rejection(container.append('s/t/0', block('r1'), 1, { expectedOffset: 0 }));
    expect(failed.code).toBe('CONDITIONAL_CHECK_FAILED');
    expect(failed.detail.length).toBe(framed('r0'));
    expect(failed.message).toBe(`segment s/t/0 is ${framed('r0')} bytes long, not the expected 0`);
    // Two writers racing from the same revision: the first call wins even before it is durable.
    const winner = container.append('s/t/0', block('r1'), 1, { expectedOffset: framed('r0') });
    const loser = rejection(container.append('s/t/0', block('r1-other'), 1, { expectedOffset: framed('r0') }));
    const chained = container.append('s/t/0', block('r2'), 1, { expectedOffset: 2 * framed('r0') });
    await winner;
    expect((await loser).detail.length).toBe(2 * framed('r0'));
    await chained;

    container = await reopen(dataDir);
    expect(await readAll(container, 's/t/0')).toEqual(['r0', 'r1', 'r2']);
    expect((await rejection(container.append('s/t/0', block('r3'), 1, { expectedOffset: 0 }))).detail.length).toBe(3 * framed('r0'));
  });

  it('rejects every call after close with STORE_CLOSED', async () => {
    const dataDir = await dirs.make();
    const store = await openTestStore(dataDir);
    const container = store.container(0);
    await container.createSegment('s/t/0');
    const pending = container.append('s/t/0', block('last'), 1);
    await store.close();
    expect((await pending).length).toBe(framed('last'));
    expect(thrown(() => container.getInfo('s/t/0')).code).toBe('STORE_CLOSED');
    expect((await rejection(container.append('s/t/0', block('x'), 1))).code).toBe('STORE_CLOSED');
    expect((await rejection(container.read('s/t/0', 0, 10))).code).toBe('STORE_CLOSED');
    expect((await rejection(container.createSegment('s/t/1'))).code).toBe('STORE_CLOSED');
    const reopened = await open(dataDir);
    expect(await readAll(reopened, 's/t/0')).toEqual(['last']);
  });
});

describe('log failure', () => {
  it('rejects the pending appends and every later call once a log write fails', async () => {
    const container = await open(await dirs.make());
    await container.createSegment('s/t/0');
    // Pull the file out from under the writer: the next writev fails with EBADF.
    const { log } = container as unknown as { log: { handle: { close(): Promise<void> } } };
    await log.handle.close();
    const first = rejection(container.append('s/t/0', block('a'), 1));
    const second = rejection(container.append('s/t/0', block('b'), 1));
    expect((await first).message).toMatch(/EBADF|closed|"fd" is out of range/);
    expect(await second).toBe(await first);
    expect(thrown(() => container.getInfo('s/t/0'))).toBe(await first);
    await expect(container.createSegment('s/t/1')).rejects.toBe(await first);
  });
});

describe('waitForData', () => {
  it('wakes on an append only once it is durable', async () => {
    const container = await open(await dirs.make(), { fsync: 'always' });
    await container.createSegment('s/t/0');
    let lengthWhenWoken = -1;
    const waiting = container.waitForData('s/t/0', 0, 5000).then(() => {
      lengthWhenWoken = container.getInfo('s/t/0').length;
    });
    const started = Date.now();
    await container.append('s/t/0', block('hello'), 1);
    await waiting;
    expect(lengthWhenWoken).toBe(framed('hello'));
    expect(Date.now() - started).toBeLessThan(2000);
    // Data already there: no wait at all.
    await container.waitForData('s/t/0', 0, 5000);
  });

  it('times out without rejecting, and honours the AbortSignal', async () => {
    const container = await open(await dirs.make());
    await container.createSegment('s/t/0');
    let started = Date.now();
    await container.waitForData('s/t/0', 0, 60);
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);

    const controller = new AbortController();
    started = Date.now();
    const waiting = container.waitForData('s/t/0', 0, 10_000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await waiting;
    expect(Date.now() - started).toBeLessThan(2000);
    await container.waitForData('s/t/0', 0, 10_000, controller.signal); // already aborted: returns at once
  });

  it('wakes on seal and on delete', async () => {
    const container = await open(await dirs.make());
    await container.createSegment('s/t/0');
    await container.createSegment('s/t/1');
    const onSeal = container.waitForData('s/t/0', 0, 10_000);
    const onDelete = container.waitForData('s/t/1', 0, 10_000);
    await container.seal('s/t/0');
    await container.delete('s/t/1');
    const started = Date.now();
    await Promise.all([onSeal, onDelete]);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
