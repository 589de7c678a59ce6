import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { positionAfterEvents, ProtocolError, type AttributeValue, EVENT_COUNT_ATTRIBUTE } from '@sluice/protocol';

import { BlockCache } from './block-cache.js';
import { Checkpointer } from './checkpointer.js';
import type { ContainerContext } from './container-context.js';
import type { ContainerLog } from './container-log.js';
import { containerDirectory, syncDirectory, type LogPosition } from './log-files.js';
import { LogReader } from './log-reader.js';
import { LogWriter, type SettleRecord } from './log-writer.js';
import {
  encodeAppend,
  encodeAttribute,
  encodeCreateSegment,
  encodeDelete,
  encodeSeal,
  encodeTruncate,
  MAX_RECORD_BODY,
  RecordType,
  type EncodedRecord,
  type LogRecord,
} from './record-codec.js';
import { recoverContainer, Replay } from './recovery.js';
import { SegmentReadResult, SegmentReads, wholeEventsFrom } from './segment-reads.js';
import { attributeValuesEqual, SegmentState } from './segment-state.js';
import { settleSnapshotInstall } from './snapshot-install.js';
import {
  StoreError,
  type AppendResult,
  type AttributeUpdate,
  type Container,
  type ReadResult,
  type SegmentInfo,
  type WriterAppend,
} from './types.js';

/**
 * One container: its segments and the changes to them, over its log. Reads are planned and fetched
 * by SegmentReads (segment-reads.ts); checkpoints and the retirement of old log files are the
 * Checkpointer's (checkpointer.ts). Every state change is decided
 * synchronously when the call is made (so call order is log order and checks see appends still in
 * flight), written as one log record, and acknowledged after the fsync covering it. Reads and
 * waiters see only the durable view. See SegmentState for the two views.
 */
export class SegmentContainer implements Container {
  /** Segments by name as calls see them: created or deleted by calls not yet durable included. */
  private readonly byName = new Map<string, SegmentState>();
  private nextSegmentId: number;
  /** False once close() is called: new calls fail with STORE_CLOSED. */
  private accepting = true;
  private closing: Promise<void> | null = null;
  private readonly reads = new Set<Promise<unknown>>();
  private readonly reader: LogReader;
  private readonly segmentReads: SegmentReads;
  private readonly checkpointer: Checkpointer;

  private constructor(
    private readonly context: ContainerContext,
    private readonly directory: string,
    /** Segments whose create is durable or pending and whose delete is not durable yet: what a checkpoint holds. */
    private readonly byId: Map<number, SegmentState>,
    nextSegmentId: number,
    replayedBytes: number,
    private readonly log: ContainerLog,
  ) {
    this.nextSegmentId = nextSegmentId;
    this.reader = new LogReader(directory);
    this.segmentReads = new SegmentReads(context, directory, this.reader);
    const source = { directory, segments: byId, nextSegmentId: () => this.nextSegmentId };
    this.checkpointer = new Checkpointer(source, context, this.reader, replayedBytes);
    for (const segment of byId.values()) this.byName.set(segment.name, segment);
  }

  static async open(context: ContainerContext): Promise<{ container: SegmentContainer; replayedBytes: number }> {
    const { id, options } = context;
    const directory = containerDirectory(options.dataDir, id);
    // A snapshot another replica sent may be waiting to replace the directory (or half way through it).
    if (await settleSnapshotInstall(directory, options.fsync === 'always')) options.logger.info({ container: id }, 'snapshot installed');
    await createDurably(directory, options.fsync === 'always');
    const recovered = await recoverContainer(directory, id, options.logger);
    let container: SegmentContainer | null = null;
    const afterDurable = (end: LogPosition, bytes: number): void => container?.afterDurable(end, bytes);
    const { replication } = context;
    const local = await LogWriter.open(recovered.logEnd, {
      directory,
      logFileBytes: options.logFileBytes,
      fsync: options.fsync === 'always',
      counters: context.counters,
      activity: context.activity,
      io: options.logIo,
      // Replicated, the container's after-durable work waits for a majority: replication runs it.
      onDurable: replication ? undefined : afterDurable,
      onFailed: (error) => options.logger.error({ container: id, err: error }, 'container log failed; its appends fail until a restart'),
    });
    const replay = new Replay(null, options.logger, id, recovered.segments);
    replay.nextSegmentId = recovered.nextSegmentId;
    const log = replication
      ? await replication.attach({
          id,
          directory,
          local,
          onCommitted: afterDurable,
          apply: (record, fileNumber, position) => container?.applyReplicated(replay, record, fileNumber, position),
        })
      : local;
    container = new SegmentContainer(context, directory, recovered.segments, recovered.nextSegmentId, recovered.replayedBytes, log);
    return { container, replayedBytes: recovered.replayedBytes };
  }

