import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where a container keeps its files:
 *
 *   <dataDir>/containers/<id>/log-0000000001.log   rolling log files, numbered from 1
 *   <dataDir>/containers/<id>/checkpoint            the latest checkpoint
 */
export interface LogPosition {
  fileNumber: number;
  position: number;
}

const LOG_FILE = /^log-(\d{10})\.log$/;

export function containerDirectory(dataDir: string, containerId: number): string {
  return join(dataDir, 'containers', String(containerId));
}

export function logFileName(fileNumber: number): string {
  return `log-${String(fileNumber).padStart(10, '0')}.log`;
}

export function logFilePath(directory: string, fileNumber: number): string {
  return join(directory, logFileName(fileNumber));
}

/** Log file numbers present in the directory, ascending. */
export async function listLogFiles(directory: string): Promise<number[]> {
  const numbers: number[] = [];
  for (const name of await readdir(directory)) {
    const match = LOG_FILE.exec(name);
    if (match) numbers.push(Number(match[1]));
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * A file's creation, rename or removal is durable only once its directory is fsynced; an
 * fdatasync of the file itself does not cover its name.
 */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Cuts a container's log at `end`: its file is shortened to end.position and the later files given
 * are removed, durably when `sync` (file, then directory) before this resolves. The one way a log
 * loses its tail: a torn record at start, `sluice-server repair`, a replica's divergent tail.
 */
export async function cutLogAt(directory: string, end: LogPosition, laterFiles: readonly number[], sync = true): Promise<void> {
  const handle = await open(logFilePath(directory, end.fileNumber), 'r+');
  try {
    await handle.truncate(end.position);
    if (sync) await handle.sync();
  } finally {
    await handle.close();
  }
  await removeLogFiles(directory, laterFiles, sync);
}

/** Removes these log files, durably when `sync` (the directory is fsynced after). */
export async function removeLogFiles(directory: string, fileNumbers: readonly number[], sync = true): Promise<void> {
  for (const fileNumber of fileNumbers) await rm(logFilePath(directory, fileNumber), { force: true });
  if (fileNumbers.length > 0 && sync) await syncDirectory(directory);
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.fileNumber - b.fileNumber || a.position - b.position;
}
