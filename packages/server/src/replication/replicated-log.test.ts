import { access, readFile } from 'node:fs/promises';
import v8 from 'node:v8';
import vm from 'node:vm';

import type { Command, CommandOf, ReplicationRequestName } from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';

import { SegmentContainer } from '../store/container.js';
import { EpochHistory } from '../store/epoch-history.js';
import { comparePositions, containerDirectory, listLogFiles, logFilePath, type LogPosition } from '../store/log-files.js';
import { CHECKPOINT_FILE, loadCheckpoint } from '../store/checkpoint.js';
import { nodeLogIo, type LogFile, type LogIo } from '../store/log-io.js';
import { scanLogFile } from '../store/log-scanner.js';
import type { StoreOptions } from '../store/types.js';
import { block, openContainer, recordingLogger, TempDirs, testOptions, texts } from '../../test-support/store.js';
import { cutDivergentTail } from './divergent-tail.js';
import { FencedError, NotEnoughReplicasError } from './errors.js';
import type { PeerLink, PeerRequest, ReplicationReplies } from './peer-link.js';
import { promote, type Promotion } from './promotion.js';
import { ReplicatedLog } from './replicated-log.js';
import { serveReplicationRequest, type ReplicationRequest } from './serve.js';

const ACK_TIMEOUT_MS = 400;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
/** A full collection once the current job is over (a WeakRef holds its target until then). */
async function collectGarbage(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

/** What holdIf sees of a request: its type, and for Replicate where its records start and their bytes. */
interface HeldRequest {
  type: string;
  position?: number;
  data?: Buffer;
}

interface Replica {
  name: string;
  dataDir: string;
  container: SegmentContainer;
  log: ReplicatedLog;
}

/** Three (or more) replicas of container 0 in one process, linked in memory; a replica can be cut off. */
class Cluster {
  readonly replicas = new Map<string, Replica>();
  readonly unreachable = new Set<string>();
  /** Requests it returns true for wait (a slow or paused node) until it no longer does. */
  holdIf: (to: string, command: HeldRequest) => boolean = () => false;
  /** Requests waiting in holdIf right now. */
  waiting = 0;
  readonly deposed: string[] = [];
  readonly divergent = new Map<string, LogPosition>();
  /** Whom each backup follows, at which epoch: a replica reopened from a snapshot follows again. */
  private readonly following = new Map<string, { primary: string; epoch: number }>();
  /** Reopens of replicas that received a snapshot (what the node does on onSnapshotReceived). */
  private readonly reopening = new Set<Promise<unknown>>();
  /** Replicas that received a snapshot, in order. */
  readonly snapshotsReceived: string[] = [];
  private readonly dirs = new TempDirs();

  async start(...names: string[]): Promise<void> {
    for (const name of names) await this.open(name, await this.dirs.make(), this.overrides);
  }

  /** Starts `name` with its own store options (a log io of the test's). */
  async startWith(name: string, overrides: Partial<StoreOptions>): Promise<void> {
    await this.open(name, await this.dirs.make(), { ...this.overrides, ...overrides });
  }

  constructor(
    readonly overrides: Partial<StoreOptions> = {},
    private readonly ackTimeoutMs = ACK_TIMEOUT_MS,
  ) {}

  async open(name: string, dataDir: string, overrides: Partial<StoreOptions> = {}): Promise<Replica> {
    let log: ReplicatedLog | null = null;
    const options = testOptions(dataDir, {
      ...overrides,
      replication: {
        attach: async (container) => {
          const history = await EpochHistory.load(container.directory, false);
          log = new ReplicatedLog(container, history, {
            ackTimeoutMs: this.ackTimeoutMs,
            logger: recordingLogger(),
            sync: false,
            onDeposed: () => void this.deposed.push(name),
            onDivergentTail: (_id, end) => void this.divergent.set(name, end),
            onSnapshotReceived: () => void this.reopenFromSnapshot(name),
          });
          return log;
        },
      },
    });
    const container = await openContainer(options);
    const replica = { name, dataDir, container, log: log! };
    this.replicas.set(name, replica);
    return replica;
  }

  get(name: string): Replica {
    return this.replicas.get(name)!;
  }

  link(to: string): PeerLink {
    return {
      node: to,
      request: async <N extends ReplicationRequestName>(sent: PeerRequest<N>, trailing?: readonly Buffer[]) => {
        // What the receiving node decodes: the trailing parts are the command's bytes field.
        const command = trailing === undefined ? sent : { ...sent, data: Buffer.concat(trailing) };
        await new Promise((resolve) => setImmediate(resolve));
        if (this.holdIf(to, command)) {
          this.waiting += 1;
          while (this.holdIf(to, command)) await new Promise((resolve) => setTimeout(resolve, 5));
          this.waiting -= 1;
        }
        if (this.unreachable.has(to)) throw new Error(`${to} is unreachable`);
        const reply: Command = await serveReplicationRequest(this.get(to).log, { ...command, token: null } as ReplicationRequest, (node) => this.link(node));
        return reply as unknown as ReplicationReplies[N];
      },
      close: () => undefined,
    };
  }

  async promote(name: string, epoch: number, backups: string[]): Promise<void> {
    this.following.delete(name);
    const outcome = await promote(this.get(name).log, this.promotion(name, epoch, backups));
    expect(outcome.kind).toBe('primary');
  }

  promotion(name: string, epoch: number, backups: string[]): Promotion {
    const links = backups.map((backup) => this.link(backup));
    return { container: 0, epoch, backups: links, replicas: backups.length + 1, self: name, snapshotStallMs: 2_000, logger: recordingLogger() };
  }

  follow(name: string, primary: string, epoch: number): void {
    this.following.set(name, { primary, epoch });
    this.get(name).log.becomeBackup(epoch, this.link(primary));
  }

  /** Resolves once every replica that received a snapshot reopened from it. */
  async reopened(): Promise<void> {
    await Promise.all(this.reopening);
  }

  private reopenFromSnapshot(name: string): void {
    this.snapshotsReceived.push(name);
    const replica = this.get(name);
    const reopened = (async () => {
      await replica.container.close();
      await this.open(name, replica.dataDir, this.overrides);
      // A backup follows again; a replica being promoted is promoted again by the test.
      const following = this.following.get(name);
      if (following) this.follow(name, following.primary, following.epoch);
    })();
    this.reopening.add(reopened);
  }

  /** Closes, cuts at the divergence point it reported, opens again (what the node does on onDivergentTail). */
  async cutAndReopen(name: string): Promise<Replica> {
    const replica = this.get(name);
    const end = this.divergent.get(name)!;
    await replica.container.close();
    await cutDivergentTail(containerDirectory(replica.dataDir, 0), end, false);
    this.divergent.delete(name);
    return this.open(name, replica.dataDir);
  }

  /** The records of the replica's first log file (an open file may run on in zeros: room its writer made ahead). */
  async logBytes(name: string): Promise<Buffer> {
    const path = logFilePath(containerDirectory(this.get(name).dataDir, 0), 1);
    const { end } = await scanLogFile(path, 0, () => undefined);
    return (await readFile(path)).subarray(0, end);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.reopening);
    await Promise.allSettled([...this.replicas.values()].map((replica) => replica.container.close()));
    await this.dirs.cleanup();
  }
}

