import { describe, expect, it } from 'vitest';

import { encodeAppend, encodeAttribute, RecordType } from '../store/record-codec.js';
import { block } from '../../test-support/store.js';
import { MalformedBatchError, splitBatch } from './record-batch.js';

function batchOf(...records: Array<{ chunks: Buffer[] }>): Buffer {
  return Buffer.concat(records.flatMap((record) => record.chunks));
}

describe('splitBatch', () => {
  it('splits a batch into its records at their positions, as views of the batch (no copy)', () => {
    const append = encodeAppend(1, 'w', 7, 2, block('e1', 'e2'));
    const attribute = encodeAttribute(1, 'mark', Buffer.from('v1'));
    const data = batchOf(append, attribute);
    const records = splitBatch(data, { fileNumber: 3, position: 100 });
    expect(records.map(({ at, record }) => [at.position, record.type])).toEqual([
      [100, RecordType.Append],
      [100 + append.byteLength, RecordType.Attribute],
    ]);
    expect(records.every(({ bytes }) => bytes.buffer === data.buffer)).toBe(true);
    expect(Buffer.concat(records.map(({ bytes }) => bytes))).toEqual(data);
  });

  it('an attribute value outlives the memory of the frame the batch came in', () => {
    const data = batchOf(encodeAttribute(1, 'mark', Buffer.from('v1')));
    const [split] = splitBatch(data, { fileNumber: 1, position: 0 });
    data.fill(0);
    expect(split!.record).toMatchObject({ type: RecordType.Attribute, key: 'mark', value: Buffer.from('v1') });
  });

  it('refuses a batch that is not whole CRC-valid records', () => {
    const data = batchOf(encodeAttribute(1, 'mark', Buffer.from('v1')));
    expect(() => splitBatch(data.subarray(0, data.byteLength - 1), { fileNumber: 1, position: 0 })).toThrow(MalformedBatchError);
    const last = data.byteLength - 1;
    data[last] = data[last]! ^ 1;
    expect(() => splitBatch(data, { fileNumber: 1, position: 0 })).toThrow(MalformedBatchError);
  });
});
