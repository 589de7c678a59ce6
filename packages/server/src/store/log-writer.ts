import { constants } from 'node:fs';

import { diskFailureOf, ShortWriteError } from './disk-full.js';
import { logFilePath, type LogPosition } from './log-files.js';
import { nodeLogIo, type LogFile, type LogIo } from './log-io.js';
import type { EncodedRecord } from './record-codec.js';
import { RETURN_DEADLINE_MS, ReturningWriters } from './returning-writers.js';

/** Shared by the containers of a store: whether any of them is writing right now. */
export interface DiskActivity {
  writesInFlight: number;
}

/**
 * A group this small, written while no other log write is in progress, is written synchronously:
 * the thread pool's round trip costs more than the write itself (about 70 µs of an awaited append's
 * latency here), and with nothing else in flight there is nothing for the event loop to overlap.
 * Under load writes overlap, groups grow, and they go to the thread pool.
 */
const SYNC_WRITE_MAX_BYTES = 64 * 1024;

/**
 * The open log file is kept up to this much longer than its records (its size set ahead, the rest
 * reading as zeros). An O_DSYNC write past a file's size must also commit the new size to the file
 * system's journal, a second trip to the disk for every append; a write inside the size skips that
 * unless it is the first in a block (docs/benchmarks.md, "Session 9: log files sized ahead").
 * Recovery takes a tail of zeros as the log's end; a file the log leaves, or closes, is cut back to
 * its records first, so only the newest file can have one.
 */
const ROOM_AHEAD_BYTES = 1024 * 1024;

/** Called once the record is durable (no argument) or can never be (the log failed). */
export type SettleRecord = (error?: Error) => void;

interface QueuedRecord {
  chunks: Buffer[];
  byteLength: number;
  fileNumber: number;
  position: number;
  settle: SettleRecord;
  /** The writer that appended the record, when it names itself (see ReturningWriters). */
  origin?: string;
}

export interface LogWriterOptions {
  directory: string;
  /** A file rolls over to the next number once a record would take it past this size. */
  logFileBytes: number;
  /** False only for tests: records are written but never fsynced. */
  fsync: boolean;
  /** fsyncs: log writes that returned once on disk; syncs: those and the directory syncs. */
  counters: { fsyncs: number; syncs: number };
  /** Default node:fs; tests record or hold the log's writes. */
  io?: LogIo;
  /** Which writers group commit waits for (default: one on the real clock; tests give a fake clock). */
  returning?: ReturningWriters;
  /** Log writes in progress on the thread pool, across every container of the node. */
  activity: DiskActivity;
  /**
   * Called synchronously after each group of records has been settled, with the durable end of
   * the log and the bytes the group added. Nothing else can change durable state in between, so a
   * checkpoint taken here matches that log position exactly.
   */
  onDurable?: (end: LogPosition, bytes: number) => void;
  /** Called once when the log fails for good (every later call fails with that error). */
  onFailed?: (error: Error) => void;
}

/**
 * The append side of one container's log, with group commit. Positions are assigned when a record
 * is appended (synchronously, in call order); the bytes go out later. While one write+fdatasync is
 * in progress, new records queue up; the next round writes the whole queue with one writev per file
 * and one fdatasync, then settles every record in it. Under load, one fsync covers many appends.
 */
export class LogWriter {
  /** A log of its own: everything durable in it is acknowledged, so checkpoints may cover all of it. */
  readonly checkpointable = true;
  private queue: QueuedRecord[] = [];
  private flushing = false;
  private failure: Error | null = null;
  private closed = false;
  /** Where the next appended record goes. */
  private readonly tail: LogPosition;
  private durableEnd: LogPosition;
  private readonly returning: ReturningWriters;
  private returnDeadline: NodeJS.Timeout | null = null;
  /** The open file's size, which may run ahead of its records (ROOM_AHEAD_BYTES). */
  private handleBytes: number;
  /** Where the open file's records end. */
  private handleEnd: number;

