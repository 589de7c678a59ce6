import { rm } from 'node:fs/promises';

import { encodeCheckpoint, writeCheckpointFile, type Checkpoint, type CheckpointSegment } from './checkpoint.js';
import type { ContainerContext } from './container-context.js';
import { listLogFiles, logFilePath, type LogPosition } from './log-files.js';
import type { LogReader } from './log-reader.js';
import type { SegmentState } from './segment-state.js';

/** What a checkpoint is taken of: the container's segments and its next segment id, as they are now. */
export interface CheckpointSource {
  readonly directory: string;
  /** Segments whose create is durable or pending and whose delete is not durable yet. */
  readonly segments: ReadonlyMap<number, SegmentState>;
  nextSegmentId(): number;
}

/**
 * Checkpoints one container and retires the log files nothing needs any more: after each durable
 * group, once enough log was written since the last checkpoint, it captures the durable state and
 * writes it, then removes the files before both that position and every segment's first live record.
 * Checkpoints bound recovery time; retiring files bounds the disk a container uses.
 */
export class Checkpointer {
  private bytesSinceCheckpoint: number;
  private writing: Promise<void> | null = null;

  constructor(
    private readonly source: CheckpointSource,
    private readonly context: ContainerContext,
    /** Forgets the open handle of a file before it is removed. */
    private readonly reader: LogReader,
    /** Log bytes replayed at open: a long replay means the next crash would replay it again, so checkpoint soon. */
    replayedBytes: number,
  ) {
    this.bytesSinceCheckpoint = replayedBytes;
  }

  /** The checkpoint being written in the background, if any (closing waits for it). */
  get inProgress(): Promise<void> | null {
    return this.writing;
  }

  /**
   * Runs synchronously after each durable group (see LogWriter.onDurable). `allowed` is false while
   * the container closes or its state may hold records the cluster has not acknowledged.
   */
  afterDurable(end: LogPosition, bytes: number, allowed: () => boolean): void {
    this.bytesSinceCheckpoint += bytes;
    if (this.writing || this.bytesSinceCheckpoint < this.context.options.checkpointIntervalBytes || !allowed()) return;
    this.writing = this.write(end)
      .catch((error: unknown) => {
        this.context.options.logger.error({ container: this.context.id, err: error }, 'writing a checkpoint failed; the next one will retry');
      })
      .finally(() => {
        this.writing = null;
      });
  }

  /**
   * The durable state is captured synchronously, before the first await, so it is exactly the
   * state as of `position`. Then the file is written and log files nothing needs any more removed.
   */
  async write(position: LogPosition): Promise<void> {
    const { checkpoint, firstFileInUse } = this.capture(position);
    const encoded = encodeCheckpoint(checkpoint);
    this.bytesSinceCheckpoint = 0;
    this.context.counters.syncs += await writeCheckpointFile(this.source.directory, encoded, this.context.options.fsync === 'always');
    await this.removeLogFilesBefore(Math.min(firstFileInUse, position.fileNumber));
  }

  private capture(position: LogPosition): { checkpoint: Checkpoint; firstFileInUse: number } {
    const segments: CheckpointSegment[] = [];
    let firstFileInUse = Number.POSITIVE_INFINITY;
    for (const state of this.source.segments.values()) {
      if (!state.created) continue;
      const durableEntries = state.index.countStartingBelow(state.durable.length);
      const writers: Array<[string, number]> = [];
      for (const [writerId, writer] of state.writers) if (writer.durable !== -1) writers.push([writerId, writer.durable]);
      segments.push({
        id: state.id,
        name: state.name,
        view: { ...state.durable },
        attributes: [...state.durableAttributes],
        writers,
        index: state.index.liveArrays(durableEntries),
      });
      const fileNumber = state.index.firstFileNumber();
      if (fileNumber !== null) firstFileInUse = Math.min(firstFileInUse, fileNumber);
    }
    const checkpoint = { containerId: this.context.id, logPosition: position, nextSegmentId: this.source.nextSegmentId(), segments };
    return { checkpoint, firstFileInUse };
  }

  /**
   * Reclaims disk space: a file before both the checkpoint position and every segment's first live
   * record is never replayed nor read again.
   */
  private async removeLogFilesBefore(fileNumber: number): Promise<void> {
    for (const existing of await listLogFiles(this.source.directory)) {
      if (existing >= fileNumber) break;
      this.reader.forget(existing);
      await rm(logFilePath(this.source.directory, existing), { force: true });
    }
  }
}
