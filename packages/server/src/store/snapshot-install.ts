import { rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { EpochHistory } from './epoch-history.js';
import { syncDirectory } from './log-files.js';
import { unlessMissing } from './unless-missing.js';

/**
 * A container directory replaced whole by a snapshot of another replica's (a backup whose log ends
 * before the primary's first log file: the primary sends its checkpoint, log files and epochs).
 * Three siblings of the container directory `<id>` take part:
 *
 *   <id>.incoming   being received: never complete, removed when the container opens
 *   <id>.snapshot   received whole, every file and the directory fsynced: the commit point
 *   <id>.replaced   the old directory, moved aside while the snapshot takes its name; removed
 *
 * (and on a primary, `<id>.sending/<n>/`: the files of a snapshot being sent, pinned.)
 *
 * A crash at any step leaves a state the next open finishes: an `.incoming` is dropped (the old
 * directory is untouched, and the primary sends the snapshot again), a `.snapshot` is installed,
 * a `.replaced` is removed. Renames of directories are atomic, and each is made durable by an fsync
 * of the parent before the next step.
 */
/**
 * Where a primary pins the files of a snapshot it sends (hard links, so the checkpointer can retire
 * them meanwhile); removed when it is sent, and when the container opens.
 */
export function pinnedSnapshotDirectory(directory: string, snapshot: number): string {
  return join(`${directory}.sending`, String(snapshot));
}

export function incomingSnapshotDirectory(directory: string): string {
  return `${directory}.incoming`;
}

/** The received snapshot is whole and durable in `<id>.incoming`: it becomes `<id>.snapshot`, to be installed. */
export async function commitIncomingSnapshot(directory: string, sync: boolean): Promise<void> {
  if (sync) await syncDirectory(incomingSnapshotDirectory(directory));
  await rename(incomingSnapshotDirectory(directory), snapshotDirectory(directory));
  if (sync) await syncDirectory(dirname(directory));
}

/**
 * Run before a container opens: finishes whatever a snapshot install left (see above). Returns true
 * when it installed a snapshot (the container then opens from it).
 */
export async function settleSnapshotInstall(directory: string, sync: boolean): Promise<boolean> {
  await rm(`${directory}.sending`, { recursive: true, force: true });
  await rm(incomingSnapshotDirectory(directory), { recursive: true, force: true });
  const staged = snapshotDirectory(directory);
  const replaced = `${directory}.replaced`;
  const installing = await exists(staged);
  if (installing) {
    if (await exists(directory)) {
      // Promises to refuse old epochs made after the snapshot was received are kept: the highest
      // fence of the two histories goes into the installed one, before the old one is moved aside.
      const old = await EpochHistory.load(directory, sync);
      await (await EpochHistory.load(staged, sync)).fence(old.fencedEpoch);
      await rm(replaced, { recursive: true, force: true });
      await rename(directory, replaced);
      if (sync) await syncDirectory(dirname(directory));
    }
    await rename(staged, directory);
    if (sync) await syncDirectory(dirname(directory));
  }
  await rm(replaced, { recursive: true, force: true });
  return installing;
}

function snapshotDirectory(directory: string): string {
  return `${directory}.snapshot`;
}

async function exists(path: string): Promise<boolean> {
  return (await unlessMissing(stat(path))) !== null;
}
