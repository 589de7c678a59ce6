import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

import { comparePositions, syncDirectory, type LogPosition } from './log-files.js';
import { unlessMissing } from './unless-missing.js';

/**
 * A container's epochs (KIP-101's leader-epoch checkpoint): where in the log each epoch's records
 * start, and the highest epoch this replica has promised to follow (its fence). Kept in its own small
 * file beside the log, rewritten whole (temporary file, fsync, rename) at each change: epochs change
 * only at failovers, never per record.
 *
 * File `epochs`: JSON `{ "fenced": E, "starts": [[epoch, fileNumber, position], …] }`, epochs ascending.
 */
export interface EpochStart {
  epoch: number;
  start: LogPosition;
}

export const EPOCH_FILE = 'epochs';
const TEMPORARY_FILE = 'epochs.tmp';

export class EpochHistoryCorruptError extends Error {
  override readonly name = 'EpochHistoryCorruptError';
}

export class EpochHistory {
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly directory: string,
    private readonly sync: boolean,
    private fenced: number,
    private readonly starts: EpochStart[],
  ) {}

  /** The container's history; empty (epoch 0, nothing fenced) when the file does not exist yet. */
  static async load(directory: string, sync: boolean): Promise<EpochHistory> {
    const text = await unlessMissing(readFile(join(directory, EPOCH_FILE), 'utf8'));
    if (text === null) return new EpochHistory(directory, sync, 0, []);
    const { fenced, starts } = parseHistory(text, join(directory, EPOCH_FILE));
    return new EpochHistory(directory, sync, fenced, starts);
  }

  /**
   * A history written whole into `directory` (a snapshot being installed there): its epoch starts
   * as another replica sent them, fenced at `fenced`. Durable before it resolves.
   */
  static async create(directory: string, sync: boolean, fenced: number, starts: readonly EpochStart[]): Promise<EpochHistory> {
    const history = new EpochHistory(directory, sync, Math.max(fenced, starts.at(-1)?.epoch ?? 0), starts.map(({ epoch, start }) => ({ epoch, start: { ...start } })));
    await history.save();
    return history;
  }

  /** The highest epoch this replica has seen: requests of a lower epoch come from a deposed primary. */
  get fencedEpoch(): number {
    return this.fenced;
  }

  /** The epoch of the last records in the log (0 before any replicated epoch). */
  get lastEpoch(): number {
    return this.starts.at(-1)?.epoch ?? 0;
  }

  get entries(): readonly EpochStart[] {
    return this.starts;
  }

  /** Promises to refuse every request of an epoch below `epoch`; durable before it resolves. */
  async fence(epoch: number): Promise<void> {
    if (epoch <= this.fenced) return;
    this.fenced = epoch;
    await this.save();
  }

  /**
   * Records that the records of `epoch` start at `start` (the log end when the epoch's first record
   * is written). Also fences at epoch. Durable before it resolves, so it always precedes its records.
   */
  async startEpoch(epoch: number, start: LogPosition): Promise<void> {
    const last = this.starts.at(-1);
    if (last && last.epoch === epoch) return;
    if (last && (epoch < last.epoch || comparePositions(start, last.start) < 0)) {
      throw new RangeError(`epoch ${epoch} at ${formatPosition(start)} cannot follow epoch ${last.epoch} at ${formatPosition(last.start)}`);
    }
    this.starts.push({ epoch, start: { ...start } });
    this.fenced = Math.max(this.fenced, epoch);
    await this.save();
  }

  /**
   * KIP-101/279's OffsetsForLeaderEpoch: the largest epoch of this log not above `epoch`, and where
   * its records end (the start of the next epoch, or logEnd for the last one). A replica whose log
   * has records of that epoch past that end holds a tail the cluster never kept: it truncates there.
   * An epoch below every recorded one answers epoch 0 ending where the first recorded epoch starts.
   */
  endOfEpoch(epoch: number, logEnd: LogPosition): { epoch: number; end: LogPosition } {
    let found = 0;
    let next: EpochStart | undefined = this.starts[0];
    for (let k = 0; k < this.starts.length && this.starts[k]!.epoch <= epoch; k++) {
      found = this.starts[k]!.epoch;
      next = this.starts[k + 1];
    }
    return { epoch: found, end: next ? { ...next.start } : { ...logEnd } };
  }

  /**
   * The epoch whose records hold `position`, and where the next epoch starts (null for the last
   * one): a batch of records shipped to a replica never crosses that point.
   */
  epochAt(position: LogPosition): { epoch: number; nextStart: LogPosition | null } {
    let epoch = 0;
    let nextStart: LogPosition | null = this.starts[0]?.start ?? null;
    for (let k = 0; k < this.starts.length && comparePositions(this.starts[k]!.start, position) <= 0; k++) {
      epoch = this.starts[k]!.epoch;
      nextStart = this.starts[k + 1]?.start ?? null;
    }
    return { epoch, nextStart: nextStart && { ...nextStart } };
  }

  /** The log was cut at `end`: epochs whose records all lay past it are forgotten. */
  async truncateTo(end: LogPosition): Promise<void> {
    let keep = this.starts.length;
    while (keep > 0 && comparePositions(this.starts[keep - 1]!.start, end) >= 0) keep -= 1;
    if (keep === this.starts.length) return;
    this.starts.length = keep;
    await this.save();
  }

  /** Saves run one after another (a fence and an epoch start may come at once); each writes the state as of its turn. */
  private save(): Promise<void> {
    const turn = this.saving.then(() => this.write());
    this.saving = turn.catch(() => undefined);
    return turn;
  }

  private async write(): Promise<void> {
    const text = `{"fenced":${this.fenced},"starts":${encodeEpochStarts(this.starts)}}`;
    const temporary = join(this.directory, TEMPORARY_FILE);
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(text);
      if (this.sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, join(this.directory, EPOCH_FILE));
    if (this.sync) await syncDirectory(this.directory);
  }
}

