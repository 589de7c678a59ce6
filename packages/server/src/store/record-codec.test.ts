import { describe, expect, it } from 'vitest';

import {
  decodeRecord,
  encodeAppend,
  encodeAttribute,
  encodeCreateSegment,
  encodeDelete,
  encodeSeal,
  encodeTruncate,
  RECORD_HEADER_SIZE,
  readRecordHeader,
  recordChecksumMatches,
  RecordType,
  ShortStringInterner,
  verifiedAppendStart,
  type EncodedRecord,
  type RecordTypeCode,
} from './record-codec.js';
import { block } from '../../test-support/store.js';

function bytesOf(record: EncodedRecord): Buffer {
  const bytes = Buffer.concat(record.chunks);
  expect(bytes.byteLength).toBe(record.byteLength);
  return bytes;
}

function decode(bytes: Buffer): ReturnType<typeof decodeRecord> {
  const header = readRecordHeader(bytes, 0)!;
  expect(header.bodyLength).toBe(bytes.byteLength - RECORD_HEADER_SIZE);
  expect(recordChecksumMatches(bytes, 0, header.bodyLength)).toBe(true);
  return decodeRecord(header.type as RecordTypeCode, bytes, RECORD_HEADER_SIZE, header.bodyLength);
}

describe('record codec', () => {
  it('round-trips every record type', () => {
    expect(decode(bytesOf(encodeCreateSegment(7, 'scope/stream/3')))).toEqual({ type: RecordType.CreateSegment, segmentId: 7, name: 'scope/stream/3' });
    expect(decode(bytesOf(encodeSeal(8)))).toEqual({ type: RecordType.Seal, segmentId: 8 });
    expect(decode(bytesOf(encodeDelete(9)))).toEqual({ type: RecordType.Delete, segmentId: 9 });
    expect(decode(bytesOf(encodeTruncate(1, 2 ** 40 + 12)))).toEqual({ type: RecordType.Truncate, segmentId: 1, offset: 2 ** 40 + 12 });
    for (const value of [null, 0, 2 ** 53 - 1, Buffer.from('ünïcode bytes')]) {
      expect(decode(bytesOf(encodeAttribute(2, 'ключ', value)))).toEqual({ type: RecordType.Attribute, segmentId: 2, key: 'ключ', value });
    }
  });

  it('keeps the append block as its own chunk, uncopied, and points at it', () => {
    const data = block('one', 'two');
    const record = encodeAppend(3, 'writer-é', 41, 2, data);
    expect(record.chunks[1]).toBe(data);
    const bytes = bytesOf(record);
    const decoded = decode(bytes);
    expect(decoded).toEqual({
      type: RecordType.Append,
      segmentId: 3,
      writerId: 'writer-é',
      lastEventNumber: 41,
      eventCount: 2,
      blockOffset: record.blockOffset - RECORD_HEADER_SIZE,
      blockLength: data.byteLength,
    });
    expect(bytes.subarray(record.blockOffset).equals(data)).toBe(true);
    const anonymous = decode(bytesOf(encodeAppend(3, '', -1, 2, data)));
    expect(anonymous).toMatchObject({ writerId: '', lastEventNumber: -1 });
  });

  it('detects a flipped bit anywhere in the record, header included', () => {
    const bytes = bytesOf(encodeAppend(3, 'w', 5, 1, block('payload')));
    for (let position = 0; position < bytes.byteLength; position++) {
      const damaged = Buffer.from(bytes);
      damaged[position] = damaged[position]! ^ 0x10;
      const header = readRecordHeader(damaged, 0);
      const intact = header !== null && header.bodyLength === bytes.byteLength - RECORD_HEADER_SIZE && recordChecksumMatches(damaged, 0, header.bodyLength);
      expect(intact, `flip at ${position}`).toBe(false);
    }
  });

  it('refuses strings too long for their u16 length', () => {
    expect(() => encodeCreateSegment(1, 'x'.repeat(70_000))).toThrow(RangeError);
  });

  it('interns writer ids: equal bytes give one string', () => {
    const strings = new ShortStringInterner();
    const bytes = Buffer.from('..writer-a..writer-a..writer-b');
    const first = strings.decode(bytes, 2, 10);
    expect(first).toBe('writer-a');
    expect(strings.decode(bytes, 12, 20)).toBe(first);
    expect(strings.decode(bytes, 22, 30)).toBe('writer-b');
  });
});

describe('verifiedAppendStart', () => {
  it('finds the append record of a block by its CRC, whatever the writer id length; a flipped byte finds none', () => {
    for (const writerId of ['', 'w', 'a'.repeat(36), 'b'.repeat(300)]) {
      const before = Buffer.from('previous record bytes');
      const record = encodeAppend(7, writerId, 41, 1, Buffer.from('\u0000\u0000\u0000\u0003abc', 'latin1'));
      const bytes = Buffer.concat([before, ...record.chunks]);
      const blockAt = before.byteLength + record.blockOffset;
      expect(verifiedAppendStart(bytes, blockAt, 7)).toBe(before.byteLength);
      bytes.writeUInt8(bytes.readUInt8(blockAt + 5) ^ 0x01, blockAt + 5);
      expect(verifiedAppendStart(bytes, blockAt, 7)).toBe(-1);
    }
  });
});
