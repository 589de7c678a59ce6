import { afterEach, describe, expect, it } from 'vitest';

import { block, openTestStore, TempDirs } from '../../test-support/store.js';
import type { SegmentStore } from './types.js';

const dirs = new TempDirs();
const stores: SegmentStore[] = [];
afterEach(async () => {
  await Promise.allSettled(stores.splice(0).map((store) => store.close()));
  await dirs.cleanup();
});

describe('group commit', () => {
  it('covers many concurrent appends with one fsync each round', async () => {
    const store = await openTestStore(await dirs.make(), { fsync: 'always' });
    stores.push(store);
    const container = store.container(0);
    const writers = 200;
    const appendsPerWriter = 20;
    for (let w = 0; w < 8; w++) await container.createSegment(`s/t/${w}`);
    const before = store.stats();
    // Each writer appends one block at a time and waits for its acknowledgement, like a client
    // writer with one block in flight: the concurrency comes from the number of writers.
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let n = 0; n < appendsPerWriter; n++) {
          const writer = { writerId: `writer-${w}`, lastEventNumber: n, eventCount: 1 };
          await container.append(`s/t/${w % 8}`, block(`w${w}-e${n}`), 1, { writer });
        }
      }),
    );
    const stats = store.stats();
    const appends = stats.appends - before.appends;
    const fsyncs = stats.fsyncs - before.fsyncs;
    const perFsync = appends / fsyncs;
    console.log(`group commit: ${appends} appends, ${fsyncs} fsyncs, ${perFsync.toFixed(1)} appends per fsync`);
    expect(appends).toBe(writers * appendsPerWriter);
    expect(perFsync).toBeGreaterThanOrEqual(50);
    for (let w = 0; w < writers; w += 37) expect(container.lastEventNumber(`s/t/${w % 8}`, `writer-${w}`)).toBe(appendsPerWriter - 1);
  });

  it('acknowledges an append only after the fsync covering it', async () => {
    const store = await openTestStore(await dirs.make(), { fsync: 'always' });
    stores.push(store);
    const container = store.container(0);
    await container.createSegment('s/t/0');
    const fsyncsBefore = store.stats().fsyncs;
    const acknowledgedAfter: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        container.append('s/t/0', block(`e${n}`), 1).then(() => acknowledgedAfter.push(store.stats().fsyncs - fsyncsBefore)),
      ),
    );
    expect(acknowledgedAfter.every((fsyncs) => fsyncs >= 1)).toBe(true);
    // Appends made in one turn go out together.
    expect(store.stats().fsyncs - fsyncsBefore).toBe(1);
  });

  it("writes but never fsyncs with fsync 'none'", async () => {
    const store = await openTestStore(await dirs.make(), { fsync: 'none' });
    stores.push(store);
    const container = store.container(0);
    await container.createSegment('s/t/0');
    await Promise.all(Array.from({ length: 20 }, (_, n) => container.append('s/t/0', block(`e${n}`), 1)));
    expect(store.stats()).toMatchObject({ appends: 20, fsyncs: 0, syncs: 0 });
  });
});