let cluster: Cluster;
afterEach(async () => {
  await cluster.close();
});

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Replicas a, b, c; a serves as primary of epoch 1 and holds segment s. `b`: b's own store options;
 * `ackTimeoutMs`: how long an append may wait for a majority.
 */
async function startWithPrimaryA(overrides: Partial<StoreOptions> = {}, { b, ackTimeoutMs }: { b?: Partial<StoreOptions>; ackTimeoutMs?: number } = {}): Promise<SegmentContainer> {
  cluster = new Cluster(overrides, ackTimeoutMs);
  await cluster.start('a');
  if (b) await cluster.startWith('b', b);
  else await cluster.start('b');
  await cluster.start('c');
  cluster.follow('b', 'a', 1);
  cluster.follow('c', 'a', 1);
  await cluster.promote('a', 1, ['b', 'c']);
  const primary = cluster.get('a').container;
  await until(() => cluster.get('a').log.isServing, 'a serves');
  await primary.createSegment('s');
  return primary;
}

async function readAll(container: SegmentContainer, segment: string): Promise<string[]> {
  const events: string[] = [];
  let offset = container.getInfo(segment).startOffset;
  for (;;) {
    const result = await container.read(segment, offset, 1 << 20);
    if (result.data.byteLength === 0) return events;
    events.push(...texts(result.data));
    offset += result.data.byteLength;
  }
}