  get id(): number {
    return this.context.id;
  }

  get directoryPath(): string {
    return this.directory;
  }

  async createSegment(segment: string): Promise<void> {
    this.checkOpen();
    if (this.byName.has(segment)) throw new StoreError('SEGMENT_ALREADY_EXISTS', `segment ${segment} already exists`);
    const state = new SegmentState(this.nextSegmentId, segment);
    const { done } = this.commit(encodeCreateSegment(state.id, segment), () => {
      state.created = true;
    });
    this.nextSegmentId += 1;
    this.byName.set(segment, state);
    this.byId.set(state.id, state);
    return done;
  }

  getInfo(segment: string): SegmentInfo {
    this.checkOpen();
    const { durable } = this.visibleSegment(segment);
    return { segment, startOffset: durable.startOffset, length: durable.length, sealed: durable.sealed };
  }

  segmentNames(): string[] {
    this.checkOpen();
    const names: string[] = [];
    for (const state of this.byName.values()) if (state.created && !state.deleted) names.push(state.name);
    return names;
  }

  async seal(segment: string): Promise<number> {
    this.checkOpen();
    const state = this.acceptedSegment(segment);
    const length = state.accepted.length;
    if (state.accepted.sealed) {
      await this.log.whenDurable();
      return length;
    }
    const { done } = this.commit(encodeSeal(state.id), () => {
      state.commitSeal();
      return length;
    });
    state.acceptSeal();
    return done;
  }

