import { open, stat } from 'node:fs/promises';

import { logFilePath, type LogPosition } from './log-files.js';
import { RECORD_HEADER_SIZE, readRecordHeader } from './record-codec.js';

export interface ExtractedRecords {
  /** Where data starts: `from`, or the start of the next file when `from` was the end of its file. */
  at: LogPosition;
  /** Whole records as they are on disk, back to back; empty at the end of the log. */
  data: Buffer;
}

/**
 * Whole log records from `from` (a record boundary) up to about maxBytes (at least one record when
 * any is there), all from one file: what a primary sends a replica catching up. Reads only bytes
 * below `limit`, so a record still on its way to disk is never sent.
 */
export async function extractRecords(directory: string, from: LogPosition, maxBytes: number, limit: LogPosition): Promise<ExtractedRecords> {
  let at = from;
  if (at.fileNumber < limit.fileNumber) {
    // Two stats, not a directory listing: a replica catching up reads many batches.
    const size = await fileSize(logFilePath(directory, at.fileNumber));
    if (size !== null && at.position >= size && (await fileSize(logFilePath(directory, at.fileNumber + 1))) !== null) at = { fileNumber: at.fileNumber + 1, position: 0 };
  }
  const end = at.fileNumber === limit.fileNumber ? limit.position : Number.POSITIVE_INFINITY;
  if (at.fileNumber > limit.fileNumber || at.position >= end) return { at, data: Buffer.alloc(0) };
  const handle = await open(logFilePath(directory, at.fileNumber), 'r');
  try {
    const stop = Math.min(end, (await handle.stat()).size);
    let want = Math.min(Math.max(maxBytes, RECORD_HEADER_SIZE), stop - at.position);
    for (;;) {
      const bytes = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(bytes, 0, want, at.position);
      const whole = wholeRecordsPrefix(bytes.subarray(0, bytesRead));
      if (whole.byteLength > 0 || bytesRead === 0) return { at, data: whole };
      // The first record is longer than maxBytes: read exactly that record.
      const header = readRecordHeader(bytes, 0);
      if (header === null) throw new Error(`no log record starts at ${at.fileNumber}:${at.position}`);
      const length = RECORD_HEADER_SIZE + header.bodyLength;
      if (length > stop - at.position) return { at, data: Buffer.alloc(0) };
      want = length;
    }
  } finally {
    await handle.close();
  }
}

/** The longest prefix of bytes made of whole records (headers are trusted: these bytes passed their CRC when written). */
export function wholeRecordsPrefix(bytes: Buffer): Buffer {
  let position = 0;
  while (position + RECORD_HEADER_SIZE <= bytes.byteLength) {
    const header = readRecordHeader(bytes, position);
    if (header === null) throw new Error(`no log record starts at byte ${position} of the batch`);
    const next = position + RECORD_HEADER_SIZE + header.bodyLength;
    if (next > bytes.byteLength) break;
    position = next;
  }
  return bytes.subarray(0, position);
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}
