import type { CommandOf } from '@sluice/protocol';

import type { ContainerLog, ReplicatedContainer } from '../store/container-log.js';
import { formatPosition, type EpochHistory } from '../store/epoch-history.js';
import { extractRecords } from '../store/log-extract.js';
import { comparePositions, type LogPosition } from '../store/log-files.js';
import type { SettleRecord } from '../store/log-writer.js';
import type { EncodedRecord } from '../store/record-codec.js';
import type { StoreLogger } from '../store/types.js';
import { FencedError, LogRetiredError, NotEnoughReplicasError } from './errors.js';
import { FileEnds, readableFrom } from './file-ends.js';
import { LogShipper, shippedRecord, type ShipperSource } from './log-shipper.js';
import type { PeerLink, PeerRequest } from './peer-link.js';
import { majorityPosition } from './quorum.js';
import { splitBatch, type BatchRecord } from './record-batch.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import { sendSnapshot } from './snapshot-sender.js';

export interface ReplicatedLogOptions {
  /** An append no majority confirmed within this long fails with NotEnoughReplicas (never acknowledged). */
  ackTimeoutMs: number;
  logger: StoreLogger;
  /** fsync what a snapshot brings before it counts as received (--fsync always). */
  sync: boolean;
  /** Told when a replica refused this primary for a newer epoch: it stopped acknowledging anything. */
  onDeposed?: (container: number, newerEpoch: number) => void;
  /**
   * Told when this backup holds a tail the primary's log does not (written under an older epoch and
   * never acknowledged): the caller closes the container, cuts its log there, opens it again.
   */
  onDivergentTail?: (container: number, end: LogPosition) => void;
  /**
   * Told when appends failed (no majority in time, a role change) whose records stay in this log:
   * the container's state counts them as never written while the log, and soon a majority, holds
   * them (a resent duplicate would be acknowledged yet never readable). The caller reopens the
   * container so that recovery rebuilds its state from the log.
   */
  onStateBehindLog?: (container: number) => void;
  /**
   * Told when this backup received a whole snapshot from its primary (its log ended before the
   * primary's first log file): the caller reopens the container, which installs it.
   */
  onSnapshotReceived?: (container: number) => void;
}

interface PendingRecord {
  end: LogPosition;
  bytes: number;
  settle: SettleRecord;
  since: number;
}

export type Role = 'none' | 'backup' | 'primary';

/** A snapshot this replica asked for while being promoted (SendSnapshot), until it is received whole. */
interface AwaitedSnapshot {
  epoch: number;
  timer: NodeJS.Timeout;
  resolve(): void;
  reject(error: Error): void;
}

const START: LogPosition = { fileNumber: 0, position: 0 };
const MAX_FETCH_BYTES = 1024 * 1024;

/**
 * A container's log, replicated. As primary of an epoch it writes each record to its own log and
 * ships it to the backups (one LogShipper each); a record is durable, and its append acknowledged,
 * once a majority of the replicas (itself included) have it durable. It serves nothing until a
 * majority holds its whole log (just promoted, or after a majority was lost), so nothing it returns
 * or acknowledges can be lost by a failover. As backup it writes what the primary sends at the same
 * positions (the logs stay byte-identical) and applies it as recovery would. Every request carries
 * the epoch; one from an epoch older than any seen is refused (fenced).
 */
