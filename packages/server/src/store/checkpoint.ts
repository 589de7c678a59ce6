import { crc32 } from 'node:zlib';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';

import type { AttributeValue } from '@sluice/protocol';

import { ByteReader, ByteWriter } from './byte-codec.js';
import { syncDirectory, type LogPosition } from './log-files.js';
import { unlessMissing } from './unless-missing.js';
import type { IndexArrays } from './segment-index.js';
import type { SegmentView } from './segment-state.js';

/**
 * A checkpoint is a container's durable state as of one log position: every live segment with its
 * metadata, attributes, writer event numbers and record index. Recovery loads it and replays only
 * the log after that position, which bounds recovery time by the checkpoint interval.
 *
 * File layout:
 *   "SLCP" | u8 version | u8 byte order ('L'/'B') | u16 reserved | f64 body length | u32 crc32(body) | body
 * It is written to a temporary file, fsynced, and renamed over the previous one, so a crash leaves
 * either the old checkpoint or the new one, never half of one.
 */
export interface CheckpointSegment {
  id: number;
  name: string;
  view: SegmentView;
  attributes: Array<[string, AttributeValue]>;
  writers: Array<[string, number]>;
  index: IndexArrays;
}

export interface Checkpoint {
  containerId: number;
  /** The log up to here is reflected in this checkpoint; replay starts here. */
  logPosition: LogPosition;
  nextSegmentId: number;
  segments: CheckpointSegment[];
}

const MAGIC = Buffer.from('SLCP', 'latin1');
const VERSION = 1;
const HEADER_SIZE = 20;
const BYTE_ORDER = endianness() === 'LE' ? 0x4c : 0x42;

const ATTRIBUTE_NUMBER = 1;
const ATTRIBUTE_BYTES = 2;

export const CHECKPOINT_FILE = 'checkpoint';
const TEMPORARY_FILE = 'checkpoint.tmp';

export class CheckpointCorruptError extends Error {
  override readonly name = 'CheckpointCorruptError';
}

/** The encoded file as [header, body], written with one writev (no copy of a large body). */
export function encodeCheckpoint(checkpoint: Checkpoint): Buffer[] {
  const body = new ByteWriter(estimatedBodySize(checkpoint));
  body.u32(checkpoint.containerId);
  body.u32(checkpoint.logPosition.fileNumber);
  body.f64(checkpoint.logPosition.position);
  body.u32(checkpoint.nextSegmentId);
  body.u32(checkpoint.segments.length);
  for (const segment of checkpoint.segments) {
    body.u32(segment.id);
    body.string(segment.name);
    body.f64(segment.view.startOffset);
    body.f64(segment.view.length);
    body.u8(segment.view.sealed ? 1 : 0);
    const present = segment.attributes.filter(([, value]) => value !== null);
    body.u32(present.length);
    for (const [key, value] of present) {
      body.string(key);
      if (typeof value === 'number') {
        body.u8(ATTRIBUTE_NUMBER);
        body.f64(value);
      } else {
        body.u8(ATTRIBUTE_BYTES);
        body.bytes(value!);
      }
    }
    body.u32(segment.writers.length);
    for (const [writerId, last] of segment.writers) {
      body.string(writerId);
      body.f64(last);
    }
    body.u32(segment.index.starts.length);
    body.raw(segment.index.starts);
    body.raw(segment.index.fileNumbers);
    body.raw(segment.index.positions);
  }
  const bodyBytes = body.finish();
  const header = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(header, 0);
  header[4] = VERSION;
  header[5] = BYTE_ORDER;
  header.writeDoubleBE(bodyBytes.byteLength, 8);
  header.writeUInt32BE(crc32(bodyBytes), 16);
  return [header, bodyBytes];
}

/** Close to the real size, so a checkpoint of millions of index entries is not copied while it grows. */
function estimatedBodySize(checkpoint: Checkpoint): number {
  let size = 64;
  for (const segment of checkpoint.segments) {
    size += 64 + segment.name.length * 3 + segment.index.starts.length * 20;
    size += (segment.attributes.length + segment.writers.length) * 64;
  }
  return size;
}

