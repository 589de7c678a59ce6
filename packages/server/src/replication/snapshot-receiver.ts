import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import type { CommandOf } from '@sluice/protocol';

import { CHECKPOINT_FILE } from '../store/checkpoint.js';
import { decodeEpochStarts, EpochHistory } from '../store/epoch-history.js';
import { logFileName } from '../store/log-files.js';
import { commitIncomingSnapshot, incomingSnapshotDirectory } from '../store/snapshot-install.js';

/** What a chunk did: stored ('ok'), completed and committed the snapshot ('installed'), or did not follow the last one ('out-of-order'). */
export type ChunkOutcome = 'ok' | 'installed' | 'out-of-order';

interface Receiving {
  id: number;
  /** The file chunks go to now (null before the first), and how many bytes it holds. */
  file: string | null;
  handle: FileHandle | null;
  written: number;
  /** The last log file begun (null: none yet; the checkpoint comes first). */
  logFile: number | null;
}

/**
 * A backup's side of InstallSnapshot: writes the chunks of one snapshot, in the order the primary
 * sends them (checkpoint, then log files in ascending order, each from byte 0), into the container's
 * `.incoming` directory; on the last request writes the epoch history, fsyncs, and commits it (see
 * store/snapshot-install.ts; the container installs it when it opens next). A chunk that does not
 * continue the snapshot being received is refused, and the primary starts over.
 */
export class SnapshotReceiver {
  private receiving: Receiving | null = null;

  constructor(
    private readonly directory: string,
    private readonly sync: boolean,
  ) {}

  /** Stores one chunk; `fenced` is the epoch the installed history promises to refuse anything below. */
  async receive(command: CommandOf<'InstallSnapshot'>, fenced: number): Promise<ChunkOutcome> {
    const incoming = incomingSnapshotDirectory(this.directory);
    if (this.receiving?.id !== command.snapshot) {
      if (command.part === 'install' || command.position !== 0) return 'out-of-order';
      await this.abort();
      await rm(incoming, { recursive: true, force: true });
      await mkdir(incoming);
      this.receiving = { id: command.snapshot, file: null, handle: null, written: 0, logFile: null };
    }
    const receiving = this.receiving!;
    switch (command.part) {
      case 'checkpoint':
        if (receiving.logFile !== null) return 'out-of-order';
        return this.write(receiving, CHECKPOINT_FILE, command.position, command.data);
      case 'log': {
        const name = logFileName(command.fileNumber);
        if (name !== receiving.file && receiving.logFile !== null && command.fileNumber !== receiving.logFile + 1) return 'out-of-order';
        const outcome = await this.write(receiving, name, command.position, command.data);
        if (outcome === 'ok') receiving.logFile = command.fileNumber;
        return outcome;
      }
      case 'install': {
        // The installed log ends where the last file sent ends.
        if (receiving.logFile !== command.fileNumber || receiving.written !== command.position) return 'out-of-order';
        const starts = decodeEpochStarts(command.data.toString('utf8'), (why) => new Error(`the snapshot's epoch starts are malformed (${why})`));
        await this.closeFile(receiving);
        await EpochHistory.create(incoming, this.sync, fenced, starts);
        this.receiving = null;
        await commitIncomingSnapshot(this.directory, this.sync);
        return 'installed';
      }
      default:
        throw new Error(`InstallSnapshot part ${JSON.stringify(command.part)} is none of checkpoint, log, install`);
    }
  }

  /** Forgets the snapshot being received (its directory is removed by the next snapshot, or when the container opens). */
  async abort(): Promise<void> {
    const receiving = this.receiving;
    this.receiving = null;
    await receiving?.handle?.close();
  }

  private async write(receiving: Receiving, file: string, position: number, data: Buffer): Promise<ChunkOutcome> {
    if (file !== receiving.file) {
      if (position !== 0) return 'out-of-order';
      await this.closeFile(receiving);
      receiving.handle = await open(join(incomingSnapshotDirectory(this.directory), file), 'wx');
      receiving.file = file;
      receiving.written = 0;
    } else if (position !== receiving.written) {
      return 'out-of-order';
    }
    if (data.byteLength > 0) {
      const { bytesWritten } = await receiving.handle!.write(data, 0, data.byteLength, position);
      if (bytesWritten !== data.byteLength) throw new Error(`short write of a snapshot chunk to ${file}: ${bytesWritten} of ${data.byteLength} bytes`);
    }
    receiving.written += data.byteLength;
    return 'ok';
  }

  /** Each file is durable before the next one begins (and before the commit). */
  private async closeFile(receiving: Receiving): Promise<void> {
    const handle = receiving.handle;
    receiving.handle = null;
    if (handle === null) return;
    try {
      if (this.sync) await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
