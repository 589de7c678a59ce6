/**
 * Where each append record of one segment lives: record start offset -> log file number + file
 * position of the block bytes. No payloads: a segment made of millions of small records costs 20
 * bytes per record here, in three parallel typed arrays that grow by doubling.
 *
 * Entries are kept in offset order (appends only ever add at the end). Truncation drops a prefix
 * by moving `first`; the arrays are compacted once the dead prefix is the larger part. Entry
 * numbers are therefore only stable until the next dropBefore: callers copy what they need out
 * (see entryAt) before awaiting anything.
 */
export interface IndexEntry {
  start: number;
  /** Offset just past the record's last event. */
  end: number;
  fileNumber: number;
  position: number;
}

/** Parallel arrays of live entries, as written to and read from a checkpoint. */
export interface IndexArrays {
  starts: Float64Array;
  fileNumbers: Uint32Array;
  positions: Float64Array;
}

const INITIAL_CAPACITY = 4;
/** Below this many dead entries compaction is not worth a copy. */
const COMPACT_THRESHOLD = 1024;

export class SegmentIndex {
  private starts: Float64Array;
  private fileNumbers: Uint32Array;
  private positions: Float64Array;
  private first = 0;
  private end = 0;

  constructor(arrays?: IndexArrays) {
    if (arrays) {
      this.starts = arrays.starts;
      this.fileNumbers = arrays.fileNumbers;
      this.positions = arrays.positions;
      this.end = arrays.starts.length;
    } else {
      this.starts = new Float64Array(INITIAL_CAPACITY);
      this.fileNumbers = new Uint32Array(INITIAL_CAPACITY);
      this.positions = new Float64Array(INITIAL_CAPACITY);
    }
  }

  /** Number of live entries. */
  get size(): number {
    return this.end - this.first;
  }

  add(start: number, fileNumber: number, position: number): void {
    if (this.end === this.starts.length) this.grow();
    this.starts[this.end] = start;
    this.fileNumbers[this.end] = fileNumber;
    this.positions[this.end] = position;
    this.end += 1;
  }

  /**
   * The live entry holding offset (the last whose start is at or below it), as an entry number for
   * entryAt; -1 when offset precedes every live entry or there are none.
   */
  locate(offset: number): number {
    let low = this.first;
    let high = this.end - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.starts[middle]! <= offset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** One past the last entry number: entries [firstEntry, endEntry) are live. */
  get firstEntry(): number {
    return this.first;
  }

  get endEntry(): number {
    return this.end;
  }

  startAt(entry: number): number {
    return this.starts[entry]!;
  }

  /** A copy of the entry; segmentLength closes the last record (whose end no later entry gives). */
  entryAt(entry: number, segmentLength: number): IndexEntry {
    return {
      start: this.starts[entry]!,
      end: entry + 1 < this.end ? this.starts[entry + 1]! : segmentLength,
      fileNumber: this.fileNumbers[entry]!,
      position: this.positions[entry]!,
    };
  }

  isRecordStart(offset: number): boolean {
    const entry = this.locate(offset);
    return entry >= 0 && this.starts[entry] === offset;
  }

  /** Number of live entries whose record starts below offset (the durable ones, given the durable length). */
  countStartingBelow(offset: number): number {
    const entry = this.locate(offset);
    if (entry < 0) return 0;
    // Starts are strictly increasing (records are never empty), so only this entry can start at offset.
    const lastBelow = this.starts[entry]! < offset ? entry : entry - 1;
    return lastBelow + 1 - this.first;
  }

  /** Drops every entry whose record ends at or before offset; segmentLength closes the last record. */
  dropBefore(offset: number, segmentLength: number): void {
    if (offset >= segmentLength) {
      this.first = this.end;
    } else {
      const entry = this.locate(offset);
      if (entry > this.first) this.first = entry;
    }
    if (this.first >= COMPACT_THRESHOLD && this.first * 2 >= this.end) this.compact();
  }

  /** The smallest file number any live entry points into, or null when there are none. */
  firstFileNumber(): number | null {
    return this.end > this.first ? this.fileNumbers[this.first]! : null;
  }

  /** Views (no copies) of the first `count` live entries, for a checkpoint written right away. */
  liveArrays(count: number): IndexArrays {
    const stop = this.first + count;
    return {
      starts: this.starts.subarray(this.first, stop),
      fileNumbers: this.fileNumbers.subarray(this.first, stop),
      positions: this.positions.subarray(this.first, stop),
    };
  }

  private grow(): void {
    const capacity = Math.max(INITIAL_CAPACITY, this.size * 2);
    this.resize(capacity);
  }

  private compact(): void {
    this.resize(Math.max(INITIAL_CAPACITY, this.size * 2));
  }

  private resize(capacity: number): void {
    const starts = new Float64Array(capacity);
    const fileNumbers = new Uint32Array(capacity);
    const positions = new Float64Array(capacity);
    starts.set(this.starts.subarray(this.first, this.end));
    fileNumbers.set(this.fileNumbers.subarray(this.first, this.end));
    positions.set(this.positions.subarray(this.first, this.end));
    this.starts = starts;
    this.fileNumbers = fileNumbers;
    this.positions = positions;
    this.end -= this.first;
    this.first = 0;
  }
}
