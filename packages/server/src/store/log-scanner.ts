import { open, type FileHandle } from 'node:fs/promises';

import {
  decodeRecord,
  isRecordType,
  MAX_RECORD_BODY,
  RECORD_HEADER_SIZE,
  readRecordHeader,
  recordChecksumMatches,
  ShortStringInterner,
  type LogRecord,
} from './record-codec.js';

/** Where a scan stopped before the end of the file, and why. */
export interface LogDamage {
  position: number;
  reason: string;
}

export interface ScanResult {
  /** Just past the last good record. */
  end: number;
  fileSize: number;
  /** Null when the file ended exactly after a good record. */
  damage: LogDamage | null;
}

/** Large sequential reads: replay speed is bound by read and CRC throughput, not syscalls. */
const READ_CHUNK = 8 * 1024 * 1024;

export interface ScanOptions {
  /**
   * The log's newest file: zeros from a stop to the end of it are room the log writer sized ahead of
   * its records (LogWriter's ROOM_AHEAD_BYTES), the log's clean end. An older file was cut back to its
   * records before the next one got a byte, so zeros there are damage.
   */
  newest?: boolean;
  /** One interner for the scans of all files of a container, so writer ids are decoded once. */
  strings?: ShortStringInterner;
}

/**
 * Reads one log file from `from` to its end in big chunks and hands each good record to visit, with
 * the record's position in the file. Stops at the first record that is short, has no magic, an
 * unknown type, an absurd length or a CRC mismatch, and reports where (unless only the newest file's
 * room follows: see ScanOptions).
 */
export async function scanLogFile(
  path: string,
  from: number,
  visit: (record: LogRecord, position: number) => void,
  { newest = false, strings = new ShortStringInterner() }: ScanOptions = {},
): Promise<ScanResult> {
  const handle = await open(path, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    const window = new ReadWindow(handle, fileSize, from);
    let position = from;
    const stop = async (reason: string): Promise<ScanResult> => {
      if ((await lengthWithoutZeros(handle, fileSize)) > position) return { end: position, fileSize, damage: { position, reason } };
      return { end: position, fileSize, damage: newest ? null : { position, reason: ROOM_REASON } };
    };
    while (position < fileSize) {
      // has() first: an await per record, even of a promise that is already settled, costs more than
      // the record's CRC (replay handles millions of small records).
      if (!window.has(position, RECORD_HEADER_SIZE) && !(await window.load(position, RECORD_HEADER_SIZE))) {
        return await stop('the file ends inside a record header');
      }
      const header = readRecordHeader(window.buffer, position - window.start);
      if (header === null) return await stop('no record starts here (bad magic byte)');
      if (!isRecordType(header.type)) return await stop(`unknown record type ${header.type}`);
      if (header.bodyLength > MAX_RECORD_BODY) return await stop(`record length ${header.bodyLength} is beyond any real record`);
      const recordLength = RECORD_HEADER_SIZE + header.bodyLength;
      if (!window.has(position, recordLength) && !(await window.load(position, recordLength))) {
        return await stop('the file ends inside a record');
      }
      const at = position - window.start;
      if (!recordChecksumMatches(window.buffer, at, header.bodyLength)) return await stop('CRC mismatch');
      visit(decodeRecord(header.type, window.buffer, at + RECORD_HEADER_SIZE, header.bodyLength, strings), position);
      position += recordLength;
    }
    return { end: position, fileSize, damage: null };
  } finally {
    await handle.close();
  }
}

const ROOM_REASON = 'zeros to the end of the file (room made ahead of the records)';

/** Where the file's last non-zero byte ends, read backwards from `fileSize`: the zeros it ends in left out. */
async function lengthWithoutZeros(handle: FileHandle, fileSize: number): Promise<number> {
  const chunk = Buffer.allocUnsafe(64 * 1024);
  for (let end = fileSize; end > 0; ) {
    const start = Math.max(0, end - chunk.byteLength);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    for (let at = bytesRead - 1; at >= 0; at--) if (chunk[at] !== 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/**
 * The file's length without the zeros it ends in (room the log writer sized ahead of its records);
 * a record whose own last bytes are zeros is counted a few bytes short. For reports, not recovery.
 */
export async function lengthBeforeZeros(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    return await lengthWithoutZeros(handle, (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

/**
 * The position of the first whole, CRC-valid record starting at or after `from`, or null. Used
 * after a bad record to tell a torn tail (nothing valid follows) from corruption in the middle of
 * the log (valid records follow, so acknowledged data would be lost by cutting there). Checks
 * every byte position, so it also finds records when the bad one's length field is garbage.
 */
export async function findValidRecord(path: string, from: number): Promise<number | null> {
  const handle = await open(path, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    // Chunks overlap by a header, so every candidate's header is whole in some chunk.
    for (let chunkStart = from; chunkStart + RECORD_HEADER_SIZE <= fileSize; chunkStart += READ_CHUNK - RECORD_HEADER_SIZE) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(READ_CHUNK, fileSize - chunkStart), chunkStart);
      for (let at = 0; at + RECORD_HEADER_SIZE <= bytesRead; at++) {
        // Cheap filters first: almost every position of garbage or payload fails them.
        const header = readRecordHeader(chunk, at);
        if (header === null || !isRecordType(header.type) || header.bodyLength > MAX_RECORD_BODY) continue;
        const position = chunkStart + at;
        const recordLength = RECORD_HEADER_SIZE + header.bodyLength;
        if (position + recordLength > fileSize) continue;
        const valid =
          at + recordLength <= bytesRead
            ? recordChecksumMatches(chunk, at, header.bodyLength)
            : await isValidRecordAt(handle, position, header.bodyLength);
        if (valid) return position;
      }
    }
    return null;
  } finally {
    await handle.close();
  }
}

async function isValidRecordAt(handle: FileHandle, position: number, bodyLength: number): Promise<boolean> {
  const record = Buffer.allocUnsafe(RECORD_HEADER_SIZE + bodyLength);
  await handle.read(record, 0, record.byteLength, position);
  return recordChecksumMatches(record, 0, bodyLength);
}

/** A sliding buffer over a file, refilled so a requested range is in memory in one piece. */
class ReadWindow {
  buffer = Buffer.allocUnsafe(READ_CHUNK);
  /** File position of buffer[0]. */
  start: number;
  private filled = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly fileSize: number,
    from: number,
  ) {
    this.start = from;
  }

  has(position: number, length: number): boolean {
    return position + length <= this.start + this.filled;
  }

  /** Makes [position, position + length) available; false when the file ends before that. */
  async load(position: number, length: number): Promise<boolean> {
    if (position + length <= this.start + this.filled) return true;
    if (position + length > this.fileSize) return false;
    const keep = Math.max(0, this.start + this.filled - position);
    if (length > this.buffer.byteLength) {
      const larger = Buffer.allocUnsafe(Math.max(length, READ_CHUNK));
      this.buffer.copy(larger, 0, position - this.start, position - this.start + keep);
      this.buffer = larger;
    } else {
      this.buffer.copyWithin(0, position - this.start, position - this.start + keep);
    }
    this.start = position;
    this.filled = keep;
    while (this.filled < length) {
      const room = Math.min(this.buffer.byteLength - this.filled, this.fileSize - (this.start + this.filled));
      const { bytesRead } = await this.handle.read(this.buffer, this.filled, room, this.start + this.filled);
      if (bytesRead === 0) return false;
      this.filled += bytesRead;
    }
    return true;
  }
}