  private constructor(
    private readonly options: LogWriterOptions,
    private readonly io: LogIo,
    private handle: LogFile,
    private handleFileNumber: number,
    end: LogPosition,
  ) {
    this.tail = { ...end };
    this.durableEnd = { ...end };
    this.handleBytes = handle.openedBytes;
    this.handleEnd = end.position;
    this.returning = options.returning ?? new ReturningWriters();
  }

  /** Opens the log to append at end (the file is created when it does not exist yet). */
  static async open(end: LogPosition, options: LogWriterOptions): Promise<LogWriter> {
    const io = options.io ?? nodeLogIo;
    const path = logFilePath(options.directory, end.fileNumber);
    let handle: LogFile;
    try {
      handle = await io.open(path, openFlags(options.fsync, false));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      handle = await io.open(path, openFlags(options.fsync, true));
      if (options.fsync) {
        await io.syncDirectory(options.directory);
        options.counters.syncs += 1;
      }
    }
    return new LogWriter(options, io, handle, end.fileNumber, end);
  }

  get durablePosition(): LogPosition {
    return { ...this.durableEnd };
  }

  /** The error that stopped the log, if any: nothing more can be made durable after one. */
  get failed(): Error | null {
    return this.failure;
  }

  /**
   * Queues the record and returns where it starts; settle is called after the fsync covering it.
   * `origin` names the writer that appended it, so that group commit can wait for writers it has just
   * acknowledged (see ReturningWriters).
   */
  append(record: EncodedRecord, settle: SettleRecord, origin?: string): LogPosition {
    this.checkWritable();
    if (this.tail.position > 0 && this.tail.position + record.byteLength > this.options.logFileBytes) this.rollTail();
    return this.enqueue(record, settle, origin);
  }

  /**
   * For a replica: queues records another replica wrote at `at`, so both logs stay byte-identical.
   * `at` must be this log's end, or the start of the next file (the writer of the records rolled
   * over there); returns false and queues nothing otherwise.
   */
  appendAt(at: LogPosition, record: EncodedRecord, settle: SettleRecord): boolean {
    this.checkWritable();
    const rolls = at.fileNumber === this.tail.fileNumber + 1 && at.position === 0 && this.tail.position > 0;
    if (!rolls && (at.fileNumber !== this.tail.fileNumber || at.position !== this.tail.position)) return false;
    if (rolls) this.rollTail();
    this.enqueue(record, settle);
    return true;
  }

  /** Where the next record goes: the end of the log including records not yet durable. */
  get endPosition(): LogPosition {
    return { ...this.tail };
  }

