import { constants, ftruncateSync, writevSync } from 'node:fs';
import { open } from 'node:fs/promises';

import { syncDirectory } from './log-files.js';

/** One open log file: the calls the log writer makes on it. */
export interface LogFile {
  /** True when each write returns only once its data is on disk (the file was opened O_DSYNC). */
  readonly syncsEachWrite: boolean;
  /** The file's size when it was opened (a log file may be longer than its records: see LogWriter). */
  readonly openedBytes: number;
  /** Sets the file's size at once (bytes past its data read as zeros). */
  resizeSync(bytes: number): void;
  /** Shortens the file to `bytes`, durably when it syncs each write. */
  cut(bytes: number): Promise<void>;
  writev(chunks: Buffer[], position: number): Promise<number>;
  writevSync(chunks: Buffer[], position: number): number;
  close(): Promise<void>;
}

/**
 * The file system calls that make the log durable, in one place: the store runs on node:fs; a test
 * puts in an implementation that records the flags a file was opened with or holds a write until
 * the test lets it finish, to prove that nothing is acknowledged before its bytes are on disk.
 */
export interface LogIo {
  open(path: string, flags: number): Promise<LogFile>;
  syncDirectory(directory: string): Promise<void>;
}

export const nodeLogIo: LogIo = {
  async open(path, flags) {
    const handle = await open(path, flags);
    const syncsEachWrite = (flags & constants.O_DSYNC) !== 0;
    let openedBytes: number;
    try {
      openedBytes = (await handle.stat()).size;
    } catch (error) {
      await handle.close();
      throw error;
    }
    return {
      syncsEachWrite,
      openedBytes,
      resizeSync: (bytes) => ftruncateSync(handle.fd, bytes),
      async cut(bytes) {
        await handle.truncate(bytes);
        if (syncsEachWrite) await handle.datasync();
      },
      writev: async (chunks, position) => (await handle.writev(chunks, position)).bytesWritten,
      writevSync: (chunks, position) => writevSync(handle.fd, chunks, position),
      close: () => handle.close(),
    };
  },
  syncDirectory,
};