export class ReplicatedLog implements ContainerLog {
  private role: Role = 'none';
  private epoch = 0;
  private replicas = 1;
  private shippers: LogShipper[] = [];
  /** What this primary's shippers ship from (set while primary). */
  private shipping: ShipperSource | null = null;
  private pending: PendingRecord[] = [];
  /** The end of what a majority holds (never moves back). */
  private committed: LogPosition = START;
  /** While set, this primary waits for a majority to hold its log up to here before serving. */
  private readyAt: LogPosition | null = null;
  private unavailable: Error;
  /** Replicated batches are queued in the log one after another, each after the previous one's checks. */
  private receiving: Promise<unknown> = Promise.resolve();
  /** Settled once every batch queued so far is durable here and answered (close waits for it). */
  private writing: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** As backup: the primary followed, whether this log is known to be a prefix of its log, and that check. */
  private primary: PeerLink | null = null;
  private inSync = false;
  private checkingTail: Promise<void> | null = null;
  /** As backup: the snapshot being received, if any; once one is received whole, this log is done. */
  private snapshot: SnapshotReceiver | null = null;
  private snapshotReceived = false;
  /**
   * A fence being saved. close() waits for it and later fences are refused: a reopen (a cut tail, a
   * snapshot) loads the history from disk after the close, and must find there every promise this
   * log made, with no save of this log's history landing after it.
   */
  private fencing: Promise<unknown> = Promise.resolve();
  /** Being promoted: the snapshot asked of the replica holding the longest log, if any. */
  private awaited: AwaitedSnapshot | null = null;
  /** The snapshot this replica sends one being promoted (SendSnapshot), while it does. */
  private outgoing: Promise<void> | null = null;
  private readonly fileEnds = new FileEnds();
  /**
   * As backup, records are applied to the container's state only once the primary says a majority
   * holds them, so the state (and a checkpoint of it) never covers a tail that may yet be cut: the
   * records durable here but not applied yet, the end of what is applied, and the furthest commit
   * point a primary told (commit points never move back, whatever the epoch).
   */
  private unapplied: BatchRecord[] = [];
  private applied: LogPosition;
  private primaryCommitted: LogPosition = START;
  /** Appends failed whose records stay in the log: the state lacks them until the container reopens (onStateBehindLog). */
  private stateBehindLog = false;

  constructor(
    private readonly container: ReplicatedContainer,
    readonly history: EpochHistory,
    private readonly options: ReplicatedLogOptions,
  ) {
    this.unavailable = new NotEnoughReplicasError(`container ${container.id} has no role on this node yet`);
    // Recovery applied the whole log at open.
    this.applied = container.local.endPosition;
  }

  // --- ContainerLog -------------------------------------------------------------------------

  get failed(): Error | null {
    return this.container.local.failed ?? (this.role === 'primary' && this.readyAt === null ? null : this.unavailable);
  }

  get checkpointable(): boolean {
    if (this.stateBehindLog || this.snapshotReceived) return false;
    if (this.role === 'backup') return comparePositions(this.applied, this.primaryCommitted) <= 0;
    return this.role === 'primary' && this.readyAt === null;
  }

  /** As primary, what a majority holds; as backup, what its state holds (all of it committed once checkpointable). */
  get durablePosition(): LogPosition {
    return this.role === 'backup' ? { ...this.applied } : { ...this.committed };
  }

