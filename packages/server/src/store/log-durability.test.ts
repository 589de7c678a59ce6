import { constants } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { nodeLogIo, type LogFile, type LogIo } from './log-io.js';
import { containerDirectory } from './log-files.js';
import { LogWriter, type LogWriterOptions } from './log-writer.js';
import { ReturningWriters } from './returning-writers.js';
import { block, openTestStore, TempDirs } from '../../test-support/store.js';
import type { SegmentStore } from './types.js';

const dirs = new TempDirs();
const stores: SegmentStore[] = [];
const ios: WatchedLogIo[] = [];
afterEach(async () => {
  // A held write would keep close() waiting: let it finish first.
  for (const io of ios.splice(0)) io.release();
  await Promise.allSettled(stores.splice(0).map((store) => store.close()));
  await dirs.cleanup();
});

/**
 * The real file calls, watched: the flags each log file was opened with, each write as it returns,
 * and, while `holding`, writes through the thread pool that return only when the test says so.
 */
class WatchedLogIo implements LogIo {
  readonly openFlags: number[] = [];
  readonly events: string[] = [];
  /** Every call that changes a file, with the file's name: 'log-….log wrote 20', '… sized 65536', '… cut 20'. */
  readonly fileOps: string[] = [];
  holding = false;
  /** Bytes each write reports less than it wrote (a disk that took only part of it). */
  shortBy = 0;
  private held: Array<() => void> = [];
  private onHeld: (() => void) | null = null;

  constructor() {
    ios.push(this);
  }

  async open(path: string, flags: number): Promise<LogFile> {
    this.openFlags.push(flags);
    const file = await nodeLogIo.open(path, flags);
    const name = basename(path);
    return {
      ...file,
      resizeSync: (bytes) => {
        file.resizeSync(bytes);
        this.fileOps.push(`${name} sized ${bytes}`);
      },
      cut: async (bytes) => {
        await file.cut(bytes);
        this.fileOps.push(`${name} cut ${bytes}`);
      },
      writevSync: (chunks, position) => {
        const written = file.writevSync(chunks, position);
        this.events.push(`wrote ${written}`);
        this.fileOps.push(`${name} wrote ${written}`);
        return written - this.shortBy;
      },
      writev: async (chunks, position) => {
        const written = await file.writev(chunks, position);
        if (this.holding) {
          await new Promise<void>((resolve) => {
            this.held.push(resolve);
            this.onHeld?.();
          });
        }
        this.events.push(`wrote ${written}`);
        this.fileOps.push(`${name} wrote ${written}`);
        return written - this.shortBy;
      },
    };
  }

  syncDirectory(directory: string): Promise<void> {
    return nodeLogIo.syncDirectory(directory);
  }

  /** Resolves once a write is being held. */
  writeHeld(): Promise<void> {
    if (this.held.length > 0) return Promise.resolve();
    return new Promise((resolve) => (this.onHeld = resolve));
  }

  release(): void {
    this.holding = false;
    for (const resume of this.held.splice(0)) resume();
  }
}