  async truncate(segment: string, offset: number): Promise<number> {
    this.checkOpen();
    const state = this.acceptedSegment(segment);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > state.accepted.length) {
      throw new StoreError('INVALID_OFFSET', `cannot truncate ${segment} at ${offset}: its length is ${state.accepted.length}`, {
        length: state.accepted.length,
      });
    }
    if (offset > state.accepted.startOffset && offset !== state.accepted.length && !state.index.isRecordStart(offset)) {
      // Inside a record: only its bytes can say whether offset is an event boundary. Reading them
      // takes I/O, so this truncation takes its place in the log after that check, not at call time
      // (truncations only ever move the start forward, so their order does not matter).
      await this.log.whenDurable();
      if (offset > state.accepted.startOffset) await this.segmentReads.requireEventBoundary(state, offset);
      this.checkOpen();
      if (this.byName.get(segment) !== state) throw noSuchSegment(segment);
    }
    if (offset <= state.accepted.startOffset) {
      // Already truncated at or past offset: nothing to write, answer once that truncation is durable.
      const startOffset = state.accepted.startOffset;
      await this.log.whenDurable();
      return startOffset;
    }
    const { done } = this.commit(encodeTruncate(state.id, offset), () => {
      state.commitTruncate(offset);
      return offset;
    });
    state.acceptTruncate(offset);
    return done;
  }

  async delete(segment: string): Promise<void> {
    this.checkOpen();
    const state = this.acceptedSegment(segment);
    const { done } = this.commit(encodeDelete(state.id), () => {
      state.commitDelete();
      this.byId.delete(state.id);
    });
    this.byName.delete(segment);
    return done;
  }

  getAttribute(segment: string, key: string): AttributeValue {
    this.checkOpen();
    const state = this.visibleSegment(segment);
    if (key === EVENT_COUNT_ATTRIBUTE) return state.durableEventCount();
    return state.durableAttributes.get(key) ?? null;
  }

  async updateAttribute(segment: string, key: string, expected: AttributeValue, value: AttributeValue): Promise<AttributeUpdate> {
    this.checkOpen();
    const state = this.acceptedSegment(segment);
    const current = state.acceptedAttributes.get(key) ?? null;
    if (!attributeValuesEqual(current, expected)) {
      // The value compared against may itself be on its way to disk: answer once it is there.
      await this.log.whenDurable();
      return { success: false, current };
    }
    // A copy: the caller's buffer may be a view into a frame that gets reused.
    const stored = Buffer.isBuffer(value) ? Buffer.from(value) : value;
    const { done } = this.commit(encodeAttribute(state.id, key, stored), () => {
      state.commitAttribute(key, stored);
      return { success: true, current: stored };
    });
    state.acceptAttribute(key, stored);
    return done;
  }

  lastEventNumber(segment: string, writerId: string): number {
    this.checkOpen();
    return this.visibleSegment(segment).durableLastEventNumber(writerId);
  }

  append(
    segment: string,
    block: Buffer,
    eventCount: number,
    options: { writer?: WriterAppend; expectedOffset?: number } = {},
  ): Promise<AppendResult> {
    // Not an async function: on the awaited-write path the promise of the log's commit is handed on
    // as it is, instead of an async function's promise resolved with it (two more microtask turns
    // and allocations per append). Failures still come as a rejection.
    try {
      return this.appendNow(segment, block, eventCount, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private appendNow(segment: string, block: Buffer, eventCount: number, options: { writer?: WriterAppend; expectedOffset?: number }): Promise<AppendResult> {
    this.checkOpen();
    const state = this.acceptedSegment(segment);
    this.checkBlock(block, eventCount, options.writer);
    const { writer, expectedOffset } = options;
    let data = block;
    let events = eventCount;
    if (writer) {
      const last = state.acceptedLastEventNumber(writer.writerId);
      const first = writer.lastEventNumber - eventCount + 1;
      if (writer.lastEventNumber <= last) {
        // Every event is already stored (or on its way): acknowledge once it is durable.
        const length = state.accepted.length;
        return this.log.whenDurable().then(() => ({ length, lastEventNumber: last, duplicate: true }));
      }
      if (first > last + 1) {
        throw new StoreError(
          'INVALID_EVENT_NUMBER',
          `writer ${writer.writerId} sent events ${first}..${writer.lastEventNumber} to ${segment} but its last stored event is ${last}`,
          { lastEventNumber: last },
        );
      }
      if (first <= last) {
        const alreadyStored = last - first + 1;
        data = block.subarray(positionAfterEvents(block, alreadyStored));
        events -= alreadyStored;
      }
    }
    if (state.accepted.sealed) {
      throw new StoreError('SEGMENT_IS_SEALED', `segment ${segment} is sealed at ${state.accepted.length}`, { length: state.accepted.length });
    }
    if (expectedOffset !== undefined && expectedOffset !== state.accepted.length) {
      throw new StoreError(
        'CONDITIONAL_CHECK_FAILED',
        `segment ${segment} is ${state.accepted.length} bytes long, not the expected ${expectedOffset}`,
        { length: state.accepted.length },
      );
    }
    if (events === 0) {
      const length = state.accepted.length;
      return this.log.whenDurable().then(() => ({ length, lastEventNumber: -1, duplicate: false }));
    }

    const writerId = writer?.writerId ?? '';
    const lastEventNumber = writer?.lastEventNumber ?? -1;
    const record = encodeAppend(state.id, writerId, lastEventNumber, events, data);
    const start = state.accepted.length;
    const end = start + data.byteLength;
    const { position, done } = this.commit(record, () => {
      state.commitAppend(end, writerId, lastEventNumber);
      const { counters } = this.context;
      counters.appends += 1;
      counters.events += events;
      counters.bytes += data.byteLength;
      return { length: end, lastEventNumber, duplicate: false };
    }, writerId);
    state.acceptAppend(data.byteLength, position.fileNumber, position.position + record.blockOffset, writerId, lastEventNumber);
    this.context.cache.set(BlockCache.keyOf(this.id, state.id, start), data);
    return done;
  }

  read(segment: string, offset: number, maxBytes: number): Promise<ReadResult> {
    const reading = this.readDurable(segment, offset, maxBytes);
    // Tracked so close() can wait for reads before closing the files they use.
    this.reads.add(reading);
    const forget = (): void => void this.reads.delete(reading);
    reading.then(forget, forget);
    return reading;
  }

  readNow(segment: string, offset: number, maxBytes: number): ReadResult | null {
    if (!this.accepting || this.log.failed) return null;
    const state = this.byName.get(segment);
    if (!state?.created) return null;
    const { startOffset, length, sealed } = state.durable;
    if (!Number.isSafeInteger(offset) || offset < startOffset || offset > length) return null;
    if (offset === length) return new SegmentReadResult(offset, [], length, sealed);
    return this.segmentReads.readCached(state, offset, maxBytes);
  }

  async waitForData(segment: string, offset: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    this.checkOpen();
    const state = this.visibleSegment(segment);
    if (state.durable.length > offset || state.durable.sealed || timeoutMs <= 0 || signal?.aborted) return;
    return state.waitForData(offset, timeoutMs, signal);
  }

  /** Finishes pending records, writes a checkpoint, closes files. Calls made from now on fail with STORE_CLOSED. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.accepting = false;
    this.closing = this.shutDown();
    return this.closing;
  }

  /**
   * A backup's copy of a record the primary wrote, durable here: its state changes as replay would
   * change it (the primary decided the record; this replica only follows).
   */
  private applyReplicated(replay: Replay, record: LogRecord, fileNumber: number, position: number): void {
    const deleted = record.type === RecordType.Delete ? this.byId.get(record.segmentId) : undefined;
    replay.apply(record, fileNumber, position);
    if (record.type === RecordType.CreateSegment) {
      this.byName.set(record.name, this.byId.get(record.segmentId)!);
      this.nextSegmentId = Math.max(this.nextSegmentId, replay.nextSegmentId);
    } else if (deleted && this.byName.get(deleted.name) === deleted) {
      this.byName.delete(deleted.name);
    }
  }

  private async shutDown(): Promise<void> {
    await this.log.whenDurable().catch(() => undefined);
    await this.checkpointer.inProgress;
    for (const segment of this.byId.values()) segment.releaseWaiters();
    try {
      if (!this.log.failed && this.log.checkpointable) await this.checkpointer.write(this.log.durablePosition);
    } finally {
      await Promise.allSettled([...this.reads]);
      await this.log.close();
      await this.reader.close();
    }
  }

  /** Why this container's log stopped taking writes (disk full, I/O error); null while it works. */
  get logFailure(): Error | null {
    return this.log.failed;
  }

  private checkOpen(): void {
    if (!this.accepting) throw new StoreError('STORE_CLOSED', `container ${this.id} is closed`);
    const failure = this.log.failed;
    if (failure) throw failure;
  }

  /** The segment as calls see it: usable for appends and changes even while its create is in flight. */
  private acceptedSegment(segment: string): SegmentState {
    const state = this.byName.get(segment);
    if (!state) throw noSuchSegment(segment);
    return state;
  }

  /** The segment as readers see it: only once its create is durable. */
  private visibleSegment(segment: string): SegmentState {
    const state = this.byName.get(segment);
    if (!state?.created) throw noSuchSegment(segment);
    return state;
  }

  /**
   * The framing was validated by the caller (the network layer, which answers a bad block with a
   * clear error); walking every event again here would double the cost of each append.
   */
  private checkBlock(block: Buffer, eventCount: number, writer: WriterAppend | undefined): void {
    if (writer && writer.eventCount !== eventCount) {
      throw new ProtocolError('MALFORMED_BLOCK', `the append says ${eventCount} events but its writer says ${writer.eventCount}`);
    }
    if (block.byteLength > MAX_RECORD_BODY - 0x20000) {
      throw new ProtocolError('MALFORMED_BLOCK', `a block of ${block.byteLength} bytes is larger than one log record can hold`);
    }
  }

  /**
   * Queues the record. onDurable runs after the fsync covering it, and its result resolves `done`.
   * Throws synchronously (before the caller changes any state) when the log cannot take records.
   * `origin`: the writer appending it, if any (group commit may wait for writers it just acknowledged).
   */
  private commit<T>(record: EncodedRecord, onDurable: () => T, origin?: string): { position: LogPosition; done: Promise<T> } {
    let settle!: SettleRecord;
    const done = new Promise<T>((resolve, reject) => {
      settle = (error) => {
        if (error) return reject(error);
        try {
          resolve(onDurable());
        } catch (failure) {
          reject(failure);
        }
      };
    });
    const position = this.log.append(record, settle, origin);
    return { position, done };
  }

  private async readDurable(segment: string, offset: number, maxBytes: number): Promise<ReadResult> {
    this.checkOpen();
    const state = this.visibleSegment(segment);
    const { startOffset, length, sealed } = state.durable;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new StoreError('INVALID_OFFSET', `read offset ${offset} is not a valid offset`, { length });
    }
    if (offset < startOffset) {
      throw new StoreError('SEGMENT_IS_TRUNCATED', `segment ${segment} is truncated at ${startOffset}; offset ${offset} is gone`, { startOffset });
    }
    if (offset > length) {
      throw new StoreError('INVALID_OFFSET', `read offset ${offset} is past the end of ${segment} (${length})`, { length });
    }
    if (offset === length) return new SegmentReadResult(offset, [], length, sealed);

    const records = this.segmentReads.recordsToRead(state, offset, length, maxBytes);
    let pieces: Buffer[];
    try {
      pieces = await this.segmentReads.loadRecords(state, records);
    } catch (error) {
      // The events before a corrupt record are served; the read that starts at it fails.
      const corruptOffset = error instanceof StoreError ? error.detail.corruptOffset : undefined;
      if (corruptOffset !== undefined && corruptOffset > offset) return this.readDurable(segment, offset, corruptOffset - offset);
      // A truncation or delete may have retired the file under this read.
      if (state.deleted || this.byName.get(segment) !== state) throw noSuchSegment(segment);
      if (offset < state.durable.startOffset) {
        throw new StoreError('SEGMENT_IS_TRUNCATED', `segment ${segment} was truncated at ${state.durable.startOffset} during the read`, {
          startOffset: state.durable.startOffset,
        });
      }
      throw error;
    }
    const parts = wholeEventsFrom(records, pieces, offset, maxBytes);
    if (parts === null) {
      throw new StoreError('INVALID_OFFSET', `read offset ${offset} of ${segment} is not at an event boundary`, { length });
    }
    return new SegmentReadResult(offset, parts, length, sealed);
  }

  /** Runs synchronously after each durable group (see LogWriter.onDurable). */
  private afterDurable(end: LogPosition, bytes: number): void {
    this.checkpointer.afterDurable(end, bytes, () => this.accepting && this.log.checkpointable);
  }
}

/** mkdir -p, then fsync the parent of every directory it created so their names survive a crash. */
async function createDurably(directory: string, sync: boolean): Promise<void> {
  const firstCreated = await mkdir(directory, { recursive: true });
  if (firstCreated === undefined || !sync) return;
  const top = resolve(firstCreated);
  for (let created = resolve(directory); dirname(created) !== created; created = dirname(created)) {
    await syncDirectory(dirname(created));
    if (created === top) return;
  }
}

function noSuchSegment(segment: string): StoreError {
  return new StoreError('NO_SUCH_SEGMENT', `segment ${segment} does not exist`);
}