async function writeEvents(container: SegmentContainer, writerId: string, from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n++) {
    await container.append('s', block(`${writerId}${n}`), 1, { writer: { writerId, lastEventNumber: n, eventCount: 1 } });
  }
}

/** a dies (it steps down, then is reachable again to follow); `name` is promoted at epoch 2, the other two following it. */
async function promoteAfterADies(name: string): Promise<SegmentContainer> {
  cluster.unreachable.add('a');
  cluster.get('a').log.stepDown('test: dead');
  cluster.unreachable.delete('a');
  const others = ['a', 'b', 'c'].filter((other) => other !== name);
  for (const other of others) cluster.follow(other, name, 2);
  await cluster.promote(name, 2, others);
  await until(() => cluster.get(name).log.isServing, `${name} serves`);
  return cluster.get(name).container;
}

/** Writer w's event n in s, padded to 600 bytes (a few fill a 4 KiB log file). */
function writePadded(container: SegmentContainer, n: number): Promise<unknown> {
  return container.append('s', block(`w${n}`.padEnd(600, '.')), 1, { writer: { writerId: 'w', lastEventNumber: n, eventCount: 1 } });
}

function logFiles(name: string): Promise<number[]> {
  return listLogFiles(containerDirectory(cluster.get(name).dataDir, 0));
}

/** startWithPrimaryA with 4 KiB log files and checkpoints every 4 KiB; c holds w0..w4 as a does. */
async function startWithSmallFiles(): Promise<SegmentContainer> {
  const primary = await startWithPrimaryA({ logFileBytes: 4096, checkpointIntervalBytes: 4096 });
  await writeEvents(primary, 'w', 0, 5);
  await until(() => comparePositions(cluster.get('c').log.endPosition, cluster.get('a').log.endPosition) === 0, 'c holds what a holds');
  return primary;
}

/** s holds writer w's events first..last (each padded to 600 bytes) once each, and w's last one resent is a duplicate. */
async function expectEventsOnce(container: SegmentContainer, first: number, last: number): Promise<void> {
  expect(await readAll(container, 's')).toEqual(Array.from({ length: last - first + 1 }, (_, n) => `w${n + first}`.padEnd(600, '.')));
  const resent = await container.append('s', block(`w${last}`), 1, { writer: { writerId: 'w', lastEventNumber: last, eventCount: 1 } });
  expect(resent.duplicate).toBe(true);
}

/**
 * node:fs for the log, except that while `holding`, a write through the thread pool (a group over
 * 64 KiB) reaches the disk but returns only once released: a disk slower than the network.
 */
class HeldLogIo implements LogIo {
  holding = true;
  private held: Array<() => void> = [];