/** Lets timers, I/O callbacks and microtasks run for a while. */
const settleFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('log durability', () => {
  it("opens every log file O_DSYNC with fsync 'always', so each write returns once on disk", async () => {
    const io = new WatchedLogIo();
    const store = await openTestStore(await dirs.make(), { fsync: 'always', logIo: io, logFileBytes: 4096 });
    stores.push(store);
    const container = store.container(0);
    await container.createSegment('s/t/0');
    // Past logFileBytes the log rolls over: the new file must be opened the same way.
    for (let n = 0; n < 4; n++) await container.append('s/t/0', block('x'.repeat(3000)), 1);
    expect(io.openFlags.length).toBeGreaterThanOrEqual(2);
    for (const flags of io.openFlags) expect(flags & constants.O_DSYNC).toBe(constants.O_DSYNC);
    expect(store.stats().fsyncs).toBe(5);
  });

  it('sizes the open log file ahead of its records and cuts it back to them before the next file, and at close', async () => {
    const io = new WatchedLogIo();
    const dataDir = await dirs.make();
    const store = await openTestStore(dataDir, { fsync: 'always', logIo: io, logFileBytes: 16 * 1024 });
    stores.push(store);
    const container = store.container(0);
    await container.createSegment('s/t/0');
    await container.append('s/t/0', block('x'.repeat(100)), 1);
    const [first] = io.fileOps;
    const file = first!.split(' ')[0]!;
    const path = join(containerDirectory(dataDir, 0), file);
    // An O_DSYNC write inside the file's size need not commit a new size: the file runs ahead, never past a roll-over.
    expect(first).toBe(`${file} sized ${16 * 1024}`);
    expect((await stat(path)).size).toBe(16 * 1024);

    for (let n = 0; n < 4; n++) await container.append('s/t/0', block('y'.repeat(6000)), 1);
    const written = io.fileOps.filter((op) => op.startsWith(`${file} wrote`)).reduce((sum, op) => sum + Number(op.split(' ')[2]), 0);
    // Cut back to exactly its records, before the next file's first byte: recovery trusts only the newest file's zeros.
    const cutAt = io.fileOps.indexOf(`${file} cut ${written}`);
    expect(cutAt).toBeGreaterThan(0);
    expect(io.fileOps.slice(0, cutAt).every((op) => op.startsWith(file))).toBe(true);
    expect(io.fileOps.slice(cutAt + 1).every((op) => !op.startsWith(file))).toBe(true);
    expect((await stat(path)).size).toBe(written);

    const last = io.fileOps.at(-1)!.split(' ')[0]!;
    const lastWritten = io.fileOps.filter((op) => op.startsWith(`${last} wrote`)).reduce((sum, op) => sum + Number(op.split(' ')[2]), 0);
    expect((await stat(join(containerDirectory(dataDir, 0), last))).size).toBeGreaterThan(lastWritten);
    await store.close();
    expect(io.fileOps.at(-1)).toBe(`${last} cut ${lastWritten}`);
    expect((await stat(join(containerDirectory(dataDir, 0), last))).size).toBe(lastWritten);
  });

  it('acknowledges no append before the write carrying it has returned from the disk', async () => {
    const io = new WatchedLogIo();
    const store = await openTestStore(await dirs.make(), { fsync: 'always', logIo: io });
    stores.push(store);
    const container = store.container(0);
    await container.createSegment('s/t/0');

    // Over 64 KiB, so the write goes through the thread pool, where the test holds it.
    io.holding = true;
    const before = io.events.length;
    const big = block('b'.repeat(100 * 1024));
    const append = container.append('s/t/0', big, 1).then(() => io.events.push('acknowledged'));
    await io.writeHeld();
    await settleFor(50);
    expect(io.events.slice(before)).toEqual([]);
    expect(container.getInfo('s/t/0').length).toBe(0);

    io.release();
    await append;
    const [wrote, acknowledged, ...rest] = io.events.slice(before);
    expect(Number(wrote!.split(' ')[1])).toBeGreaterThan(big.length);
    expect([acknowledged, ...rest]).toEqual(['acknowledged']);
    expect(container.getInfo('s/t/0').length).toBe(big.length);
  });

  it("tells a writer its last durable event, not one still being written (what SetupAppend answers)", async () => {
    const io = new WatchedLogIo();
    const store = await openTestStore(await dirs.make(), { fsync: 'always', logIo: io });
    stores.push(store);
    const container = store.container(0);
    await container.createSegment('s/t/0');
    const writer = (last: number) => ({ writer: { writerId: 'w1', lastEventNumber: last, eventCount: 1 } });
    await container.append('s/t/0', block('first'), 1, writer(0));
    expect(container.lastEventNumber('s/t/0', 'w1')).toBe(0);

    io.holding = true;
    const second = container.append('s/t/0', block('b'.repeat(100 * 1024)), 1, writer(1));
    const newcomer = container.append('s/t/0', block('n'), 1, { writer: { writerId: 'w2', lastEventNumber: 0, eventCount: 1 } });
    await io.writeHeld();
    expect(container.lastEventNumber('s/t/0', 'w1')).toBe(0);
    expect(container.lastEventNumber('s/t/0', 'w2')).toBe(-1);
    // Dedup already counts the block in flight: a resend of it waits for the same write.
    const resent = container.append('s/t/0', block('b'.repeat(100 * 1024)), 1, writer(1));
    io.release();
    await second;
    expect((await resent).duplicate).toBe(true);
    expect(container.lastEventNumber('s/t/0', 'w1')).toBe(1);
    await newcomer;
    expect(container.lastEventNumber('s/t/0', 'w2')).toBe(0);
  });
});

