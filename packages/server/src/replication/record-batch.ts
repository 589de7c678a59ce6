import type { LogPosition } from '../store/log-files.js';
import { decodeRecord, isRecordType, RECORD_HEADER_SIZE, readRecordHeader, recordChecksumMatches, type LogRecord } from '../store/record-codec.js';

export interface BatchRecord {
  at: LogPosition;
  bytes: Buffer;
  record: LogRecord;
}

/** A batch of records another replica sent is not whole CRC-valid records: it is refused whole. */
export class MalformedBatchError extends Error {
  override readonly name = 'MalformedBatchError';
}

/** Splits a batch shipped from `at` into its records, checking each one's CRC as recovery would. */
export function splitBatch(data: Buffer, at: LogPosition): BatchRecord[] {
  const records: BatchRecord[] = [];
  let offset = 0;
  while (offset < data.byteLength) {
    const header = offset + RECORD_HEADER_SIZE <= data.byteLength ? readRecordHeader(data, offset) : null;
    if (header === null || !isRecordType(header.type)) throw new MalformedBatchError(`no record starts at byte ${offset} of the batch`);
    const length = RECORD_HEADER_SIZE + header.bodyLength;
    if (offset + length > data.byteLength) throw new MalformedBatchError(`the record at byte ${offset} runs past the batch`);
    if (!recordChecksumMatches(data, offset, header.bodyLength)) throw new MalformedBatchError(`the record at byte ${offset} fails its CRC`);
    // A view, not a copy: the batch lies in a received frame that nothing writes to again (a receiver
    // never reuses the memory of a frame whose command carries bytes), the bytes are only written to
    // the log and dropped once applied, and decodeRecord copies what a record keeps (attribute values).
    const bytes = data.subarray(offset, offset + length);
    const record = decodeRecord(header.type, bytes, RECORD_HEADER_SIZE, header.bodyLength);
    records.push({ at: { fileNumber: at.fileNumber, position: at.position + offset }, bytes, record });
    offset += length;
  }
  return records;
}