  async open(path: string, flags: number): Promise<LogFile> {
    const file = await nodeLogIo.open(path, flags);
    return {
      ...file,
      writevSync: (chunks, position) => file.writevSync(chunks, position),
      writev: async (chunks, position) => {
        const written = await file.writev(chunks, position);
        if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve));
        return written;
      },
      close: () => file.close(),
    };
  }

  syncDirectory(directory: string): Promise<void> {
    return nodeLogIo.syncDirectory(directory);
  }

  get heldWrites(): number {
    return this.held.length;
  }

  release(): void {
    this.holding = false;
    for (const resume of this.held.splice(0)) resume();
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('replicated container log', () => {
  it('acknowledges appends held by a majority; the backups hold byte-identical logs', async () => {
    const primary = await startWithPrimaryA();
    await writeEvents(primary, 'w', 0, 50);
    expect(await readAll(primary, 's')).toEqual(Array.from({ length: 50 }, (_, n) => `w${n}`));
    const original = await cluster.logBytes('a');
    await until(async () => (await cluster.logBytes('b')).equals(original) && (await cluster.logBytes('c')).equals(original), 'backups match');
  });

  it('keeps acknowledging with one backup gone, fails typed without a majority, and resumes when one returns', async () => {
    const primary = await startWithPrimaryA();
    cluster.unreachable.add('c');
    await writeEvents(primary, 'w', 0, 10);
    cluster.unreachable.add('b');
    const failure = await rejection(writeEvents(primary, 'w', 10, 1));
    expect(failure).toBeInstanceOf(NotEnoughReplicasError);
    expect(() => primary.getInfo('s')).toThrow(NotEnoughReplicasError);

    cluster.unreachable.delete('b');
    await until(() => cluster.get('a').log.isServing, 'a serves again');
    // The writer resends event 10: it is in the primary's log and now on a majority, so it is a duplicate.
    await writeEvents(primary, 'w', 10, 5);
    expect(await readAll(primary, 's')).toEqual(Array.from({ length: 15 }, (_, n) => `w${n}`));
  });

  it('fails over to a backup holding every acknowledged append, with writer dedup intact', async () => {
    const old = await startWithPrimaryA();
    cluster.unreachable.add('c'); // c lags: b alone holds the newest appends with a
    await writeEvents(old, 'w', 0, 20);
    cluster.unreachable.add('a'); // a dies
    cluster.get('a').log.stepDown('test: dead');
    cluster.unreachable.delete('c');

    // c becomes primary: it must fetch the longest log (b's) before serving.
    cluster.follow('b', 'c', 2);
    await cluster.promote('c', 2, ['a', 'b']);
    const primary = cluster.get('c').container;
    await until(() => cluster.get('c').log.isServing, 'c serves');
    expect(await readAll(primary, 's')).toEqual(Array.from({ length: 20 }, (_, n) => `w${n}`));
    const resent = await primary.append('s', block('w19'), 1, { writer: { writerId: 'w', lastEventNumber: 19, eventCount: 1 } });
    expect(resent.duplicate).toBe(true);
    await writeEvents(primary, 'w', 20, 5);
    expect(await readAll(primary, 's')).toHaveLength(25);
  });

  it('a returning primary cuts the tail nobody acknowledged, catches up and follows', async () => {
    const old = await startWithPrimaryA();
    await writeEvents(old, 'w', 0, 5);
    cluster.unreachable.add('b');
    cluster.unreachable.add('c');
    expect(await rejection(writeEvents(old, 'w', 5, 1))).toBeInstanceOf(NotEnoughReplicasError); // written at a only
    cluster.unreachable.add('a');
    cluster.get('a').log.stepDown('test: dead');
    cluster.unreachable.delete('b');
    cluster.unreachable.delete('c');

    cluster.follow('c', 'b', 2);
    await cluster.promote('b', 2, ['a', 'c']);
    const primary = cluster.get('b').container;
    await until(() => cluster.get('b').log.isServing, 'b serves');
    await writeEvents(primary, 'v', 0, 3);

    cluster.unreachable.delete('a');
    cluster.follow('a', 'b', 2);
    await until(() => cluster.divergent.has('a'), 'a finds its divergent tail');
    await cluster.cutAndReopen('a');
    cluster.follow('a', 'b', 2);
    await writeEvents(primary, 'v', 3, 2);
    await until(async () => (await cluster.logBytes('a')).equals(await cluster.logBytes('b')), 'a caught up');
    // w5 reached only the old primary: it was cut, never acknowledged nor read.
    expect(await readAll(primary, 's')).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'v0', 'v1', 'v2', 'v3', 'v4']);
  });

  it('a deposed primary acknowledges nothing once a majority is fenced at a newer epoch', async () => {
    const stale = await startWithPrimaryA();
    await writeEvents(stale, 'w', 0, 3);

    // b is promoted while a still believes it is primary (paused, partitioned from etcd).
    cluster.follow('c', 'b', 2);
    await cluster.promote('b', 2, ['a', 'c']);
    const failure = await rejection(writeEvents(stale, 'w', 3, 1));
    expect(failure instanceof FencedError || failure instanceof NotEnoughReplicasError).toBe(true);
    expect(cluster.deposed).toContain('a');
    await until(() => cluster.get('b').log.isServing, 'b serves');
    expect(await readAll(cluster.get('b').container, 's')).toEqual(['w0', 'w1', 'w2']);
  });
});

