import { stat } from 'node:fs/promises';

import { loadCheckpoint } from './checkpoint.js';
import { formatPosition } from './epoch-history.js';
import { comparePositions, cutLogAt, listLogFiles, logFilePath, removeLogFiles, type LogPosition } from './log-files.js';
import { scanLogFile } from './log-scanner.js';

/** The cut would remove records a checkpoint already holds: only a full resync can repair this copy. */
export class TruncationBelowCheckpointError extends Error {
  override readonly name = 'TruncationBelowCheckpointError';
}

/**
 * Cuts a (closed) container log at `end`: the file holding it is shortened to end.position, later
 * files are removed, and both are durable before this resolves. Used when a replica drops a tail the
 * cluster never acknowledged (KIP-101). `end` must be a record boundary of that file and not before
 * the checkpoint (checkpoints cover only acknowledged records, so a real divergent tail never is).
 */
export async function truncateLog(directory: string, end: LogPosition, sync: boolean): Promise<void> {
  const checkpoint = await loadCheckpoint(directory);
  if (checkpoint && comparePositions(end, checkpoint.logPosition) < 0) {
    throw new TruncationBelowCheckpointError(
      `cannot cut the log of ${directory} at ${formatPosition(end)}: its checkpoint already covers up to ${formatPosition(checkpoint.logPosition)}`,
    );
  }
  const files = await listLogFiles(directory);
  const later = files.filter((fileNumber) => fileNumber > end.fileNumber);
  if (files.includes(end.fileNumber)) {
    await checkRecordBoundary(logFilePath(directory, end.fileNumber), end);
    await cutLogAt(directory, end, later, sync);
    return;
  }
  if (end.position > 0) throw new RangeError(`cannot cut the log of ${directory} at ${formatPosition(end)}: that file does not exist`);
  await removeLogFiles(directory, later, sync);
}

/** Throws RangeError unless a record of the file starts at end.position (or the file ends there). */
async function checkRecordBoundary(path: string, end: LogPosition): Promise<void> {
  const size = (await stat(path)).size;
  if (size <= end.position) {
    if (size < end.position) throw new RangeError(`cannot cut ${path} at ${end.position}: it is only ${size} bytes long`);
    return;
  }
  let boundary = false;
  const scan = await scanLogFile(path, 0, (_record, position) => {
    if (position === end.position) boundary = true;
  });
  if (!boundary && scan.end !== end.position) throw new RangeError(`cannot cut ${path} at ${end.position}: no record starts there`);
}
