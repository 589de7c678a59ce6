import { stat } from 'node:fs/promises';

import type { LogPosition } from '../store/log-files.js';
import { logFilePath } from '../store/log-files.js';
import { unlessMissing } from '../store/unless-missing.js';

/** Ends remembered; the oldest are forgotten past this (a replica that far behind gets a snapshot). */
const MAX_REMEMBERED = 4096;

/**
 * Where the log files this replica's log rolled over from ended, as it wrote them. Once a file is
 * retired its size is gone from the disk, yet a replica whose log ends exactly there holds all of it
 * and can go on with the next file's records: without this, it would be sent the whole container.
 */
export class FileEnds {
  private readonly ends = new Map<number, number>();

  /** The log ended at `before` and a record was just written at `at`: when `at` opens a new file, `before` ended the last one. */
  observe(before: LogPosition, at: LogPosition): void {
    if (at.fileNumber === before.fileNumber) return;
    this.ends.set(before.fileNumber, before.position);
    if (this.ends.size > MAX_REMEMBERED) this.ends.delete(this.ends.keys().next().value!);
  }

  /** The start of the next file when `end` is where its file ended, else null. */
  following(end: LogPosition): LogPosition | null {
    return this.ends.get(end.fileNumber) === end.position ? { fileNumber: end.fileNumber + 1, position: 0 } : null;
  }
}

/**
 * Where the records after `from` can be read in this log's files: `from` while its file is there,
 * the next file's start when its file was retired but is known to have ended exactly at `from`, or
 * null when the records after it were retired (only a snapshot brings them).
 */
export async function readableFrom(directory: string, from: LogPosition, ends: FileEnds): Promise<LogPosition | null> {
  if ((await unlessMissing(stat(logFilePath(directory, from.fileNumber)))) !== null) return from;
  return ends.following(from);
}