describe('replicated container log, acknowledgement', () => {
  it('acknowledges an append only once a majority holds it, not with the records before it', async () => {
    const primary = await startWithPrimaryA();
    await writeEvents(primary, 'w', 0, 1);
    cluster.unreachable.add('c'); // a and b are the majority now
    const isReplicateFrom = (command: HeldRequest, position: number) => command.type === 'Replicate' && command.position! >= position;
    // b takes w1 but not w2: w1 is on a majority, w2 only on a.
    const w1Start = cluster.get('a').log.endPosition.position;
    cluster.holdIf = (to, command) => to === 'b' && isReplicateFrom(command, w1Start);
    const settled: string[] = [];
    const w1 = writeEvents(primary, 'w', 1, 1).then(() => settled.push('w1'));
    await until(() => cluster.waiting > 0, 'w1 on its way to b');
    const w2Start = cluster.get('a').log.endPosition.position;
    cluster.holdIf = (to, command) => to === 'b' && isReplicateFrom(command, w2Start);
    const w2 = writeEvents(primary, 'w', 2, 1).then(() => settled.push('w2'));
    await w1;
    await new Promise((resolve) => setTimeout(resolve, ACK_TIMEOUT_MS / 4));
    expect(settled).toEqual(['w1']);
    cluster.holdIf = () => false;
    await w2;
    expect(await readAll(primary, 's')).toEqual(['w0', 'w1', 'w2']);
  });

  it('a backup queues a batch that arrives while the previous one is being written, and answers each only once on disk', async () => {
    const io = new HeldLogIo();
    // Long enough for b's held write not to fail the appends: nothing here waits for it to pass.
    const primary = await startWithPrimaryA({}, { b: { logIo: io }, ackTimeoutMs: 60_000 });
    cluster.unreachable.add('c'); // a and b are the majority now
    // Two appends over 64 KiB each: b writes each group through the thread pool, where it is held.
    const large = (n: number): Promise<unknown> =>
      primary.append('s', block(`w${n}`.padEnd(70_000, '.')), 1, { writer: { writerId: 'w', lastEventNumber: n, eventCount: 1 } });
    const settled: number[] = [];
    try {
      const first = large(0).then(() => settled.push(0));
      await until(() => io.heldWrites === 1, "b's write of the first append is on its way");
      const second = large(1).then(() => settled.push(1));
      // Queued in b's log behind the first write, not waiting for it to return.
      await until(() => comparePositions(cluster.get('b').log.endPosition, cluster.get('a').log.endPosition) === 0, 'b queued the second append');
      expect(settled).toEqual([]);
      expect(io.heldWrites).toBe(1);
      io.release();
      await Promise.all([first, second]);
    } finally {
      io.release();
    }
    expect(settled).toEqual([0, 1]);
    expect(await cluster.logBytes('b')).toEqual(await cluster.logBytes('a'));
  });

  it('after a time without a majority, serves again only once a majority holds everything it wrote meanwhile', async () => {
    const primary = await startWithPrimaryA();
    await writeEvents(primary, 'w', 0, 2);
    cluster.unreachable.add('b');
    cluster.unreachable.add('c');
    expect(await rejection(writeEvents(primary, 'w', 2, 1))).toBeInstanceOf(NotEnoughReplicasError); // w2 is in a's log only
    // b comes back and answers, but records with data wait: b holds less than a wrote.
    cluster.holdIf = (to, command) => to === 'b' && command.type === 'Replicate' && command.data!.byteLength > 0;
    cluster.unreachable.delete('b');
    await until(() => cluster.waiting > 0, 'a shipping w2 to b');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(cluster.get('a').log.isServing).toBe(false);
    expect(() => primary.getInfo('s')).toThrow(NotEnoughReplicasError);
    cluster.holdIf = () => false;
    await until(() => cluster.get('a').log.isServing, 'a serves again');
    await writeEvents(primary, 'w', 2, 2); // the resent w2 is a duplicate now on a majority, w3 is new
    expect(await readAll(primary, 's')).toEqual(['w0', 'w1', 'w2', 'w3']);
  });

  it('counts what a majority acknowledged towards the primary\'s next checkpoint', async () => {
    const primary = await startWithPrimaryA({ checkpointIntervalBytes: 4096 });
    const checkpoint = `${containerDirectory(cluster.get('a').dataDir, 0)}/${CHECKPOINT_FILE}`;
    await expect(access(checkpoint)).rejects.toThrow();
    for (let n = 0; n < 8; n++) await primary.append('s', block('x'.repeat(1024)), 1);
    await until(() => access(checkpoint).then(() => true, () => false), 'a checkpoint of the primary');
  });

  it('a backup checkpoints and retires log files up to what the primary says a majority holds; it restarts from its checkpoint and serves it all when promoted', async () => {
    const primary = await startWithPrimaryA({ logFileBytes: 4096, checkpointIntervalBytes: 4096 });
    const directory = (name: string): string => containerDirectory(cluster.get(name).dataDir, 0);
    const write = (n: number): Promise<unknown> => writePadded(primary, n);
    for (let n = 0; n < 30; n++) await write(n);
    await primary.truncate('s', primary.getInfo('s').length); // the first files hold nothing live
    for (let n = 30; n < 60; n++) await write(n);
    await until(async () => (await listLogFiles(directory('b')))[0]! > 1, 'b retired its first log files');
    const checkpoint = await loadCheckpoint(directory('b'));
    expect(comparePositions(checkpoint!.logPosition, cluster.get('a').log.durablePosition)).toBeLessThanOrEqual(0);

    // b restarts (from its checkpoint), follows again, and is promoted with a gone: it holds everything.
    await cluster.get('b').container.close();
    await cluster.open('b', cluster.get('b').dataDir, cluster.overrides);
    await expectEventsOnce(await promoteAfterADies('b'), 30, 59);
  });

  it('a backup whose log ends in a file the primary retired is sent a snapshot, installs it, follows, and holds every acknowledged append', async () => {
    const primary = await startWithSmallFiles();
    // c is gone long enough to be dropped from the backups (its shipper, and what it kept in memory, go).
    cluster.unreachable.add('c');
    cluster.get('a').log.changeBackups([cluster.link('b')]);
    const cLast = (await logFiles('c')).at(-1)!;
    // While c is away: events later truncated away, and a segment later deleted, fill files the
    // primary then retires; the events after the truncation stay.
    const write = (n: number): Promise<unknown> => writePadded(primary, n);
    for (let n = 5; n < 40; n++) await write(n);
    await primary.createSegment('t');
    for (let n = 0; n < 20; n++) await primary.append('t', block('t'.repeat(600)), 1);
    await primary.delete('t');
    await primary.truncate('s', primary.getInfo('s').length);
    for (let n = 40; n < 60; n++) await write(n);
    await until(async () => (await logFiles('a'))[0]! > cLast, 'the primary retired the files c would catch up from');

    cluster.unreachable.delete('c');
    cluster.get('a').log.changeBackups([cluster.link('b'), cluster.link('c')]);
    await until(() => cluster.get('a').log.holdsAcknowledged('c'), 'c caught up', 20_000);
    expect((await logFiles('c'))[0]).toBeGreaterThan(cLast); // its own files replaced by the primary's
    // c acknowledges (b gone: a majority needs it), then serves what it holds as the new primary.
    cluster.unreachable.add('b');
    for (let n = 60; n < 65; n++) await write(n);
    await expectEventsOnce(await promoteAfterADies('c'), 40, 64);
  });

  it('a backup whose log ends exactly at the end of a file the primary retired goes on with records, not a snapshot, from a new shipper', async () => {
    const primary = await startWithPrimaryA({ logFileBytes: 4096, checkpointIntervalBytes: 4096 });
    const a = cluster.get('a').log;
    const write = (n: number): Promise<unknown> => writePadded(primary, n);
    // Fill a file until the next event opens a new one; c holds all of it, then leaves.
    let n = 0;
    for (;;) {
      const before = a.endPosition.position;
      await write(n++);
      const recordBytes = a.endPosition.position - before;
      if (recordBytes > 0 && a.endPosition.position + recordBytes > 4096) break;
    }
    await until(() => comparePositions(cluster.get('c').log.endPosition, a.endPosition) === 0, 'c holds the whole file');
    const cEnd = cluster.get('c').log.endPosition;
    cluster.unreachable.add('c');
    a.changeBackups([cluster.link('b')]);
    // s keeps only the events from the next file on: the primary retires the files up to c's last one, and no more.
    const kept = primary.getInfo('s').length;
    const firstKept = n;
    for (let k = 0; k < 20; k++) await write(n++);
    await primary.truncate('s', kept);
    for (let k = 0; k < 10; k++) await write(n++);
    await until(async () => (await logFiles('a'))[0] === cEnd.fileNumber + 1, "the primary retired c's last file");

    cluster.unreachable.delete('c');
    a.changeBackups([cluster.link('b'), cluster.link('c')]);
    await until(() => a.holdsAcknowledged('c'), 'c caught up');
    expect(cluster.snapshotsReceived).toEqual([]);
    cluster.unreachable.add('b');
    await write(n++); // acknowledged by c
    await expectEventsOnce(primary, firstKept, n - 1);
  });

  it('a promoted replica whose log ends before the first log file of the longest log gets a snapshot of it, then serves every acknowledged append', async () => {
    const primary = await startWithSmallFiles();
    // c lags (cut off) while a and b go on; b checkpoints and retires the files c would fetch from.
    cluster.unreachable.add('c');
    const cLast = (await logFiles('c')).at(-1)!;
    const write = (n: number): Promise<unknown> => writePadded(primary, n);
    for (let n = 5; n < 40; n++) await write(n);
    await primary.truncate('s', primary.getInfo('s').length);
    for (let n = 40; n < 60; n++) await write(n);
    await until(async () => (await logFiles('b'))[0]! > cLast, 'b retired the files c would fetch from');

    // a dies; c (behind) is promoted: b holds the longest log, but not the records after c's end.
    cluster.unreachable.add('a');
    cluster.get('a').log.stepDown('test: dead');
    cluster.unreachable.delete('c');
    cluster.follow('b', 'c', 2);
    const c = cluster.get('c').log;
    c.stepDown('test: promoting');
    const first = await promote(c, cluster.promotion('c', 2, ['a', 'b']));
    expect(first.kind).toBe('snapshot-first');
    await cluster.reopened();
    expect(cluster.snapshotsReceived).toEqual(['c']);
    expect((await logFiles('c'))[0]).toBeGreaterThan(cLast);
    // Reopened from b's container, c is promoted again: it fetches nothing more, serves, and acknowledges with b.
    await cluster.promote('c', 2, ['a', 'b']);
    await until(() => cluster.get('c').log.isServing, 'c serves');
    const promoted = cluster.get('c').container;
    await expectEventsOnce(promoted, 40, 59);
    await writeEvents(promoted, 'w', 60, 3);
    await until(async () => comparePositions(cluster.get('b').log.endPosition, cluster.get('c').log.endPosition) === 0, 'b follows c');
  });
});

