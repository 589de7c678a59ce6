import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { loadCheckpoint } from './checkpoint.js';
import { lockDataDir } from './data-dir-lock.js';
import { containerDirectory, cutLogAt, listLogFiles, logFilePath } from './log-files.js';
import { findValidRecord, lengthBeforeZeros, scanLogFile } from './log-scanner.js';
import { unlessMissing } from './unless-missing.js';

/** What repair did to one container's log. */
export interface ContainerRepair {
  container: number;
  /** Null when the log was whole: nothing was cut. */
  cut: {
    file: string;
    position: number;
    reason: string;
    /** Bytes dropped from that file and the later files removed (zeros they end in left out). */
    droppedBytes: number;
    removedFiles: string[];
    /** Whether whole, CRC-valid records were among the dropped bytes (acknowledged data lost). */
    validRecordsDropped: boolean;
  } | null;
}

/**
 * `sluice-server repair`: keeps the good prefix of container logs that recovery refuses because of
 * damage in the middle. For each container (or the one asked for) it scans the log from the
 * checkpoint on, as recovery does, and cuts it at the first bad record, removing later files. What
 * follows the bad record is lost, and the report says how much: the operator's choice when no
 * backup holds it. Takes the data dir lock, so it never runs beside a node.
 */
export async function repairDataDir(dataDir: string, only: number | null = null): Promise<ContainerRepair[]> {
  const lock = await lockDataDir(dataDir);
  try {
    const containers = only !== null ? [only] : await containerIds(dataDir);
    const repairs: ContainerRepair[] = [];
    for (const container of containers) repairs.push(await repairContainer(dataDir, container));
    return repairs;
  } finally {
    await lock.release();
  }
}

async function containerIds(dataDir: string): Promise<number[]> {
  const names = await unlessMissing(readdir(join(dataDir, 'containers')));
  if (names === null) return [];
  return names.filter((name) => /^\d+$/.test(name)).map(Number).sort((a, b) => a - b);
}

async function repairContainer(dataDir: string, container: number): Promise<ContainerRepair> {
  const directory = containerDirectory(dataDir, container);
  const checkpoint = await loadCheckpoint(directory);
  const files = await listLogFiles(directory);
  const start = checkpoint?.logPosition ?? { fileNumber: files[0] ?? 1, position: 0 };
  const toScan = files.filter((fileNumber) => fileNumber >= start.fileNumber);
  for (const [order, fileNumber] of toScan.entries()) {
    const path = logFilePath(directory, fileNumber);
    const from = fileNumber === start.fileNumber ? start.position : 0;
    const { damage } = await scanLogFile(path, from, () => undefined, { newest: order === toScan.length - 1 });
    if (damage === null) continue;
    const validRecordsDropped = (await findValidRecord(path, damage.position + 1)) !== null;
    const laterFiles = toScan.slice(order + 1);
    const later = laterFiles.map((number) => logFilePath(directory, number));
    // Zeros the writer sized ahead of its records were never data: not counted as dropped.
    let droppedBytes = Math.max(0, (await lengthBeforeZeros(path)) - damage.position);
    for (const laterPath of later) droppedBytes += await lengthBeforeZeros(laterPath);
    await cutLogAt(directory, { fileNumber, position: damage.position }, laterFiles);
    return {
      container,
      cut: { file: path, position: damage.position, reason: damage.reason, droppedBytes, removedFiles: later, validRecordsDropped },
    };
  }
  return { container, cut: null };
}