export function decodeCheckpoint(file: Buffer, path: string): Checkpoint {
  const corrupt = (problem: string): CheckpointCorruptError =>
    new CheckpointCorruptError(`checkpoint ${path} is corrupt: ${problem}; refusing to start (restore it or remove it to replay the whole log, if all log files are still there)`);
  if (file.byteLength < HEADER_SIZE || !file.subarray(0, 4).equals(MAGIC)) throw corrupt('bad magic');
  if (file[4] !== VERSION) throw corrupt(`unknown version ${file[4]}`);
  if (file[5] !== BYTE_ORDER) throw corrupt('written on a host of the other byte order');
  const bodyLength = file.readDoubleBE(8);
  const body = file.subarray(HEADER_SIZE);
  if (body.byteLength !== bodyLength) throw corrupt(`body is ${body.byteLength} bytes, header says ${bodyLength}`);
  if (crc32(body) !== file.readUInt32BE(16)) throw corrupt('CRC mismatch');

  const reader = new ByteReader(body, corrupt);
  const containerId = reader.u32();
  const logPosition = { fileNumber: reader.u32(), position: reader.f64() };
  const nextSegmentId = reader.u32();
  const segments: CheckpointSegment[] = [];
  for (let count = reader.u32(); count > 0; count--) {
    const id = reader.u32();
    const name = reader.string();
    const view = { startOffset: reader.f64(), length: reader.f64(), sealed: reader.u8() === 1 };
    const attributes: Array<[string, AttributeValue]> = [];
    for (let attributeCount = reader.u32(); attributeCount > 0; attributeCount--) {
      const key = reader.string();
      const tag = reader.u8();
      if (tag === ATTRIBUTE_NUMBER) attributes.push([key, reader.f64()]);
      else if (tag === ATTRIBUTE_BYTES) attributes.push([key, reader.bytes()]);
      else throw corrupt(`unknown attribute tag ${tag}`);
    }
    const writers: Array<[string, number]> = [];
    for (let writerCount = reader.u32(); writerCount > 0; writerCount--) writers.push([reader.string(), reader.f64()]);
    const entries = reader.u32();
    const index = { starts: new Float64Array(entries), fileNumbers: new Uint32Array(entries), positions: new Float64Array(entries) };
    reader.rawInto(index.starts);
    reader.rawInto(index.fileNumbers);
    reader.rawInto(index.positions);
    segments.push({ id, name, view, attributes, writers, index });
  }
  if (reader.remaining !== 0) throw corrupt(`${reader.remaining} unexpected bytes after the last segment`);
  return { containerId, logPosition, nextSegmentId, segments };
}

/** Null when the container has never written a checkpoint. */
export async function loadCheckpoint(directory: string): Promise<Checkpoint | null> {
  const path = join(directory, CHECKPOINT_FILE);
  const file = await unlessMissing(readFile(path));
  if (file === null) return null;
  return decodeCheckpoint(file, path);
}

/**
 * Temp file, fsync, rename, fsync the directory: the new checkpoint replaces the old atomically.
 * Returns the sync calls made (two with sync, else none), which the store counts.
 */
export async function writeCheckpointFile(directory: string, encoded: Buffer[], sync: boolean): Promise<number> {
  const temporary = join(directory, TEMPORARY_FILE);
  const handle = await open(temporary, 'w');
  try {
    const expected = encoded.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const { bytesWritten } = await handle.writev(encoded, 0);
    if (bytesWritten !== expected) throw new Error(`short write to ${temporary}: ${bytesWritten} of ${expected} bytes`);
    if (sync) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, join(directory, CHECKPOINT_FILE));
  if (!sync) return 0;
  await syncDirectory(directory);
  return 2;
}

export async function removeCheckpointLeftovers(directory: string): Promise<void> {
  await rm(join(directory, TEMPORARY_FILE), { force: true });
}