  /** The end of this replica's own log, durable or not. */
  get endPosition(): LogPosition {
    return this.container.local.endPosition;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  get isServing(): boolean {
    return this.failed === null;
  }

  /** Whether this replica already plays `role` for `epoch` (with these backups, as primary; following `primary`, as backup). */
  plays(role: Role, epoch: number, nodes: readonly string[]): boolean {
    if (this.role !== role || this.epoch !== epoch) return false;
    if (role === 'primary') return sameNodes(this.shippers.map((shipper) => shipper.link.node), nodes);
    if (role === 'backup') return this.primary?.node === nodes[0];
    return true;
  }

  /** As primary: whether `node` holds everything acknowledged so far (a joining replica counts in sync from then). */
  holdsAcknowledged(node: string): boolean {
    const shipper = this.shippers.find((candidate) => candidate.link.node === node);
    return this.role === 'primary' && shipper !== undefined && shipper.reachable && shipper.acked !== null && comparePositions(shipper.acked, this.committed) >= 0;
  }

  append(record: EncodedRecord, settle: SettleRecord): LogPosition {
    const failure = this.failed;
    if (failure) throw failure;
    const before = this.container.local.endPosition;
    const at = this.container.local.append(record, (error) => this.localSettled(error));
    this.fileEnds.observe(before, at);
    const end = { fileNumber: at.fileNumber, position: at.position + record.byteLength };
    this.pending.push({ end, bytes: record.byteLength, settle, since: Date.now() });
    if (this.shippers.length > 0) {
      const shipped = shippedRecord(at, record);
      for (const shipper of this.shippers) shipper.push(shipped);
    }
    return at;
  }

  whenDurable(): Promise<void> {
    const failure = this.failed;
    if (failure) return Promise.reject(failure);
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const end = this.container.local.endPosition;
      this.pending.push({ end, bytes: 0, settle: (error) => (error ? reject(error) : resolve()), since: Date.now() });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopPrimary(new NotEnoughReplicasError(`container ${this.container.id} is closing`));
    this.forgetPrimary();
    this.stopAwaitingSnapshot();
    await this.fencing;
    await this.receiving.catch(() => undefined);
    await this.writing;
    await this.snapshot?.abort();
    await this.outgoing;
    await this.container.local.close();
  }

  // --- roles ----------------------------------------------------------------------------------

  /**
   * Serve as primary of `epoch` (already recorded in the history by the promotion) with these
   * backups, of `replicas` in all. Serving starts once a majority holds this log's current end.
   */
  becomePrimary(epoch: number, backups: readonly PeerLink[], replicas: number): void {
    this.stopPrimary(new NotEnoughReplicasError(`container ${this.container.id} changes role`));
    this.forgetPrimary();
    // It serves its whole log (once a majority holds it): its state must hold all of it first.
    this.applyUpTo(null);
    this.role = 'primary';
    this.epoch = epoch;
    this.replicas = replicas;
    this.readyAt = this.container.local.endPosition;
    this.unavailable = new NotEnoughReplicasError(`container ${this.container.id} waits for a majority of its replicas to hold its log`);
    const source: ShipperSource = {
      container: this.container.id,
      epoch,
      directory: this.container.directory,
      history: this.history,
      fileEnds: this.fileEnds,
      localDurableEnd: () => this.container.local.durablePosition,
      committedEnd: () => this.committed,
      onProgress: () => this.advance(),
      onFenced: (newerEpoch: number) => this.deposed(newerEpoch),
      logger: this.options.logger,
    };
    this.shipping = source;
    this.shippers = backups.map((link) => new LogShipper(link, source));
    this.timer = setInterval(() => this.checkTimeouts(), Math.max(50, Math.floor(this.options.ackTimeoutMs / 4)));
    this.timer.unref();
    this.options.logger.info({ container: this.container.id, epoch, backups: backups.map((link) => link.node) }, 'primary: waiting for a majority');
    this.advance();
  }

  /** Whether this replica is the primary of `epoch` (serving, or waiting for a majority). */
  leads(epoch: number): boolean {
    return this.role === 'primary' && this.epoch === epoch;
  }

  /**
   * As primary of the same epoch, ship to these backups from now on (a replica joined or was
   * dropped). Appends waiting for a majority stay: failing them would leave their records in the
   * log while the container's state counts them as never written.
   */
  changeBackups(backups: readonly PeerLink[]): void {
    const next = backups.map((link) => {
      const kept = this.shippers.find((shipper) => shipper.link.node === link.node);
      if (kept === undefined) return new LogShipper(link, this.shipping!);
      link.close();
      return kept;
    });
    for (const shipper of this.shippers) if (!next.includes(shipper)) shipper.stop();
    this.shippers = next;
    this.options.logger.info({ container: this.container.id, epoch: this.epoch, backups: backups.map((link) => link.node) }, 'primary: backups changed');
    this.advance();
  }

  /**
   * Follow the primary of `epoch`. Its records are accepted once this log is known to be a prefix
   * of the primary's: when the primary first ships, this replica asks it where its own last epoch
   * ends there (KIP-101), and a longer tail is cut before anything is written.
   */
  becomeBackup(epoch: number, primary: PeerLink): void {
    this.stopPrimary(new NotEnoughReplicasError(`container ${this.container.id} is a backup here`));
    this.role = 'backup';
    this.epoch = epoch;
    this.forgetPrimary();
    this.primary = primary;
    this.inSync = false;
    this.checkingTail = null;
  }

  /** Acknowledge and accept nothing (lease lost, container moved away). */
  stepDown(reason: string): void {
    this.stopPrimary(new NotEnoughReplicasError(`container ${this.container.id}: ${reason}`));
    this.forgetPrimary();
    this.role = 'none';
  }

  private forgetPrimary(): void {
    this.primary?.close();
    this.primary = null;
    void this.snapshot?.abort();
  }

  // --- requests from other replicas ----------------------------------------------------------

  /**
   * Replicate: write the primary's records at the same positions, then answer with the durable end.
   * Batches are checked and queued in the log one after another, in the order they came; their writes
   * then overlap: batches that arrive while one is on the disk go out together in the log's next group
   * commit, instead of each waiting for the previous one's write before it is even queued.
   */
  replicate(command: CommandOf<'Replicate'>): Promise<CommandOf<'Replicated'>> {
    const admitted = this.receiving.then(() => this.admit(command));
    this.receiving = admitted.catch(() => undefined);
    const replied = admitted.then((admission) => admission.written);
    // Without the last then, each link would hold the previous one's result: every answer a backup
    // ever gave, kept for the life of the log (~470 bytes per Replicate).
    this.writing = Promise.allSettled([this.writing, replied]).then(() => undefined);
    return replied;
  }

  /**
   * InstallSnapshot: stores a chunk of the primary's container; the last one commits it, and the
   * container is reopened from it. Refused like Replicate (fenced, not following this epoch).
   */
  installSnapshot(command: CommandOf<'InstallSnapshot'>): Promise<CommandOf<'SnapshotReceived'>> {
    const received = this.receiving.then(() => this.receiveSnapshot(command));
    this.receiving = received.catch(() => undefined);
    return received;
  }

  /** FenceReplica: promise to refuse every older epoch; answer with this log's last epoch and durable end. */
  async fence(command: PeerRequest<'FenceReplica'>): Promise<CommandOf<'ReplicaFenced'>> {
    const { container, epoch } = command;
    // The history that keeps the promise is the snapshot's from now on (its install takes over the
    // fence recorded here until then): promise nothing until the container reopened from it.
    if (this.snapshotReceived) throw new NotEnoughReplicasError(`container ${container} is installing a snapshot`);
    if (this.closed) throw new NotEnoughReplicasError(`container ${container} is reopening`);
    const refused = epoch < this.history.fencedEpoch;
    if (!refused) {
      const saved = this.history.fence(epoch);
      this.fencing = saved.catch(() => undefined);
      await saved;
      if (this.role === 'primary' && epoch > this.epoch) this.deposed(epoch);
      await this.receiving.catch(() => undefined);
      await this.container.local.whenDurable();
    }
    const end = this.container.local.durablePosition;
    return {
      type: 'ReplicaFenced',
      container,
      status: refused ? 'fenced' : 'ok',
      epoch: this.history.fencedEpoch,
      lastEpoch: this.history.lastEpoch,
      fileNumber: end.fileNumber,
      position: end.position,
    };
  }

  /** GetEpochEnd: where this log's records of the largest epoch not above the asked one end. */
  epochEnd(command: CommandOf<'GetEpochEnd'>): CommandOf<'EpochEnd'> {
    const { epoch, end } = this.history.endOfEpoch(command.epoch, this.container.local.durablePosition);
    return { type: 'EpochEnd', container: command.container, epoch, fileNumber: end.fileNumber, position: end.position };
  }

  /** FetchLog: durable records from a position, all of one epoch (a promoted primary catching up from the longest log). */
  async fetch(command: CommandOf<'FetchLog'>): Promise<CommandOf<'LogFetched'>> {
    const asked = { fileNumber: command.fileNumber, position: command.position };
    const from = await readableFrom(this.container.directory, asked, this.fileEnds);
    if (from === null) throw new LogRetiredError(command.container, asked);
    const { epoch, nextStart } = this.history.epochAt(from);
    let limit = this.container.local.durablePosition;
    if (nextStart !== null && comparePositions(nextStart, limit) < 0) limit = nextStart;
    const { at, data } = await extractRecords(this.container.directory, from, Math.min(command.maxBytes, MAX_FETCH_BYTES), limit);
    return { type: 'LogFetched', container: command.container, epoch, fileNumber: at.fileNumber, position: at.position, data };
  }

  /**
   * Writes records fetched from another replica (promotion) as if replicated: the history first
   * when they open a new epoch, then the records at their positions. Resolves with the durable end.
   */
  async appendFetched(fetched: CommandOf<'LogFetched'>): Promise<LogPosition> {
    const at = { fileNumber: fetched.fileNumber, position: fetched.position };
    const outcome = await (await this.enqueue(at, fetched.epoch, fetched.data)).durable;
    if (!outcome.ok) throw new Error(`fetched records at ${at.fileNumber}:${at.position} do not continue this log (it ends at ${formatPosition(outcome.end)})`);
    return outcome.end;
  }

  /**
   * Being promoted to `epoch`, this replica asked the replica holding the longest log for a snapshot
   * (its log ends before that replica's first log file): takes the InstallSnapshot requests sent for
   * that epoch. Resolves once the snapshot is received whole (the container then reopens from it);
   * rejects when none of its chunks came for stallMs, or when told to stop awaiting it.
   */
  awaitSnapshot(epoch: number, stallMs: number): Promise<void> {
    this.stopAwaitingSnapshot();
    const received = new Promise<void>((resolve, reject) => {
      const stalled = (): void => {
        this.awaited = null;
        reject(new NotEnoughReplicasError(`container ${this.container.id}: the snapshot asked for at epoch ${epoch} sent nothing for ${stallMs} ms`));
      };
      this.awaited = { epoch, timer: setTimeout(stalled, stallMs), resolve, reject };
    });
    // Handled here too: it may be rejected (closed, stalled) before the caller awaits it.
    received.catch(() => undefined);
    return received;
  }

  stopAwaitingSnapshot(): void {
    const awaited = this.awaited;
    if (awaited === null) return;
    this.awaited = null;
    clearTimeout(awaited.timer);
    awaited.reject(new NotEnoughReplicasError(`container ${this.container.id}: the snapshot at epoch ${awaited.epoch} is no longer awaited`));
  }

  /**
   * SendSnapshot: a replica being promoted whose log ends where this log no longer has the records
   * after it (in a retired file) is sent this container as a primary sends a backup a snapshot
   * (InstallSnapshot over `link`, at the asked epoch). Answered at once: 'sending' (started, or one is
   * under way), 'not-needed' (FetchLog serves it), 'fenced' (a newer epoch exists), 'not-ready' (no
   * link: the asker is not known here as a replica yet).
   */
  async sendSnapshotTo(command: CommandOf<'SendSnapshot'>, link: PeerLink | null): Promise<CommandOf<'SnapshotReceived'>> {
    const { container, epoch } = command;
    const from = { fileNumber: command.fileNumber, position: command.position };
    let status = 'sending';
    if (epoch < this.history.fencedEpoch) status = 'fenced';
    else if (link === null || this.snapshotReceived || this.closed) status = 'not-ready';
    else if ((await readableFrom(this.container.directory, from, this.fileEnds)) !== null) status = 'not-needed';
    // One at a time: an asker promoted again after a stall awaits the one under way.
    else if (this.outgoing === null) this.outgoing = this.sendSnapshotOver(link, epoch);
    else link.close();
    if (status !== 'sending') link?.close();
    return { type: 'SnapshotReceived', container, status, epoch: this.history.fencedEpoch };
  }

  private sendSnapshotOver(link: PeerLink, epoch: number): Promise<void> {
    const { logger } = this.options;
    const container = this.container.id;
    const source = { container, epoch, directory: this.container.directory, history: this.history, localDurableEnd: () => this.container.local.durablePosition };
    const active = (): boolean => !this.closed && !this.snapshotReceived && this.history.fencedEpoch <= epoch;
    logger.info({ container, epoch, to: link.node }, 'sending a snapshot to the replica being promoted');
    return sendSnapshot(link, source, active)
      .then(
        (sent) => logger.info({ container, epoch, to: link.node, status: sent?.reply.status ?? 'stopped' }, 'snapshot for the replica being promoted: done'),
        (error: unknown) => logger.warn({ container, epoch, to: link.node, err: error }, 'snapshot for the replica being promoted failed; it asks again'),
      )
      .finally(() => {
        link.close();
        this.outgoing = null;
      });
  }

  // --- primary internals ----------------------------------------------------------------------

  private localSettled(error?: Error): void {
    if (error) {
      this.failPending(error);
      return;
    }
    for (const shipper of this.shippers) shipper.localProgress();
    this.advance();
  }

  /** Recomputes what a majority holds; settles the appends it covers; starts serving once it covers the log. */
  private advance(): void {
    if (this.role !== 'primary') return;
    const ends = [this.container.local.durablePosition];
    for (const shipper of this.shippers) if (shipper.reachable && shipper.acked !== null) ends.push(shipper.acked);
    const majority = majorityPosition(ends, this.replicas);
    if (majority === null) return;
    // Checked even when nothing new is committed: a primary taking a new set of backups may find
    // its whole log already held by a majority.
    if (this.readyAt !== null && comparePositions(majority, this.readyAt) >= 0) {
      this.readyAt = null;
      this.options.logger.info({ container: this.container.id, epoch: this.epoch }, 'primary: serving');
    }
    if (comparePositions(majority, this.committed) <= 0) return;
    this.committed = majority;
    let settled = 0;
    let bytes = 0;
    while (settled < this.pending.length && comparePositions(this.pending[settled]!.end, majority) <= 0) {
      bytes += this.pending[settled]!.bytes;
      settled += 1;
    }
    if (settled === 0) return;
    const done = this.pending.splice(0, settled);
    for (const record of done) record.settle();
    this.container.onCommitted(majority, bytes);
  }

  /** The oldest append waited too long for a majority: fail what waits, serve nothing until a majority is back. */
  private checkTimeouts(): void {
    const oldest = this.pending[0];
    if (!oldest || Date.now() - oldest.since < this.options.ackTimeoutMs) return;
    const reachable = this.shippers.filter((shipper) => shipper.reachable).map((shipper) => shipper.link.node);
    const error = new NotEnoughReplicasError(
      `container ${this.container.id}: no majority of its ${this.replicas} replicas confirmed within ${this.options.ackTimeoutMs} ms ` +
        `(reachable backups: ${reachable.join(', ') || 'none'})`,
    );
    this.options.logger.warn({ container: this.container.id, epoch: this.epoch, reachable }, 'primary: no majority; not serving until one holds the log');
    this.readyAt = this.container.local.endPosition;
    this.unavailable = error;
    this.abandonPending(error);
  }

  private deposed(newerEpoch: number): void {
    if (this.role !== 'primary') return;
    const error = new FencedError(this.container.id, this.epoch, newerEpoch);
    this.options.logger.warn({ container: this.container.id, epoch: this.epoch, newerEpoch }, 'primary: fenced by a newer epoch; acknowledging nothing more');
    this.stopPrimary(error);
    this.role = 'none';
    this.options.onDeposed?.(this.container.id, newerEpoch);
  }

  private stopPrimary(reason: Error): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const shipper of this.shippers) shipper.stop();
    this.shippers = [];
    this.unavailable = reason;
    this.abandonPending(reason);
    // A primary's state holds its whole log (what it did not get acknowledged made it stateBehindLog).
    if (this.role === 'primary') this.applied = this.container.local.endPosition;
  }

  /** Fails the appends waiting for a majority; their records stay in the log (see onStateBehindLog). */
  private abandonPending(error: Error): void {
    if (this.failPending(error) === 0) return;
    this.stateBehindLog = true;
    if (!this.closed) this.options.onStateBehindLog?.(this.container.id);
  }

  private failPending(error: Error): number {
    const failed = this.pending;
    this.pending = [];
    for (const record of failed) record.settle(error);
    return failed.length;
  }

  // --- backup internals -----------------------------------------------------------------------

  /** Checks a Replicate and queues its records in the log; `written` answers once they are durable here. */
  private async admit(command: CommandOf<'Replicate'>): Promise<{ written: Promise<CommandOf<'Replicated'>> }> {
    const { container, epoch } = command;
    const answer = (status: string, end: LogPosition): CommandOf<'Replicated'> => ({
      type: 'Replicated',
      container,
      status,
      epoch: this.history.fencedEpoch,
      fileNumber: end.fileNumber,
      position: end.position,
    });
    const refuse = (status: string): { written: Promise<CommandOf<'Replicated'>> } => ({ written: Promise.resolve(answer(status, this.container.local.endPosition)) });
    if (epoch < this.history.fencedEpoch) return refuse('fenced');
    if (this.role !== 'backup' || epoch !== this.epoch || this.snapshotReceived) return refuse('not-ready');
    if (!this.inSync) {
      // The primary ships only once it serves, so its history now holds its whole log's epochs.
      // Checked before answering: a 'not-ready' would cost the primary a retry pause.
      this.checkingTail ??= this.checkTail().finally(() => {
        this.checkingTail = null;
      });
      await this.checkingTail;
      if (!this.inSync || this.role !== 'backup' || epoch !== this.epoch) return refuse('not-ready');
    }
    const at = { fileNumber: command.fileNumber, position: command.position };
    const { durable } = await this.enqueue(at, command.dataEpoch, command.data);
    const committed = { fileNumber: command.committedFileNumber, position: command.committedPosition };
    if (comparePositions(committed, this.primaryCommitted) > 0) this.primaryCommitted = committed;
    const written = durable.then((outcome) => {
      if (this.role === 'backup' && !this.snapshotReceived) this.applyUpTo(this.primaryCommitted);
      return answer(outcome.ok ? 'ok' : 'mismatch', outcome.end);
    });
    return { written };
  }

  /**
   * Applies the records durable here up to `limit` (null: all of them) to the container's state, as
   * recovery would; then the container's after-durable work (a checkpoint, retiring log files) runs
   * for them.
   */
  private applyUpTo(limit: LogPosition | null): void {
    let count = 0;
    let bytes = 0;
    for (const { at, bytes: recordBytes, record } of this.unapplied) {
      const end = { fileNumber: at.fileNumber, position: at.position + recordBytes.byteLength };
      if (limit !== null && comparePositions(end, limit) > 0) break;
      this.container.apply(record, at.fileNumber, at.position);
      this.applied = end;
      bytes += recordBytes.byteLength;
      count += 1;
    }
    if (count === 0) return;
    this.unapplied.splice(0, count);
    this.container.onCommitted(this.applied, bytes);
  }

  private async receiveSnapshot(command: CommandOf<'InstallSnapshot'>): Promise<CommandOf<'SnapshotReceived'>> {
    const { container, epoch } = command;
    const answer = (status: string): CommandOf<'SnapshotReceived'> => ({ type: 'SnapshotReceived', container, status, epoch: this.history.fencedEpoch });
    if (epoch < this.history.fencedEpoch) return answer('fenced');
    const awaited = this.awaited?.epoch === epoch ? this.awaited : null;
    if ((awaited === null && (this.role !== 'backup' || epoch !== this.epoch)) || this.snapshotReceived) return answer('not-ready');
    if (awaited !== null) awaited.timer.refresh();
    this.snapshot ??= new SnapshotReceiver(this.container.directory, this.options.sync);
    const outcome = await this.snapshot.receive(command, Math.max(epoch, this.history.fencedEpoch));
    if (outcome !== 'installed') return answer(outcome);
    // This log's files are to be replaced: it takes nothing more, and the container reopens from them.
    this.snapshotReceived = true;
    this.role = 'none';
    if (awaited !== null) {
      clearTimeout(awaited.timer);
      this.awaited = null;
      awaited.resolve();
    }
    this.options.logger.info({ container, epoch, end: `${command.fileNumber}:${command.position}` }, 'backup: snapshot received; reopening from it');
    this.options.onSnapshotReceived?.(container);
    return answer('ok');
  }

  private async checkTail(): Promise<void> {
    const primary = this.primary;
    if (primary === null) return;
    const lastEpoch = this.history.lastEpoch;
    const mine = this.container.local.durablePosition;
    let theirs: CommandOf<'EpochEnd'>;
    try {
      theirs = await primary.request<'GetEpochEnd'>({ type: 'GetEpochEnd', container: this.container.id, epoch: lastEpoch });
    } catch (error) {
      this.options.logger.debug({ container: this.container.id, err: error }, 'backup: could not ask the primary where our epoch ends; it retries');
      return;
    }
    if (this.primary !== primary || this.role !== 'backup') return;
    const cut = divergencePoint(this.history, lastEpoch, mine, theirs);
    if (cut === null) {
      this.inSync = true;
      return;
    }
    this.options.logger.warn({ container: this.container.id, from: formatPosition(cut), end: formatPosition(mine) }, 'backup: cutting a tail the primary does not hold');
    this.role = 'none';
    this.options.onDivergentTail?.(this.container.id, cut);
  }

  /**
   * Queues the batch's records at `at` (the end of this log, or the start of its next file); `durable`
   * settles once they are on disk, with where this log then ends. A batch that does not continue the
   * log queues nothing and is answered with the durable end, once what was queued before it is durable:
   * the primary counts that end as held here.
   */
  private async enqueue(at: LogPosition, dataEpoch: number, data: Buffer): Promise<{ durable: Promise<{ ok: boolean; end: LogPosition }> }> {
    const { local } = this.container;
    const durableEnd = (ok: boolean): Promise<{ ok: boolean; end: LogPosition }> => local.whenDurable().then(() => ({ ok, end: local.durablePosition }));
    const tail = local.endPosition;
    const continues = comparePositions(at, tail) === 0 || (at.position === 0 && at.fileNumber === tail.fileNumber + 1 && tail.position > 0);
    if (!continues) return { durable: durableEnd(false) };
    if (data.byteLength === 0) return { durable: durableEnd(true) };
    const records = splitBatch(data, at);
    this.fileEnds.observe(tail, at);
    // The epoch's start goes on disk before its first record (KIP-101's leader-epoch checkpoint).
    if (dataEpoch > this.history.lastEpoch) await this.history.startEpoch(dataEpoch, local.endPosition);
    const queued = records.map(
      ({ at: position, bytes, record }) =>
        new Promise<void>((resolve, reject) => {
          const accepted = local.appendAt(position, { chunks: [bytes], byteLength: bytes.byteLength }, (error) => {
            if (error) return reject(error);
            this.unapplied.push({ at: position, bytes, record });
            resolve();
          });
          if (!accepted) reject(new Error(`record at ${formatPosition(position)} does not continue the log at ${formatPosition(local.endPosition)}`));
        }),
    );
    const last = records.at(-1)!;
    const end = { fileNumber: last.at.fileNumber, position: last.at.position + last.bytes.byteLength };
    return { durable: Promise.all(queued).then(() => ({ ok: true, end })) };
  }
}


/**
 * Where this log must be cut to be a prefix of the primary's (null: it already is), given the
 * primary's answer to GetEpochEnd(our last epoch): the largest epoch it has not above ours and where
 * that epoch ends in its log. Our records past that end were never in the primary's log (KIP-279).
 */
export function divergencePoint(
  history: EpochHistory,
  lastEpoch: number,
  ourEnd: LogPosition,
  theirs: { epoch: number; fileNumber: number; position: number },
): LogPosition | null {
  let cut: LogPosition = { fileNumber: theirs.fileNumber, position: theirs.position };
  if (theirs.epoch !== lastEpoch) {
    // The primary never had our last epoch: our records end where its last common epoch ends here too.
    const ours = history.endOfEpoch(theirs.epoch, ourEnd).end;
    if (comparePositions(ours, cut) < 0) cut = ours;
  }
  return comparePositions(cut, ourEnd) < 0 ? cut : null;
}

function sameNodes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((node) => b.includes(node));
}
