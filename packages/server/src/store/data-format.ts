import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

import { syncDirectory } from './log-files.js';
import { unlessMissing } from './unless-missing.js';

/**
 * The on-disk format of a data dir, kept in `<dataDir>/format.json` as `{ "dataFormat": N }`.
 *
 * 1: events stored as bare data (releases before event envelopes; they wrote no format file).
 * 2: every event stored with its envelope (routing key, timestamp, headers; docs/protocol.md).
 *
 * A node refuses a data dir of another format instead of serving bytes its readers would misread
 * (docs/decisions.md, "On-disk format").
 */
export const DATA_FORMAT = 2;
export const FORMAT_FILE = 'format.json';

/** The data dir holds data in a format this node does not read. */
export class DataFormatError extends Error {
  override readonly name = 'DataFormatError';
}

/** Checks the data dir's format, writing the format file into a new (or empty) data dir. */
export async function checkDataFormat(dataDir: string): Promise<void> {
  const found = await readFormat(dataDir);
  if (found === DATA_FORMAT) return;
  if (found !== null) {
    throw new DataFormatError(
      `data dir ${dataDir} holds data format ${found} (${FORMAT_FILE}); this sluice-server reads format ${DATA_FORMAT}: ` +
        'run the release that wrote it, or start with an empty --data-dir',
    );
  }
  if (await holdsLogFiles(dataDir)) {
    throw new DataFormatError(
      `data dir ${dataDir} was written by a sluice-server from before event envelopes (data format 1: no ${FORMAT_FILE}), ` +
        `and this one stores every event with a routing key, timestamp and headers (format ${DATA_FORMAT}); it cannot read ` +
        'those events. Start with an empty --data-dir (move the old one aside), or keep serving it with the earlier release ' +
        'and copy its events over with a reader and a writer',
    );
  }
  await writeFormat(dataDir);
}

async function readFormat(dataDir: string): Promise<number | null> {
  const text = await unlessMissing(readFile(join(dataDir, FORMAT_FILE), 'utf8'));
  if (text === null) return null;
  let format: unknown;
  try {
    format = (JSON.parse(text) as { dataFormat?: unknown }).dataFormat;
  } catch {
    format = undefined;
  }
  if (typeof format !== 'number' || !Number.isInteger(format) || format < 1) {
    throw new DataFormatError(`${join(dataDir, FORMAT_FILE)} is not a format file ({ "dataFormat": ${DATA_FORMAT} }): ${JSON.stringify(text.slice(0, 80))}`);
  }
  return format;
}

/** True when any container directory holds a log file: data written before format files existed. */
async function holdsLogFiles(dataDir: string): Promise<boolean> {
  const containers = join(dataDir, 'containers');
  const ids = await unlessMissing(readdir(containers));
  if (ids === null) return false;
  for (const id of ids) {
    const files = await readdir(join(containers, id)).catch(() => []);
    if (files.some((name) => name.endsWith('.log') || name === 'checkpoint')) return true;
  }
  return false;
}

/** Written to a temporary name, fsynced, renamed, and the directory fsynced: never half a file. */
async function writeFormat(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const temporary = join(dataDir, `${FORMAT_FILE}.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(`${JSON.stringify({ dataFormat: DATA_FORMAT })}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, join(dataDir, FORMAT_FILE));
  await syncDirectory(dataDir);
}
