import { isEventBoundary, wholeEventsPrefix } from '@sluice/protocol';

import { BlockCache } from './block-cache.js';
import type { ContainerContext } from './container-context.js';
import { logFilePath } from './log-files.js';
import type { LogReader } from './log-reader.js';
import type { IndexEntry } from './segment-index.js';
import type { SegmentState } from './segment-state.js';
import { StoreError, type ReadResult } from './types.js';
import { CorruptRecordError, readVerifiedBlocks, type BlockPlace } from './verified-log-read.js';

const EMPTY = Buffer.alloc(0);

/** Misses in one file closer together than this are fetched with one read (the gap is read and dropped). */
const MAX_READ_GAP = 64 * 1024;

/**
 * Plans and fetches the reads of one container's durable data: which records hold a range, and
 * their blocks from the cache or else the log files (nearby misses in one file with one read),
 * each verified; a bad one is a DATA_CORRUPTION error naming the segment and offset. The container
 * checks the segment and the offsets first and merges the blocks into whole events (wholeEventsFrom).
 */
export class SegmentReads {
  constructor(
    private readonly context: ContainerContext,
    private readonly directory: string,
    private readonly reader: LogReader,
  ) {}

  /** The durable records holding [offset, offset + maxBytes); always at least the one holding offset. */
  recordsToRead(state: SegmentState, offset: number, durableLength: number, maxBytes: number): IndexEntry[] {
    const { index } = state;
    const first = index.locate(offset);
    if (first < 0) throw new Error(`segment ${state.name} has no index entry for offset ${offset}`);
    const stop = index.firstEntry + index.countStartingBelow(durableLength);
    const records: IndexEntry[] = [];
    for (let entry = first; entry < stop; entry++) {
      const start = index.startAt(entry);
      if (entry > first && start - offset >= maxBytes) break;
      records.push(index.entryAt(entry, state.accepted.length));
    }
    return records;
  }

  /** Each record's block, from the cache or else the log files (nearby misses in one file: one read). */
  async loadRecords(state: SegmentState, records: IndexEntry[]): Promise<Buffer[]> {
    const { cache } = this.context;
    const pieces = records.map((record) => cache.get(BlockCache.keyOf(this.context.id, state.id, record.start)));
    const reads: Array<Promise<void>> = [];
    let next = 0;
    while (next < records.length) {
      if (pieces[next] !== undefined) {
        next += 1;
        continue;
      }
      const first = next;
      const head = records[first]!;
      let runEnd = head.position + (head.end - head.start);
      let useful = head.end - head.start;
      for (next = first + 1; next < records.length && pieces[next] === undefined; next++) {
        const record = records[next]!;
        const gap = record.position - runEnd;
        if (record.fileNumber !== head.fileNumber || gap < 0 || gap > MAX_READ_GAP) break;
        // Stop when more than half of what would be read belongs to other segments.
        if (record.position - head.position - useful > useful + MAX_READ_GAP) break;
        runEnd = record.position + (record.end - record.start);
        useful += record.end - record.start;
      }
      const run = records.slice(first, next);
      reads.push(
        readVerifiedBlocks(this.reader, head.fileNumber, run.map(blockPlaceOf), runEnd).then(
          (blocks) => {
            for (const [k, block] of blocks.entries()) pieces[first + k] = block;
          },
          (error: unknown) => {
            throw error instanceof CorruptRecordError ? this.corruption(state, run, error) : error;
          },
        ),
      );
    }
    await Promise.all(reads);
    return pieces as Buffer[];
  }

  /**
   * The read of [offset, offset + maxBytes) when every record it needs is in the block cache, as
   * reads at the tail find it: no promise, no file. Null when a record is not cached or offset is
   * not where an event starts; the caller then reads with loadRecords, which fetches the misses or
   * reports the error.
   */
  readCached(state: SegmentState, offset: number, maxBytes: number): SegmentReadResult | null {
    const { length, sealed } = state.durable;
    const records = this.recordsToRead(state, offset, length, maxBytes);
    const { cache, id } = this.context;
    const keys = records.map((record) => BlockCache.keyOf(id, state.id, record.start));
    if (!keys.every((key) => cache.has(key))) return null;
    const parts = wholeEventsFrom(records, keys.map((key) => cache.get(key)!), offset, maxBytes);
    return parts === null ? null : new SegmentReadResult(offset, parts, length, sealed);
  }

