import { open, type FileHandle } from 'node:fs/promises';

import { logFilePath } from './log-files.js';

interface OpenFile {
  handle: Promise<FileHandle>;
  /** Reads in progress; a file is closed only when none is. */
  users: number;
}

/**
 * Positional reads of record data from one container's log files (the part of a segment no longer
 * in the cache). Keeps a few read-only handles open, least recently used closed first.
 */
export class LogReader {
  private readonly files = new Map<number, OpenFile>();

  constructor(
    private readonly directory: string,
    private readonly maxOpenFiles = 16,
  ) {}

  /** Exactly length bytes at position of the file; a shorter file is an error (the log lost data). */
  async read(fileNumber: number, position: number, length: number): Promise<Buffer> {
    const file = this.acquire(fileNumber);
    try {
      const handle = await file.handle;
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
        if (bytesRead === 0) {
          throw new Error(`log file ${fileNumber} ends at ${position + filled}, before the ${length} bytes read at ${position}`);
        }
        filled += bytesRead;
      }
      return buffer;
    } finally {
      this.release(fileNumber, file);
    }
  }

  /** The file is being deleted: close its handle (now, or after the reads using it). */
  forget(fileNumber: number): void {
    const file = this.files.get(fileNumber);
    if (!file) return;
    this.files.delete(fileNumber);
    if (file.users === 0) void closeQuietly(file.handle);
  }

  async close(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map((file) => closeQuietly(file.handle)));
  }

  private acquire(fileNumber: number): OpenFile {
    let file = this.files.get(fileNumber);
    if (file) {
      this.files.delete(fileNumber); // re-inserted below: most recently used last
    } else {
      const opened: OpenFile = { handle: open(logFilePath(this.directory, fileNumber), 'r'), users: 0 };
      // A failed open must not stay cached: the next read tries again.
      opened.handle.catch(() => {
        if (this.files.get(fileNumber) === opened) this.files.delete(fileNumber);
      });
      file = opened;
      this.evictIdle();
    }
    this.files.set(fileNumber, file);
    file.users += 1;
    return file;
  }

  private release(fileNumber: number, file: OpenFile): void {
    file.users -= 1;
    // No longer in the map: forgotten or evicted while this read was using it.
    if (file.users === 0 && this.files.get(fileNumber) !== file) void closeQuietly(file.handle);
  }

  private evictIdle(): void {
    for (const [fileNumber, file] of this.files) {
      if (this.files.size < this.maxOpenFiles) return;
      if (file.users > 0) continue;
      this.files.delete(fileNumber);
      void closeQuietly(file.handle);
    }
  }
}

async function closeQuietly(handle: Promise<FileHandle>): Promise<void> {
  try {
    await (await handle).close();
  } catch {
    // Opening failed (the read already reported it) or it is already closed.
  }
}
