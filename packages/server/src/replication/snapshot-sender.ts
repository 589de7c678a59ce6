import { randomInt } from 'node:crypto';
import { link as hardLink, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { CommandOf } from '@sluice/protocol';

import { CHECKPOINT_FILE } from '../store/checkpoint.js';
import { encodeEpochStarts, type EpochHistory } from '../store/epoch-history.js';
import { comparePositions, listLogFiles, logFilePath, type LogPosition } from '../store/log-files.js';
import { pinnedSnapshotDirectory } from '../store/snapshot-install.js';
import { unlessMissing } from '../store/unless-missing.js';
import type { PeerLink } from './peer-link.js';

/** Bytes of a file per InstallSnapshot request: files are streamed, never read whole. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/** What a snapshot is taken of: the primary's container directory, its epochs, its durable end. */
export interface SnapshotSource {
  container: number;
  epoch: number;
  directory: string;
  history: EpochHistory;
  localDurableEnd(): LogPosition;
}

/** A chunk refusal that stands for "the shipper moved on": never sent by a backup. */
const ABANDONED: CommandOf<'SnapshotReceived'> = { type: 'SnapshotReceived', container: 0, status: 'abandoned', epoch: 0 };

export interface SnapshotSent {
  /** The last reply: 'ok' once installed, else the first refusal ('fenced', 'not-ready', 'out-of-order'). */
  reply: CommandOf<'SnapshotReceived'>;
  /** Where the backup's log ends once it installed the snapshot. */
  end: LogPosition;
}

/**
 * Sends a backup the primary's container as it is on disk (Raft's InstallSnapshot): the checkpoint,
 * every log file up to the durable end, and the epoch starts, in chunks of at most chunkBytes, one
 * request at a time. Every file is pinned (hard-linked into `<id>.sending/<snapshot>/`) before
 * anything is sent, log files before the checkpoint: a checkpoint written meanwhile only retires
 * files the one pinned does not need, and a pinned file stays whole after the checkpointer removed
 * its name, without holding a descriptor per file. Resolves with the backup's last reply, or null
 * when `active` said to stop (the shipper moved on).
 */
export async function sendSnapshot(link: PeerLink, source: SnapshotSource, active: () => boolean, chunkBytes = SNAPSHOT_CHUNK_BYTES): Promise<SnapshotSent | null> {
  const snapshot = randomInt(1, 2 ** 47);
  const pinned = pinnedSnapshotDirectory(source.directory, snapshot);
  await mkdir(pinned, { recursive: true });
  try {
    const numbers: number[] = [];
    for (const fileNumber of await listLogFiles(source.directory)) {
      if (await linkIfPresent(logFilePath(source.directory, fileNumber), logFilePath(pinned, fileNumber))) numbers.push(fileNumber);
    }
    const checkpoint = await linkIfPresent(join(source.directory, CHECKPOINT_FILE), join(pinned, CHECKPOINT_FILE));
    // Past the checkpoint (taken at a durable position) and read after it was pinned.
    const end = source.localDurableEnd();
    while (numbers.length > 0 && numbers.at(-1)! > end.fileNumber) numbers.pop();
    for (let fileNumber = (numbers.at(-1) ?? end.fileNumber - 1) + 1; fileNumber <= end.fileNumber; fileNumber++) {
      // Files this new are never retired; the one at a position 0 may not be created yet.
      const present = await linkIfPresent(logFilePath(source.directory, fileNumber), logFilePath(pinned, fileNumber));
      if (!present && !(fileNumber === end.fileNumber && end.position === 0)) throw new Error(`log file ${logFilePath(source.directory, fileNumber)} is missing`);
      numbers.push(fileNumber);
    }
    for (let k = 1; k < numbers.length; k++) {
      if (numbers[k] !== numbers[k - 1]! + 1) throw new Error(`log file ${logFilePath(source.directory, numbers[k - 1]! + 1)} was removed while a snapshot was taken; retrying`);
    }

    const { container, epoch } = source;
    /** Sends one request; the refusal that ends the snapshot, or null to go on. */
    const send = async (part: string, fileNumber: number, position: number, data: Buffer): Promise<CommandOf<'SnapshotReceived'> | null> => {
      const reply = await link.request<'InstallSnapshot'>({ type: 'InstallSnapshot', container, epoch, snapshot, part, fileNumber, position, data });
      return reply.status === 'ok' ? null : reply;
    };
    const sendFile = async (part: string, fileNumber: number, path: string, size: number | null): Promise<CommandOf<'SnapshotReceived'> | null> => {
      const handle = await unlessMissing(open(path, 'r'));
      try {
        const length = size ?? (handle === null ? 0 : (await handle.stat()).size);
        let position = 0;
        do {
          if (!active()) return ABANDONED;
          const data = Buffer.allocUnsafe(Math.min(chunkBytes, length - position));
          const { bytesRead } = data.byteLength > 0 ? await handle!.read(data, 0, data.byteLength, position) : { bytesRead: 0 };
          if (bytesRead !== data.byteLength) throw new Error(`${path} ended at ${position + bytesRead} while a snapshot was sent (${length} bytes expected)`);
          const refused = await send(part, fileNumber, position, data);
          if (refused !== null) return refused;
          position += bytesRead;
        } while (position < length);
        return null;
      } finally {
        await handle?.close();
      }
    };

    let refused = checkpoint ? await sendFile('checkpoint', 0, join(pinned, CHECKPOINT_FILE), null) : null;
    for (const fileNumber of numbers) {
      if (refused !== null) break;
      refused = await sendFile('log', fileNumber, logFilePath(pinned, fileNumber), fileNumber === end.fileNumber ? end.position : null);
    }
    if (refused === ABANDONED || !active()) return null;
    if (refused !== null) return { reply: refused, end };
    const starts = source.history.entries.filter(({ start }) => comparePositions(start, end) <= 0);
    const installed = await link.request<'InstallSnapshot'>({ type: 'InstallSnapshot', container, epoch, snapshot, part: 'install', fileNumber: end.fileNumber, position: end.position, data: Buffer.from(encodeEpochStarts(starts)) });
    return { reply: installed, end };
  } finally {
    await rm(pinned, { recursive: true, force: true });
  }
}

/** A second name for the file, so the checkpointer removing the first one leaves it readable; false when there is none. */
async function linkIfPresent(path: string, pinnedPath: string): Promise<boolean> {
  return (await unlessMissing(hardLink(path, pinnedPath).then(() => true))) !== null;
}
