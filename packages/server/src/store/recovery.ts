import { stat } from 'node:fs/promises';

import { loadCheckpoint, removeCheckpointLeftovers, type Checkpoint } from './checkpoint.js';
import { cutLogAt, listLogFiles, logFilePath, type LogPosition } from './log-files.js';
import { findValidRecord, scanLogFile, type LogDamage } from './log-scanner.js';
import { RECORD_HEADER_SIZE, RecordType, ShortStringInterner, type LogRecord } from './record-codec.js';
import { SegmentIndex } from './segment-index.js';
import { SegmentState } from './segment-state.js';
import type { StoreLogger } from './types.js';

/** What an operator can do about damage in the middle of a log (a node keeps no replicas). */
const WHAT_TO_DO =
  "Restore this container's directory from a backup of the stopped node, or run `sluice-server repair --data-dir <dir>` " +
  'to keep the log up to the bad record and drop everything after it (it says how much)';

/** The log is damaged somewhere other than its tail: acknowledged data would be lost by going on. */
export class LogCorruptionError extends Error {
  override readonly name = 'LogCorruptionError';
}

export interface RecoveredContainer {
  /** Live segments by id. */
  segments: Map<number, SegmentState>;
  nextSegmentId: number;
  /** Where the next record goes. */
  logEnd: LogPosition;
  /** Log bytes replayed after the checkpoint. */
  replayedBytes: number;
}

/**
 * Rebuilds a container's state: the latest checkpoint, then every record after the position it
 * covers. A bad record (short, bad CRC, garbage) with nothing valid after it is a torn tail from
 * a crash mid-write: it was never acknowledged, so the file is cut there. A bad record followed by
 * a valid one is corruption inside the log; recovery refuses to guess and throws.
 */
export async function recoverContainer(directory: string, containerId: number, logger: StoreLogger): Promise<RecoveredContainer> {
  await removeCheckpointLeftovers(directory);
  const checkpoint = await loadCheckpoint(directory);
  if (checkpoint && checkpoint.containerId !== containerId) {
    throw new LogCorruptionError(`the checkpoint in ${directory} belongs to container ${checkpoint.containerId}, not ${containerId}`);
  }
  const replay = new Replay(checkpoint, logger, containerId);
  const files = await listLogFiles(directory);
  const start = checkpoint?.logPosition ?? { fileNumber: files[0] ?? 1, position: 0 };
  const toReplay = files.filter((fileNumber) => fileNumber >= start.fileNumber);
  checkNoMissingFiles(directory, start, toReplay);

  let logEnd = start;
  let replayedBytes = 0;
  const strings = new ShortStringInterner();
  for (const [order, fileNumber] of toReplay.entries()) {
    const path = logFilePath(directory, fileNumber);
    const from = fileNumber === start.fileNumber ? start.position : 0;
    const newest = order === toReplay.length - 1;
    const result = await scanLogFile(path, from, (record, position) => replay.apply(record, fileNumber, position), { newest, strings });
    if (result.fileSize < from) {
      throw new LogCorruptionError(`log file ${path} is ${result.fileSize} bytes, shorter than the checkpoint position ${from}: acknowledged data is missing`);
    }
    replayedBytes += result.end - from;
    logEnd = { fileNumber, position: result.end };
    if (result.damage) {
      await dropTornTail(directory, fileNumber, result.damage, toReplay.slice(order + 1), logger, containerId);
      break;
    }
  }
  if (replay.unknownSegmentRecords > 0) {
    logger.warn({ container: containerId, records: replay.unknownSegmentRecords }, 'log records for unknown segments were ignored');
  }
  return { segments: replay.segments, nextSegmentId: replay.nextSegmentId, logEnd, replayedBytes };
}

/** Replay needs every file from the checkpoint's on: a gap means a lost file, not a short log. */
function checkNoMissingFiles(directory: string, start: LogPosition, toReplay: readonly number[]): void {
  if (toReplay.length === 0 ? start.position > 0 : toReplay[0] !== start.fileNumber) {
    throw new LogCorruptionError(`log file ${logFilePath(directory, start.fileNumber)}, which the checkpoint points into, is missing`);
  }
  for (let i = 1; i < toReplay.length; i++) {
    if (toReplay[i] !== toReplay[i - 1]! + 1) {
      throw new LogCorruptionError(`log file ${logFilePath(directory, toReplay[i - 1]! + 1)} is missing between existing log files`);
    }
  }
}