/** Raw bytes as one record: the log writer frames nothing, it only places and syncs what it is given. */
const record = (bytes: number) => ({ chunks: [Buffer.alloc(bytes, 0x78)], byteLength: bytes });
/** Over SYNC_WRITE_MAX_BYTES, so its write goes through the thread pool, where WatchedLogIo can hold it. */
const POOLED = 100 * 1024;

async function openLog(io: WatchedLogIo, options: Partial<LogWriterOptions> = {}): Promise<LogWriter> {
  return LogWriter.open(
    { fileNumber: 0, position: 0 },
    { directory: await dirs.make(), logFileBytes: 1024 * 1024, fsync: true, counters: { fsyncs: 0, syncs: 0 }, io, activity: { writesInFlight: 0 }, ...options },
  );
}

const durable = (log: LogWriter, bytes: number): Promise<void> =>
  new Promise((resolve, reject) => log.append(record(bytes), (error) => (error ? reject(error) : resolve())));

describe('the log writer', () => {
  it('fills a file exactly before rolling to the next, and never rolls an empty file, even for a record larger than a file', async () => {
    const log = await openLog(new WatchedLogIo(), { logFileBytes: 100 });
    expect(log.append(record(150), () => {})).toEqual({ fileNumber: 0, position: 0 }); // alone in its file: no empty file before it
    expect(log.append(record(10), () => {})).toEqual({ fileNumber: 1, position: 0 });
    expect(log.append(record(90), () => {})).toEqual({ fileNumber: 1, position: 10 }); // 10 + 90 = 100: still fits
    expect(log.append(record(1), () => {})).toEqual({ fileNumber: 2, position: 0 });
    await log.whenDurable();
    await log.close();
  });

  it('whenDurable waits for a group that is being written, not only for queued records', async () => {
    const io = new WatchedLogIo();
    const log = await openLog(io);
    io.holding = true;
    let appended = false;
    void durable(log, POOLED).then(() => (appended = true));
    await io.writeHeld(); // the group left the queue and is on its way to the disk
    let caughtUp = false;
    const waiting = log.whenDurable().then(() => (caughtUp = true));
    await settleFor(30);
    expect(caughtUp).toBe(false);
    io.release();
    await waiting;
    expect(appended).toBe(true);
    await log.close();
  });

  it('counts each O_DSYNC write as an fsync and a sync, beside the directory sync of a new file', async () => {
    const counters = { fsyncs: 0, syncs: 0 };
    const log = await openLog(new WatchedLogIo(), { counters });
    expect(counters).toEqual({ fsyncs: 0, syncs: 1 }); // the new file's directory entry
    await durable(log, 10);
    await durable(log, POOLED);
    expect(counters).toEqual({ fsyncs: 2, syncs: 3 });
    await log.close();
  });

  it('fails a short write as DISK_FULL naming file, bytes and position, and refuses every later append', async () => {
    const io = new WatchedLogIo();
    io.shortBy = 7;
    const log = await openLog(io);
    const error = await durable(log, POOLED).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toMatchObject({ code: 'DISK_FULL' });
    expect((error as Error).message).toContain(`(short write to log file 0: ${POOLED - 7} of ${POOLED} bytes at 0)`);
    expect(log.failed).toBe(error);
    expect(() => log.append(record(1), () => {})).toThrow();
  });

  it('fails a short synchronous write (a small group) the same way, with the records queued behind it', async () => {
    const io = new WatchedLogIo();
    io.shortBy = 3;
    const log = await openLog(io);
    const outcomes = await Promise.allSettled([durable(log, 10), durable(log, 20)]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    const error = (outcomes[0] as PromiseRejectedResult).reason as Error;
    expect(error).toMatchObject({ code: 'DISK_FULL' });
    expect(error.message).toContain('(short write to log file 0: 27 of 30 bytes at 0)');
    expect((outcomes[1] as PromiseRejectedResult).reason).toBe(error);
    expect(() => log.append(record(1), () => {})).toThrow();
  });

  it('settles records in append order across thread-pool and synchronous groups, and writes again after both', async () => {
    const io = new WatchedLogIo();
    const log = await openLog(io);
    const settled: string[] = [];
    const append = (name: string, bytes: number): Promise<void> => durable(log, bytes).then(() => void settled.push(name));
    io.holding = true;
    const big = append('big', POOLED); // too large to write on the event loop: the thread pool
    await io.writeHeld();
    const small = [append('a', 10), append('b', 20)]; // queued behind it, one small group after it
    await settleFor(20);
    expect(settled).toEqual([]);
    io.release();
    await Promise.all([big, ...small]);
    expect(settled).toEqual(['big', 'a', 'b']);
    expect(io.events).toEqual([`wrote ${POOLED}`, 'wrote 30']);
    await append('c', 5); // the loop ended cleanly: a new group is written
    expect(settled).toEqual(['big', 'a', 'b', 'c']);
    expect(io.events.at(-1)).toBe('wrote 5');
    await log.close();
  });

  describe('with writers that await each append', () => {
    /** A log whose group commit runs on a stopped clock: every decision falls inside its window. */
    async function openAwaitedLog(io: WatchedLogIo) {
      const log = await openLog(io, { returning: new ReturningWriters(() => 0) });
      const append = (origin: string): Promise<void> =>
        new Promise((resolve, reject) => log.append(record(10), (error) => (error ? reject(error) : resolve()), origin));
      return { log, append };
    }
    const loopTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    it('holds the next group for a writer it has just acknowledged, so two writers share one write instead of alternating', async () => {
      const io = new WatchedLogIo();
      const { log, append } = await openAwaitedLog(io);
      await Promise.all([append('a'), append('b')]);
      expect(io.events).toEqual(['wrote 20']);
      // The wait's 1 ms deadline is a real timer: on a loaded machine two loop turns can outlast it.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const b = append('b');
        await loopTurn();
        await loopTurn();
        expect(io.events).toHaveLength(1); // b waits: a was acknowledged with it and comes back
        await Promise.all([b, append('a')]);
      } finally {
        vi.useRealTimers();
      }
      expect(io.events).toEqual(['wrote 20', 'wrote 20']);
      await log.close();
    });

    it('writes a lone writer at once, with nobody to wait for', async () => {
      const io = new WatchedLogIo();
      const { log, append } = await openAwaitedLog(io);
      await append('a');
      const again = append('a');
      await loopTurn(); // the flush scheduled by the append runs before this turn ends
      expect(io.events).toEqual(['wrote 10', 'wrote 10']);
      await again;
      await log.close();
    });

    it('writes at the deadline when an acknowledged writer does not come back', async () => {
      const io = new WatchedLogIo();
      const { log, append } = await openAwaitedLog(io);
      await Promise.all([append('gone'), append('b')]);
      await append('b');
      expect(io.events).toEqual(['wrote 20', 'wrote 10']);
      await log.close();
    });
  });
});