  /** Throws INVALID_OFFSET unless offset, inside a record of the segment, is where an event starts (reads that record). */
  async requireEventBoundary(state: SegmentState, offset: number): Promise<void> {
    const entry = state.index.locate(offset);
    if (entry < 0) throw new Error(`segment ${state.name} has no index entry for offset ${offset}`);
    const record = state.index.entryAt(entry, state.accepted.length);
    const [data] = await this.loadRecords(state, [record]);
    if (!isEventBoundary(data!, offset - record.start)) {
      throw new StoreError('INVALID_OFFSET', `offset ${offset} of ${state.name} is not at an event boundary`, { length: state.accepted.length });
    }
  }

  /** A bad record read from the log: logged, counted, and a DATA_CORRUPTION error naming segment and offset. */
  private corruption(state: SegmentState, run: IndexEntry[], error: CorruptRecordError): StoreError {
    const { id, counters, options } = this.context;
    const record = run.find((entry) => entry.position === error.blockPosition) ?? run[0]!;
    const file = logFilePath(this.directory, error.fileNumber);
    counters.corruptReads += 1;
    options.logger.error(
      { container: id, segment: state.name, offset: record.start, file, position: error.blockPosition },
      'corrupt record in a log file',
    );
    return new StoreError(
      'DATA_CORRUPTION',
      `segment ${state.name} is corrupt at offset ${record.start}: its record at byte ${error.blockPosition} of ${file} ` +
        `(container ${id}) fails its CRC. Nothing from it is served; restore the container from a backup, or stop ` +
        'the node and run `sluice-server repair` to cut the log at the first bad record it finds after the checkpoint',
      { corruptOffset: record.start },
    );
  }
}

/**
 * Whole events from offset, up to maxBytes (at least one event), across the given records: views of
 * the records' blocks, not joined (a read reply writes them as they are). Null when offset falls
 * inside an event.
 */
export function wholeEventsFrom(records: IndexEntry[], pieces: Buffer[], offset: number, maxBytes: number): Buffer[] | null {
  const parts: Buffer[] = [];
  let total = 0;
  for (let k = 0; k < records.length; k++) {
    let data = pieces[k]!;
    if (k === 0 && offset > records[0]!.start) {
      const within = offset - records[0]!.start;
      if (!isEventBoundary(data, within)) return null;
      data = data.subarray(within);
    }
    const budget = maxBytes - total;
    const take = wholeEventsPrefix(data, budget);
    // wholeEventsPrefix always gives one event; past the first record that one must fit too.
    if (take === 0 || (total > 0 && take > budget)) break;
    parts.push(data.subarray(0, take));
    total += take;
    if (take < data.byteLength) break;
  }
  return parts;
}

/**
 * What a read found: the parts as they are, one buffer of them only when asked (`data`). Joining a
 * 1 MiB reply's blocks into fresh memory was a third of a node's CPU while serving a catch-up read.
 */
export class SegmentReadResult implements ReadResult {
  readonly byteLength: number;
  readonly endOfSegment: boolean;
  #data: Buffer | null;

  /** parts from offset of a segment whose durable length is length; sealed: the segment is sealed. */
  constructor(
    readonly offset: number,
    readonly parts: readonly Buffer[],
    readonly length: number,
    sealed: boolean,
  ) {
    let bytes = 0;
    for (const part of parts) bytes += part.byteLength;
    this.byteLength = bytes;
    this.endOfSegment = sealed && offset + bytes === length;
    this.#data = parts.length === 1 ? parts[0]! : parts.length === 0 ? EMPTY : null;
  }

  get data(): Buffer {
    this.#data ??= Buffer.concat(this.parts, this.byteLength);
    return this.#data;
  }
}

function blockPlaceOf(record: IndexEntry): BlockPlace {
  return { position: record.position, length: record.end - record.start };
}
