/**
 * A byte-bounded LRU of recent append blocks, shared by every container of a node. Appends fill it
 * (tail readers, the common case, then never touch the disk); reads refresh an entry's recency.
 * Data read back from log files is not inserted: a reader catching up on old data would otherwise
 * push the tail out for everyone, and the OS page cache already serves repeated file reads.
 *
 * Recency is a doubly linked list, not Map insertion order: V8 leaves deleted Map entries as holes
 * until it rehashes, so "the first key" of a Map that constantly deletes at the front and adds at
 * the back costs a walk over every hole, and an append-heavy node made eviction O(n).
 */

/** What an entry and its string key cost beyond the payload, so tiny blocks cannot overrun the bound. */
const ENTRY_OVERHEAD = 96;

export interface CacheCounters {
  hits: number;
  misses: number;
}

interface Entry {
  key: string;
  data: Buffer;
  /** Towards the least recently used end. */
  older: Entry | null;
  newer: Entry | null;
}

export class BlockCache {
  private readonly entries = new Map<string, Entry>();
  private oldest: Entry | null = null;
  private newest: Entry | null = null;
  private usedBytes = 0;
  readonly counters: CacheCounters = { hits: 0, misses: 0 };

  constructor(readonly maxBytes: number) {}

  static keyOf(containerId: number, segmentId: number, recordStart: number): string {
    return `${containerId}:${segmentId}:${recordStart}`;
  }

  get bytes(): number {
    return this.usedBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Buffer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.counters.misses += 1;
      return undefined;
    }
    this.counters.hits += 1;
    this.unlink(entry);
    this.linkNewest(entry);
    return entry.data;
  }

  /** Whether key is cached; counts no hit or miss and leaves its recency as it is. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, data: Buffer): void {
    const cost = data.byteLength + ENTRY_OVERHEAD;
    if (cost > this.maxBytes) return;
    this.delete(key);
    const entry: Entry = { key, data: ownCopyIfShared(data), older: null, newer: null };
    this.entries.set(key, entry);
    this.linkNewest(entry);
    this.usedBytes += cost;
    while (this.usedBytes > this.maxBytes && this.oldest) this.delete(this.oldest.key);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.unlink(entry);
    this.usedBytes -= entry.data.byteLength + ENTRY_OVERHEAD;
  }

  private linkNewest(entry: Entry): void {
    entry.older = this.newest;
    entry.newer = null;
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
  }

  private unlink(entry: Entry): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
    entry.older = null;
    entry.newer = null;
  }
}

/**
 * A block that is a small view of a much larger buffer (a slice of a socket chunk holding many
 * frames) would keep the whole chunk alive while the cache counted only the slice: copy it out.
 */
function ownCopyIfShared(data: Buffer): Buffer {
  return data.buffer.byteLength > data.byteLength * 2 ? Buffer.from(data) : data;
}