  private checkWritable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('the log writer is closed');
  }

  private rollTail(): void {
    this.tail.fileNumber += 1;
    this.tail.position = 0;
  }

  private enqueue(record: EncodedRecord, settle: SettleRecord, origin?: string): LogPosition {
    const at = { ...this.tail };
    this.queue.push({ chunks: record.chunks, byteLength: record.byteLength, fileNumber: at.fileNumber, position: at.position, settle, origin });
    this.tail.position += record.byteLength;
    if (this.returning.arrived(origin)) {
      this.stopWaiting();
      // After this loop turn's I/O phase: the other writers whose appends arrived with this one join too.
      setImmediate(this.flushQueued);
    } else {
      this.scheduleFlush();
    }
    return at;
  }

  /** Waits (flushing stays set, so appends only queue) until returning writers are back or the deadline. */
  private waitForReturningWriters(): void {
    this.returnDeadline = setTimeout(() => {
      this.returnDeadline = null;
      this.returning.deadlinePassed();
      this.flushQueued();
    }, RETURN_DEADLINE_MS);
  }

  private stopWaiting(): void {
    if (this.returnDeadline !== null) clearTimeout(this.returnDeadline);
    this.returnDeadline = null;
  }

  /** Resolves once every record appended before the call is durable (at once when none is pending). */
  whenDurable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.flushing && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // An empty record rides along with the next group and is settled with it.
      this.queue.push({
        chunks: [],
        byteLength: 0,
        fileNumber: this.tail.fileNumber,
        position: this.tail.position,
        settle: (error) => (error ? reject(error) : resolve()),
      });
      this.scheduleFlush();
    });
  }

  /** Waits for pending records, then closes the file. Later appends throw. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.whenDurable().catch(() => undefined);
    this.closed = true;
    try {
      if (!this.failure) await this.cutRoom();
      await this.handle.close();
    } catch (error) {
      // After a failure the handle may be unusable already; the failure was reported to every caller.
      if (!this.failure) throw error;
    }
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    // After the event loop's I/O phase, not at the next microtask: appends from every connection
    // whose data arrived in this loop turn join the first group, not only those of one socket chunk.
    setImmediate(this.flushQueued);
  }

  /**
   * Writes the queue group by group and settles each group's records. A group written synchronously
   * (see write) is settled in this same call, with no promise in between; the first group that needs
   * the thread pool or a new file continues asynchronously, and the loop goes on after it.
   */
  private readonly flushQueued = (): void => {
    let waiting = false;
    try {
      while (this.queue.length > 0) {
        if (this.returning.shouldWait(this.queue)) {
          waiting = true;
          this.waitForReturningWriters();
          return;
        }
        const group = this.queue;
        this.queue = [];
        let written: number | Promise<number>;
        try {
          written = this.writeGroup(group);
        } catch (error) {
          this.fail(error as Error, group);
          return;
        }
        if (typeof written !== 'number') {
          waiting = true;
          written.then(
            (bytes) => {
              try {
                this.settleGroup(group, bytes);
              } catch (error) {
                this.flushing = false;
                throw error;
              }
              this.flushQueued();
            },
            (error: unknown) => {
              this.fail(error as Error, group);
              this.flushing = false;
            },
          );
          return;
        }
        this.settleGroup(group, written);
      }
    } finally {
      if (!waiting) this.flushing = false;
    }
  };

  private settleGroup(group: QueuedRecord[], bytes: number): void {
    const last = group[group.length - 1]!;
    this.durableEnd = { fileNumber: last.fileNumber, position: last.position + last.byteLength };
    for (const record of group) record.settle();
    this.returning.acknowledge(group);
    this.options.onDurable?.(this.durableEnd, bytes);
  }

  /**
   * One synchronous-data writev per file the group touches (usually one). Returns the bytes written,
   * at once when the group went out in one synchronous write (one file, the open one), else a promise.
   */
  private writeGroup(group: QueuedRecord[]): number | Promise<number> {
    const run = collectRun(group, 0);
    if (run.end === group.length && run.fileNumber === this.handleFileNumber && this.writesSync(run.bytes)) {
      if (run.bytes > 0) {
        this.makeRoom(run);
        this.checkWritten(this.handle.writevSync(run.chunks, run.position), run);
      }
      return run.bytes;
    }
    return this.writeGroupAsync(group, run);
  }

  /** Writes the group run by run, from its first run (already collected). */
  private async writeGroupAsync(group: QueuedRecord[], first: Run): Promise<number> {
    let written = 0;
    for (let run = first; ; run = collectRun(group, run.end)) {
      if (run.bytes > 0) {
        if (run.fileNumber !== this.handleFileNumber) await this.rollTo(run.fileNumber);
        this.makeRoom(run);
        this.checkWritten(await this.write(run.chunks, run.bytes, run.position), run);
        written += run.bytes;
      }
      if (run.end === group.length) return written;
    }
  }

  private checkWritten(bytesWritten: number, run: Run): void {
    if (bytesWritten !== run.bytes) {
      throw new ShortWriteError(`short write to log file ${run.fileNumber}: ${bytesWritten} of ${run.bytes} bytes at ${run.position}`);
    }
    this.handleEnd = run.position + run.bytes;
    // With O_DSYNC the writev returned only once its data was on disk: that was the fsync.
    if (this.handle.syncsEachWrite) {
      this.options.counters.fsyncs += 1;
      this.options.counters.syncs += 1;
    }
  }

  /** Whether a write of this many bytes goes out synchronously on the event loop. */
  private writesSync(bytes: number): boolean {
    return this.options.activity.writesInFlight === 0 && bytes <= SYNC_WRITE_MAX_BYTES;
  }

  private async write(chunks: Buffer[], bytes: number, position: number): Promise<number> {
    if (this.writesSync(bytes)) return this.handle.writevSync(chunks, position);
    const { activity } = this.options;
    activity.writesInFlight += 1;
    try {
      return await this.handle.writev(chunks, position);
    } finally {
      activity.writesInFlight -= 1;
    }
  }

  /** Sizes the open file ahead when the run would take it past its size (see ROOM_AHEAD_BYTES). */
  private makeRoom(run: Run): void {
    const end = run.position + run.bytes;
    if (end <= this.handleBytes) return;
    // Never past the size at which the log rolls over, unless one run alone goes beyond it.
    const bytes = Math.max(end, Math.min(end + ROOM_AHEAD_BYTES, this.options.logFileBytes));
    this.handle.resizeSync(bytes);
    this.handleBytes = bytes;
  }

  /** Cuts the open file back to its records (durably, with fsync on). */
  private async cutRoom(): Promise<void> {
    if (this.handleBytes <= this.handleEnd) return;
    await this.handle.cut(this.handleEnd);
    this.handleBytes = this.handleEnd;
  }

  /**
   * The previous file is already fsynced (every run is) and is cut back to its records before the
   * next one holds a byte; the new one's name must be durable too.
   */
  private async rollTo(fileNumber: number): Promise<void> {
    await this.cutRoom();
    await this.handle.close();
    this.handle = await this.io.open(logFilePath(this.options.directory, fileNumber), openFlags(this.options.fsync, true));
    this.handleFileNumber = fileNumber;
    this.handleBytes = this.handle.openedBytes;
    this.handleEnd = 0;
    if (this.options.fsync) {
      await this.io.syncDirectory(this.options.directory);
      this.options.counters.syncs += 1;
    }
  }

  private fail(error: Error, group: QueuedRecord[]): void {
    this.failure = diskFailureOf(error, this.options.directory);
    error = this.failure;
    this.options.onFailed?.(error);
    const stranded = [...group, ...this.queue];
    this.queue = [];
    for (const record of stranded) record.settle(error);
  }
}

/** The records of a group from `start` that go to one file, one after the other: one writev. */
interface Run {
  fileNumber: number;
  position: number;
  chunks: Buffer[];
  bytes: number;
  /** The index of the first record after the run. */
  end: number;
}

function collectRun(group: QueuedRecord[], start: number): Run {
  const { fileNumber, position } = group[start]!;
  const chunks: Buffer[] = [];
  let bytes = 0;
  let end = start;
  for (; end < group.length && group[end]!.fileNumber === fileNumber; end++) {
    const record = group[end]!;
    for (const chunk of record.chunks) chunks.push(chunk);
    bytes += record.byteLength;
  }
  return { fileNumber, position, chunks, bytes, end };
}

/**
 * With fsync on, log files are opened O_DSYNC: each writev returns once its data is durable, like a
 * write followed by fdatasync, in one trip to the thread pool instead of two. That trip is most of
 * an awaited append's latency.
 */
function openFlags(fsync: boolean, create: boolean): number {
  const base = create ? constants.O_RDWR | constants.O_CREAT | constants.O_EXCL : constants.O_RDWR;
  return fsync ? base | constants.O_DSYNC : base;
}
