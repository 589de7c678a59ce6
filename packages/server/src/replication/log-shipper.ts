import type { CommandOf } from '@sluice/protocol';

import type { EpochHistory } from '../store/epoch-history.js';
import { extractRecords } from '../store/log-extract.js';
import { comparePositions, type LogPosition } from '../store/log-files.js';
import type { EncodedRecord } from '../store/record-codec.js';
import type { StoreLogger } from '../store/types.js';
import { readableFrom, type FileEnds } from './file-ends.js';
import type { PeerLink, PeerRequest } from './peer-link.js';
import { sendSnapshot } from './snapshot-sender.js';

/** Most Replicate requests one backup has in flight: enough to cover a round trip under load. */
const MAX_IN_FLIGHT = 8;
/** A batch takes records up to this size (always at least one record). */
const MAX_BATCH_BYTES = 1024 * 1024;
/** Records kept in memory for a backup that lags; older ones are read back from the log files. */
const MAX_WINDOW_BYTES = 32 * 1024 * 1024;
/** A Replicate's `data` field: its bytes travel as the request's trailing parts. */
const NO_DATA = Buffer.alloc(0);
/** After a failed request: the backup is down or cut off, ask again a little later. */
const RETRY_DELAY_MS = 200;
/** After 'not-ready': the backup has not yet learned its role for this epoch from etcd, which takes milliseconds. */
const NOT_READY_DELAY_MS = 20;

/**
 * A record the primary appended, as its shippers keep it (one object shared by every backup's
 * shipper): its bytes are the chunks the log writes, never joined into one buffer; a Replicate sends
 * them one after the other as its `data`.
 */
export interface ShippedRecord {
  readonly at: LogPosition;
  readonly end: LogPosition;
  readonly chunks: Buffer[];
  readonly byteLength: number;
}

/** The record appended at `at`, for every shipper of the primary. */
export function shippedRecord(at: LogPosition, record: EncodedRecord): ShippedRecord {
  return { at, end: { fileNumber: at.fileNumber, position: at.position + record.byteLength }, chunks: record.chunks, byteLength: record.byteLength };
}

/** What a shipper needs of the primary's log. */
export interface ShipperSource {
  container: number;
  epoch: number;
  directory: string;
  history: EpochHistory;
  /** Where the primary's retired log files ended: a backup ending exactly there goes on with records. */
  fileEnds: FileEnds;
  /** The end of the primary's own durable log: bytes below it can be read back from its files. */
  localDurableEnd(): LogPosition;
  /** The end of what a majority holds: each Replicate tells the backup, which applies and checkpoints up to it. */
  committedEnd(): LogPosition;
  /** The backup's durable end moved (it acknowledged records). */
  onProgress(): void;
  /** The backup has seen a newer epoch: this primary is deposed. */
  onFenced(newerEpoch: number): void;
  logger: StoreLogger;
}

/**
 * Sends one backup the primary's log, in order, as Replicate requests of whole records, and tracks
 * the backup's durable end (`acked`). Live records come from memory as the primary appends them; a
 * backup further behind (returning, or slower than the window) is fed from the log files until it
 * reaches the records still in memory. A backup whose log ends before the first file the primary
 * still has (the checkpointer retired the rest) is sent a snapshot of the container instead, and
 * shipping goes on from its end. On a lost connection or a position mismatch it starts again from
 * the end the backup reports.
 */
export class LogShipper {
  /** The backup's durable end as it last reported it; null until it answered once. */
  acked: LogPosition | null = null;
  /** False while requests to the backup fail (it counts for nothing toward a majority then). */
  reachable = false;
  private window: ShippedRecord[] = [];
  private windowBytes = 0;
  /** Where the next batch starts; null until the backup said where its log ends. */
  private next: LogPosition | null = null;
  private inFlight = 0;
  private busy = false;
  private pumpAgain = false;
  /** Bumped when the conversation restarts: replies to requests of an older generation are ignored. */
  private generation = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** While a snapshot is sent, nothing else is. */
  private snapshotting = false;

  constructor(
    readonly link: PeerLink,
    private readonly source: ShipperSource,
  ) {
    this.probe();
  }

  /** A record the primary just appended (not durable yet anywhere). */
  push(record: ShippedRecord): void {
    if (this.stopped) return;
    this.window.push(record);
    this.windowBytes += record.byteLength;
    while (this.windowBytes > MAX_WINDOW_BYTES && this.window.length > 1) this.drop(1);
    this.pump();
  }