function parseHistory(text: string, path: string): { fenced: number; starts: EpochStart[] } {
  const corrupt = (why: string): EpochHistoryCorruptError =>
    new EpochHistoryCorruptError(`epoch history ${path} is corrupt (${why}); restore it from another replica or remove the container's copy to resync it`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt('not JSON');
  }
  const { fenced, starts } = (parsed ?? {}) as { fenced?: unknown; starts?: unknown };
  if (!isCount(fenced) || !Array.isArray(starts)) throw corrupt('fields missing');
  return { fenced, starts: epochStartsOf(starts, corrupt) };
}

/** Epoch starts as the file (and a snapshot sent to a replica) has them: JSON `[[epoch, fileNumber, position], …]`. */
export function encodeEpochStarts(starts: readonly EpochStart[]): string {
  return JSON.stringify(starts.map(({ epoch, start }) => [epoch, start.fileNumber, start.position]));
}

/** The epoch starts of encodeEpochStarts' text; throws what `invalid` makes when they are not well formed. */
export function decodeEpochStarts(text: string, invalid: (why: string) => Error): EpochStart[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('not JSON');
  }
  if (!Array.isArray(parsed)) throw invalid('not a list');
  return epochStartsOf(parsed, invalid);
}

function epochStartsOf(starts: readonly unknown[], invalid: (why: string) => Error): EpochStart[] {
  const entries: EpochStart[] = [];
  for (const entry of starts) {
    if (!Array.isArray(entry) || entry.length !== 3 || !entry.every(isCount)) throw invalid('bad entry');
    const [epoch, fileNumber, position] = entry as [number, number, number];
    const previous = entries.at(-1);
    if (previous && (previous.epoch >= epoch || comparePositions(previous.start, { fileNumber, position }) > 0)) throw invalid('epochs out of order');
    entries.push({ epoch, start: { fileNumber, position } });
  }
  return entries;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

export function formatPosition(position: LogPosition): string {
  return `${position.fileNumber}:${position.position}`;
}
