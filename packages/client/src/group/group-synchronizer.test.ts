import { describe, expect, it } from 'vitest';
import type { ClientContext } from '../client-context.js';
import { SegmentIsTruncatedError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { Revision } from '../revisioned/revision.js';
import type { RevisionedClient, RevisionedEntry } from '../revisioned/revisioned-client.js';
import { GroupSynchronizer } from './group-synchronizer.js';
import { acquire, commit, initialState, join, type GroupState } from './group-state.js';

const SEGMENT = 'unit/state/0';

/** The state stream in memory: entries at byte offsets, conditional appends, truncation. */
class FakeStateStream {
  readonly segment = SEGMENT;
  entries: Array<{ start: number; end: number; data: Buffer }> = [];
  startOffset = 0;
  truncations = 0;

  get length(): number {
    return this.entries.at(-1)?.end ?? this.startOffset;
  }

  async writeConditionally(revision: Revision, data: Uint8Array | string): Promise<Revision | null> {
    if (revision.offset !== this.length) return null;
    const bytes = Buffer.from(data);
    const start = this.length;
    this.entries.push({ start, end: start + 4 + bytes.byteLength, data: bytes });
    return new Revision(SEGMENT, start + 4 + bytes.byteLength);
  }

  async *readFrom(revision: Revision): AsyncGenerator<RevisionedEntry> {
    if (revision.offset < this.startOffset) throw new SegmentIsTruncatedError(SEGMENT, this.startOffset);
    for (const entry of this.entries) {
      if (entry.start >= revision.offset) yield { revision: new Revision(SEGMENT, entry.end), data: entry.data, timestamp: 0, headers: {} };
    }
  }

  async fetchOldestRevision(): Promise<Revision> {
    return new Revision(SEGMENT, this.startOffset);
  }

  async truncateToRevision(revision: Revision): Promise<void> {
    this.truncations += 1;
    this.startOffset = revision.offset;
    this.entries = this.entries.filter((entry) => entry.start >= revision.offset);
  }
}

const member = { readerId: 'a', session: 's' };
const fresh = (): GroupState => acquire(join(initialState('head', new Map([['s/n/0', 0]])), member), member, ['s/n/0'])!;

function synchronizerOn(stream: FakeStateStream): GroupSynchronizer {
  return new GroupSynchronizer({} as ClientContext, stream as unknown as RevisionedClient, silentLogger);
}

describe('GroupSynchronizer', () => {
  it('re-applies a change on top of what another reader wrote first', async () => {
    const stream = new FakeStateStream();
    const first = synchronizerOn(stream);
    const second = synchronizerOn(stream);
    await first.load(async () => fresh());
    await second.load(async () => fresh());
    expect(stream.entries).toHaveLength(1);
    await first.update((state) => join(state, { readerId: 'b', session: 't' }));
    // second still holds the old state: its conditional append fails, it reads, applies again.
    const written = await second.update((state) => join(state, { readerId: 'c', session: 'u' }));
    expect(Object.keys(written!.readers).sort()).toEqual(['a', 'b', 'c']);
  });

  it('truncates old states as they gather, and a reader behind the truncation still finds the latest', async () => {
    const stream = new FakeStateStream();
    const writer = synchronizerOn(stream);
    const behind = synchronizerOn(stream);
    await writer.load(async () => fresh());
    await behind.load(async () => fresh());
    // Each commit rewrites the whole state: 64 KiB of them are truncated away.
    for (let offset = 1; offset <= 2_000; offset++) await writer.update((state) => commit(state, member, new Map([['s/n/0', offset]])));
    expect(stream.truncations).toBeGreaterThan(0);
    expect(stream.length - stream.startOffset).toBeLessThan(2 * 64 * 1024);
    expect((await behind.refresh())!.segments['s/n/0']!.offset).toBe(2_000);
  });
});