async function dropTornTail(
  directory: string,
  fileNumber: number,
  damage: LogDamage,
  laterFiles: readonly number[],
  logger: StoreLogger,
  containerId: number,
): Promise<void> {
  const path = logFilePath(directory, fileNumber);
  const validAfter = await findValidRecord(path, damage.position + 1);
  if (validAfter !== null) {
    throw new LogCorruptionError(
      `log file ${path} is corrupt at byte ${damage.position} (${damage.reason}) but a valid record follows at byte ${validAfter}: ` +
        `refusing to drop acknowledged data. ${WHAT_TO_DO}`,
    );
  }
  // Each file is fsynced before the next one gets its first byte: damage in a file followed by a
  // file holding data is not a write cut short by a crash.
  for (const later of laterFiles) {
    const laterPath = logFilePath(directory, later);
    if ((await stat(laterPath)).size > 0) {
      throw new LogCorruptionError(
        `log file ${path} is corrupt at byte ${damage.position} (${damage.reason}) but the later ${laterPath} holds data: ` +
          `refusing to drop acknowledged data. ${WHAT_TO_DO}`,
      );
    }
  }
  logger.warn({ container: containerId, file: path, position: damage.position, reason: damage.reason }, 'dropping a torn record at the log tail');
  await cutLogAt(directory, { fileNumber, position: damage.position }, laterFiles);
}

/**
 * Applies log records to a container's state, each accepted and committed at once: what recovery
 * does with the log after the checkpoint, and what a backup does with each record it replicates.
 */
export class Replay {
  nextSegmentId = 0;
  unknownSegmentRecords = 0;

  constructor(
    checkpoint: Checkpoint | null,
    private readonly logger: StoreLogger,
    private readonly containerId: number,
    /** Live segments by id; a backup passes its container's own map. */
    readonly segments = new Map<number, SegmentState>(),
  ) {
    if (!checkpoint) return;
    this.nextSegmentId = checkpoint.nextSegmentId;
    for (const saved of checkpoint.segments) {
      const index = new SegmentIndex(saved.index);
      this.segments.set(saved.id, SegmentState.recovered(saved.id, saved.name, saved.view, index, saved.attributes, saved.writers));
    }
  }

  apply(record: LogRecord, fileNumber: number, position: number): void {
    if (record.type === RecordType.CreateSegment) {
      const segment = new SegmentState(record.segmentId, record.name);
      segment.created = true;
      this.segments.set(record.segmentId, segment);
      this.nextSegmentId = Math.max(this.nextSegmentId, record.segmentId + 1);
      return;
    }
    const segment = this.segments.get(record.segmentId);
    if (!segment) {
      this.unknownSegmentRecords += 1;
      if (this.unknownSegmentRecords === 1) {
        this.logger.debug({ container: this.containerId, record: record.type, segmentId: record.segmentId }, 'log record for an unknown segment');
      }
      return;
    }
    switch (record.type) {
      case RecordType.Append: {
        const blockPosition = position + RECORD_HEADER_SIZE + record.blockOffset;
        const { writerId, lastEventNumber } = record;
        const end = segment.acceptAppend(record.blockLength, fileNumber, blockPosition, writerId, lastEventNumber);
        segment.commitAppend(end, writerId, lastEventNumber);
        return;
      }
      case RecordType.Seal:
        segment.acceptSeal();
        segment.commitSeal();
        return;
      case RecordType.Truncate:
        segment.acceptTruncate(record.offset);
        segment.commitTruncate(record.offset);
        return;
      case RecordType.Delete:
        segment.commitDelete();
        this.segments.delete(record.segmentId);
        return;
      case RecordType.Attribute:
        segment.acceptAttribute(record.key, record.value);
        segment.commitAttribute(record.key, record.value);
        return;
    }
  }
}