  /** The primary's own log became durable further: a backup fed from the files may read on. */
  localProgress(): void {
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.generation += 1;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.window = [];
    this.link.close();
  }

  /** Asks the backup where its log ends (an empty Replicate), then ships from there. */
  private probe(): void {
    const generation = this.generation;
    const at = this.source.localDurableEnd();
    this.inFlight += 1;
    this.link
      .request<'Replicate'>(this.replicate(at, this.source.history.epochAt(at).epoch))
      .then(
        (reply) => this.onReply(generation, reply),
        (error: unknown) => this.onFailure(generation, error),
      )
      .finally(() => this.settled(generation));
  }

  private pump(): void {
    if (this.stopped || this.next === null || this.snapshotting) return;
    if (this.busy) {
      // A fill is awaiting a file read; it may have just been told to stop: look again after it.
      this.pumpAgain = true;
      return;
    }
    this.busy = true;
    void this.fill()
      .catch((error: unknown) => this.onFailure(this.generation, error))
      .finally(() => {
        this.busy = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  private async fill(): Promise<void> {
    while (!this.stopped && this.next !== null && this.inFlight < MAX_IN_FLIGHT) {
      const generation = this.generation;
      const batch = await this.nextBatch(this.next);
      if (batch === null || generation !== this.generation || this.next === null) return;
      if (batch === 'snapshot') return this.sendSnapshot(generation);
      this.next = batch.end;
      this.send(generation, batch.at, batch.epoch, batch.parts);
    }
  }

  private async nextBatch(from: LogPosition): Promise<{ at: LogPosition; end: LogPosition; epoch: number; parts: Buffer[] } | 'snapshot' | null> {
    const { epoch, nextStart } = this.source.history.epochAt(from);
    const first = this.windowIndexOf(from);
    if (first >= 0) {
      const records: ShippedRecord[] = [];
      let bytes = 0;
      for (let k = first; k < this.window.length; k++) {
        const record = this.window[k]!;
        if (records.length > 0 && (record.at.fileNumber !== records[0]!.at.fileNumber || bytes + record.byteLength > MAX_BATCH_BYTES)) break;
        if (nextStart !== null && comparePositions(record.at, nextStart) >= 0) break;
        records.push(record);
        bytes += record.byteLength;
      }
      return { at: records[0]!.at, end: records.at(-1)!.end, epoch, parts: records.flatMap((record) => record.chunks) };
    }
    // Behind the window: read back from the files what the primary has durably.
    let limit = this.source.localDurableEnd();
    const windowStart = this.window[0]?.at;
    if (windowStart && comparePositions(windowStart, limit) < 0) limit = windowStart;
    if (nextStart !== null && comparePositions(nextStart, limit) < 0) limit = nextStart;
    if (comparePositions(from, limit) >= 0) return null;
    const readable = await readableFrom(this.source.directory, from, this.source.fileEnds);
    if (readable === null) return 'snapshot';
    // The backup holds all of a retired file: it goes on with the next one (which the window may hold).
    if (readable !== from) return this.nextBatch(readable);
    const { at, data } = await extractRecords(this.source.directory, from, MAX_BATCH_BYTES, limit);
    if (data.byteLength === 0) return null;
    return { at, end: { fileNumber: at.fileNumber, position: at.position + data.byteLength }, epoch, parts: [data] };
  }

  /** The window index of the record starting at `from` (or at the next file's start, from being where its file ended); -1 if none. */
  private windowIndexOf(from: LogPosition): number {
    const index = this.windowSearch(from);
    if (index >= 0) return index;
    // That file may be retired by now: where it ended is all that says where the backup goes on.
    const next = this.source.fileEnds.following(from);
    return next === null ? -1 : this.windowSearch(next);
  }

  private windowSearch(from: LogPosition): number {
    let low = 0;
    let high = this.window.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = comparePositions(this.window[middle]!.at, from);
      if (order === 0) return middle;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** The backup's log ends in a file this primary retired: it gets the whole container, then shipping resumes from its end. */
  private sendSnapshot(generation: number): void {
    const { container, logger } = this.source;
    logger.info({ container, peer: this.link.node, from: this.next }, 'primary: the backup needs log files retired here; sending it a snapshot');
    this.snapshotting = true;
    const active = (): boolean => !this.stopped && generation === this.generation;
    sendSnapshot(this.link, this.source, active)
      .then(
        (sent) => {
          if (sent === null || !active()) return;
          const { reply, end } = sent;
          if (reply.status === 'fenced') return this.source.onFenced(reply.epoch);
          if (reply.status === 'ok') logger.info({ container, peer: this.link.node, end }, 'primary: snapshot sent');
          else logger.debug({ container, peer: this.link.node, status: reply.status }, 'snapshot refused; retrying');
          // Installed: the backup reopens the container from it, then answers from its new end.
          this.restart(null, reply.status === 'out-of-order' ? RETRY_DELAY_MS : NOT_READY_DELAY_MS);
        },
        (error: unknown) => this.onFailure(generation, error),
      )
      .finally(() => {
        this.snapshotting = false;
        this.pump();
      });
  }

  private send(generation: number, at: LogPosition, epoch: number, parts: Buffer[]): void {
    this.inFlight += 1;
    this.link
      .request<'Replicate'>(this.replicate(at, epoch), parts)
      .then(
        (reply) => this.onReply(generation, reply),
        (error: unknown) => this.onFailure(generation, error),
      )
      .finally(() => this.settled(generation));
  }

  /** A Replicate of records at `at`; their bytes go with it as the request's trailing parts (none: a probe). */
  private replicate(at: LogPosition, dataEpoch: number): PeerRequest<'Replicate'> {
    const { container, epoch } = this.source;
    const committed = this.source.committedEnd();
    return {
      type: 'Replicate',
      container,
      epoch,
      dataEpoch,
      fileNumber: at.fileNumber,
      position: at.position,
      committedFileNumber: committed.fileNumber,
      committedPosition: committed.position,
      data: NO_DATA,
    };
  }

  private settled(generation: number): void {
    if (generation !== this.generation) return;
    this.inFlight -= 1;
    this.pump();
  }

  private onReply(generation: number, reply: CommandOf<'Replicated'>): void {
    if (this.stopped) return;
    if (reply.status === 'fenced') {
      this.source.onFenced(reply.epoch);
      return;
    }
    if (generation !== this.generation) return;
    const end = { fileNumber: reply.fileNumber, position: reply.position };
    this.reachable = true;
    if (reply.status === 'ok') {
      if (this.acked === null || comparePositions(end, this.acked) > 0) this.acked = end;
      if (this.next === null) this.next = end;
      this.trimWindow();
      this.source.onProgress();
      return;
    }
    if (reply.status === 'mismatch') {
      // The backup's log ends elsewhere than this conversation assumed: go on from its end.
      this.acked = end;
      this.restart(end, 0);
      this.source.onProgress();
      return;
    }
    // 'not-ready': the backup is still setting up for this epoch (cutting a divergent tail).
    this.source.logger.debug({ container: this.source.container, peer: this.link.node, epoch: reply.epoch }, 'backup not ready; retrying');
    this.restart(null, NOT_READY_DELAY_MS);
  }

  private onFailure(generation: number, error: unknown): void {
    if (this.stopped || generation !== this.generation) return;
    this.source.logger.debug({ container: this.source.container, peer: this.link.node, err: error }, 'replication request failed; retrying');
    this.reachable = false;
    this.restart(null, RETRY_DELAY_MS);
    this.source.onProgress();
  }

  /** Drops what is in flight and starts again from `from` (null: ask the backup first) after delayMs. */
  private restart(from: LogPosition | null, delayMs: number): void {
    this.generation += 1;
    this.inFlight = 0;
    this.next = from;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const resume = (): void => {
      this.retryTimer = null;
      if (this.stopped) return;
      if (this.next === null) this.probe();
      else this.pump();
    };
    if (delayMs === 0) resume();
    else this.retryTimer = setTimeout(resume, delayMs);
  }

  private trimWindow(): void {
    const acked = this.acked;
    if (acked === null) return;
    let drop = 0;
    while (drop < this.window.length && comparePositions(this.window[drop]!.end, acked) <= 0) drop += 1;
    if (drop > 0) this.drop(drop);
  }

  /** Forgets the window's first `count` records. */
  private drop(count: number): void {
    const dropped = this.window.splice(0, count);
    for (const record of dropped) this.windowBytes -= record.byteLength;
  }
}
