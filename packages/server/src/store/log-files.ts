import { open, readdir } from 'node:fs/promises';
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

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.fileNumber - b.fileNumber || a.position - b.position;
}
