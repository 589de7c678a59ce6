import type { LogReader } from './log-reader.js';
import { APPEND_HEAD_SIZE, MAX_WRITER_ID_BYTES, verifiedAppendStart } from './record-codec.js';

/** A block as the segment index knows it: where its bytes sit in a log file. */
export interface BlockPlace {
  position: number;
  length: number;
}

/** A block read from a log file whose record fails its CRC. */
export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError';
  constructor(
    readonly fileNumber: number,
    readonly blockPosition: number,
  ) {
    super(`the append record holding the block at byte ${blockPosition} of log file ${fileNumber} fails its CRC`);
  }
}

/** Read before a run's first block to reach its record header: the head and a usual writer id (a UUID is 36 bytes). */
const USUAL_LOOKBACK = APPEND_HEAD_SIZE + 128;
const FULL_LOOKBACK = APPEND_HEAD_SIZE + MAX_WRITER_ID_BYTES;

/**
 * Reads blocks of one log file that lie close together with one read, from just before the first
 * block's record to `end`, and checks each block's record CRC, so bytes changed on disk never reach
 * a reader as data. Returns each block's bytes (views of the one buffer), or throws
 * CorruptRecordError for the first bad one. A record's header lies right before its block, so only
 * the first block's header needs the look back; its writer id is rarely longer than the usual one,
 * and then that block is read again with room for the longest.
 */
export async function readVerifiedBlocks(reader: LogReader, fileNumber: number, blocks: readonly BlockPlace[], end: number): Promise<Buffer[]> {
  const first = blocks[0]!.position;
  const lookback = Math.min(first, USUAL_LOOKBACK);
  const bytes = await reader.read(fileNumber, first - lookback, end - first + lookback);
  const pieces: Buffer[] = [];
  for (const [k, block] of blocks.entries()) {
    const at = block.position - first + lookback;
    if (verifiedAppendStart(bytes, at, block.length) < 0) {
      const mayStartEarlier = k === 0 && lookback < Math.min(first, FULL_LOOKBACK);
      if (!mayStartEarlier || !(await verifiedWithFullLookback(reader, fileNumber, block))) {
        throw new CorruptRecordError(fileNumber, block.position);
      }
    }
    pieces.push(bytes.subarray(at, at + block.length));
  }
  return pieces;
}

async function verifiedWithFullLookback(reader: LogReader, fileNumber: number, block: BlockPlace): Promise<boolean> {
  const lookback = Math.min(block.position, FULL_LOOKBACK);
  const bytes = await reader.read(fileNumber, block.position - lookback, lookback + block.length);
  return verifiedAppendStart(bytes, lookback, block.length) >= 0;
}