describe('replication requests, one at a time', () => {
  const ask = async (name: string, command: ReplicationRequest): Promise<Command> => serveReplicationRequest(cluster.get(name).log, command, () => null);
  const fence = (epoch: number): ReplicationRequest => ({ type: 'FenceReplica', container: 0, epoch, token: null });
  const replicate = (epoch: number, at: LogPosition): ReplicationRequest => ({
    type: 'Replicate',
    container: 0,
    epoch,
    dataEpoch: epoch,
    fileNumber: at.fileNumber,
    position: at.position,
    committedFileNumber: 0,
    committedPosition: 0,
    data: Buffer.alloc(0),
    token: null,
  });

  /** Waits until b's log is as long as a's (backups apply what the primary ships a little later). */
  const bCaughtUp = async (): Promise<LogPosition> => {
    const end = cluster.get('a').log.endPosition;
    await until(() => comparePositions(cluster.get('b').log.endPosition, end) === 0, 'b holds what a holds');
    return end;
  };

  it('a fence at an older epoch is refused; at the same or a newer one it holds, and only a newer one deposes a primary', async () => {
    const primary = await startWithPrimaryA();
    await writeEvents(primary, 'w', 0, 2);
    const end = await bCaughtUp();

    // The primary fenced at its own epoch keeps serving; at a newer one it stops acknowledging.
    expect(await ask('a', fence(1))).toMatchObject({ type: 'ReplicaFenced', status: 'ok', epoch: 1 });
    await writeEvents(primary, 'w', 2, 1);
    expect(cluster.deposed).toEqual([]);
    expect(await ask('a', fence(2))).toMatchObject({ status: 'ok', epoch: 2, lastEpoch: 1 });
    expect(cluster.deposed).toEqual(['a']);
    expect(await rejection(writeEvents(primary, 'w', 3, 1))).toBeInstanceOf(FencedError);

    // b was fenced at epoch 1 by a's promotion: epoch 0 is refused and changes nothing.
    expect(await ask('b', fence(0))).toMatchObject({ type: 'ReplicaFenced', container: 0, status: 'fenced', epoch: 1, lastEpoch: 1, fileNumber: end.fileNumber });
    expect(await ask('b', fence(1))).toMatchObject({ status: 'ok', epoch: 1 });
    // A backup fenced at a newer epoch holds it (it serves no one, so nothing is deposed) and refuses older ones from then on.
    expect(await ask('b', fence(3))).toMatchObject({ status: 'ok', epoch: 3 });
    expect(await ask('b', fence(2))).toMatchObject({ status: 'fenced', epoch: 3 });
    expect(cluster.deposed).toEqual(['a']);
  });

  it('a fence made while the log closes for a reopen is on disk when the close ends; once closed, fences are refused', async () => {
    await startWithPrimaryA();
    await bCaughtUp();
    const b = cluster.get('b');
    // The fence is asked first and the close follows at once, as a reopen (a cut tail) would.
    const fenced = ask('b', fence(5));
    await b.log.close();
    // What a reopen loads after the close holds the promise.
    expect((await EpochHistory.load(containerDirectory(b.dataDir, 0), false)).fencedEpoch).toBe(5);
    expect(await fenced).toMatchObject({ status: 'ok', epoch: 5 });
    expect(await rejection(ask('b', fence(6)))).toBeInstanceOf(NotEnoughReplicasError);
    expect((await EpochHistory.load(containerDirectory(b.dataDir, 0), false)).fencedEpoch).toBe(5);
  });

  it('a Replicate from an older epoch is answered fenced; one the backup is not following yet, not-ready', async () => {
    await startWithPrimaryA();
    const atEnd = await bCaughtUp();
    // The primary itself never takes Replicate, at its own epoch either.
    expect(await ask('a', replicate(1, cluster.get('a').log.endPosition))).toMatchObject({ type: 'Replicated', status: 'not-ready', epoch: 1 });
    expect(await ask('b', fence(2))).toMatchObject({ status: 'ok' });
    // a (epoch 1) ships after b learned of epoch 2: refused, with the epoch that fenced it.
    expect(await ask('b', replicate(1, atEnd))).toEqual({ type: 'Replicated', container: 0, status: 'fenced', epoch: 2, ...atEnd });
    // Epoch 2's primary ships before b was told to follow it.
    expect(await ask('b', replicate(2, atEnd))).toMatchObject({ type: 'Replicated', status: 'not-ready', epoch: 2 });
    // A backup just told to follow checks its tail against the primary, then takes records at its end only.
    const d = await cluster.open('d', `${cluster.get('c').dataDir}-d`);
    cluster.follow('d', 'a', 1);
    const dEnd = d.log.endPosition;
    expect(await ask('d', replicate(1, { ...dEnd, position: dEnd.position + 1000 }))).toEqual({ type: 'Replicated', container: 0, status: 'mismatch', epoch: 0, ...dEnd });
    expect(await ask('d', replicate(1, dEnd))).toMatchObject({ status: 'ok' });
  });

  it('a Replicate that waited for the tail check is answered not-ready when the backup moved on meanwhile', async () => {
    await startWithPrimaryA();
    const d = await cluster.open('d', `${cluster.get('c').dataDir}-d`);
    cluster.holdIf = (to) => to === 'a'; // the tail check asks a (GetEpochEnd) and waits
    cluster.follow('d', 'a', 1);
    const answer = ask('d', replicate(1, d.log.endPosition));
    await new Promise((resolve) => setTimeout(resolve, 30));
    cluster.follow('d', 'b', 2); // a newer epoch's primary took over while the check was on its way
    cluster.holdIf = () => false;
    expect(await answer).toMatchObject({ type: 'Replicated', status: 'not-ready' });
  });

  it('a backup keeps none of the answers it gave once they are settled (it answers hundreds a second for as long as it runs)', async () => {
    await startWithPrimaryA();
    const d = await cluster.open('d', `${cluster.get('c').dataDir}-d`);
    cluster.follow('d', 'a', 1);
    const answers: Array<WeakRef<object>> = [];
    for (let i = 0; i < 50; i += 1) {
      const request = replicate(1, d.log.endPosition) as CommandOf<'Replicate'>;
      const answer = await d.log.replicate(request);
      expect(answer).toMatchObject({ status: 'ok' });
      answers.push(new WeakRef(answer));
    }
    await collectGarbage();
    // The last answer may still sit in this test's own frame: every earlier one must be gone.
    const kept = answers.flatMap((answer, index) => (answer.deref() === undefined ? [] : [index]));
    expect(kept.filter((index) => index < answers.length - 1)).toEqual([]);
  });
});
