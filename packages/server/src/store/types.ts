import type { AttributeValue, ErrorCode } from '@sluice/protocol';

import type { Replication } from './container-log.js';
import type { LogIo } from './log-io.js';

/**
 * The storage contract the network layer is written against. One SegmentStore per node; it owns
 * one Container per container id this node owns. Every method that changes state resolves only
 * after that change is durable (fsynced, unless fsync is 'none').
 */
export interface StoreOptions {
  dataDir: string;
  /** The container ids this node owns (the others are not opened). */
  containers: readonly number[];
  /** 'always': acknowledge after fsync (group commit). 'none': never fsync; for tests only, unsafe. */
  fsync: 'always' | 'none';
  /** Byte bound of the cache of recent segment data shared by all containers. */
  cacheBytes: number;
  /** A log file rolls over to a new one past this size. */
  logFileBytes: number;
  /** A checkpoint is written after this many bytes of log since the last one (and on close). */
  checkpointIntervalBytes: number;
  maxEventSize: number;
  logger: StoreLogger;
  /** The log's file calls; node:fs unless a test records or holds them. */
  logIo?: LogIo;
  /** Present on a replicated node: each container's records are durable once a majority of its replicas hold them. */
  replication?: Replication;
}

export interface StoreLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  debug(object: object, message?: string): void;
}

export interface SegmentInfo {
  segment: string;
  /** First readable offset (after truncation). */
  startOffset: number;
  /** Durable length: offset just past the last durable event. */
  length: number;
  sealed: boolean;
}

export interface WriterAppend {
  writerId: string;
  /** Event number of the last event in the block; the block holds eventCount events ending there. */
  lastEventNumber: number;
  eventCount: number;
}

export interface AppendResult {
  /** Segment length after this append (offset just past its last event). */
  length: number;
  /** The writer's last durable event number after this append (-1 when no writer). */
  lastEventNumber: number;
  /** True when every event was a duplicate already stored: nothing was written. */
  duplicate: boolean;
}

export interface ReadResult {
  /** Offset of the first returned byte (the requested offset). */
  offset: number;
  /**
   * Whole events (`u32 length + bytes` each) as stored, in the blocks they lie in (views of the block
   * cache or of a log read, in order); none at the tail. A reply sends them as they are.
   */
  readonly parts: readonly Buffer[];
  /** Bytes in parts. */
  readonly byteLength: number;
  /** The same bytes as one buffer, joined on first use. */
  readonly data: Buffer;
  /** Durable length of the segment when the read was served. */
  length: number;
  /** True when the segment is sealed and the read reached its end: no more data will ever come. */
  endOfSegment: boolean;
}

export interface AttributeUpdate {
  success: boolean;
  /** The value after the call (the new value on success, the unchanged current one otherwise). */
  current: AttributeValue;
}

/** A subset of @sluice/protocol's error codes: naming a code that is not in its table does not compile. */
type ErrorCodes<Codes extends ErrorCode> = Codes;

/** Errors the store raises; the network layer maps each code to the error reply of the same name. */
export type StoreErrorCode = ErrorCodes<
  | 'NO_SUCH_SEGMENT'
  | 'SEGMENT_ALREADY_EXISTS'
  | 'SEGMENT_IS_SEALED'
  | 'SEGMENT_IS_TRUNCATED'
  | 'INVALID_EVENT_NUMBER'
  | 'CONDITIONAL_CHECK_FAILED'
  | 'INVALID_OFFSET'
  | 'STORE_CLOSED'
  /** A record read from a log file failed its CRC: nothing of it was served. */
  | 'DATA_CORRUPTION'
  /** The container's log could not be written (ENOSPC, EDQUOT, EIO): it takes nothing until a restart. */
  | 'DISK_FULL'
>;

export interface Container {
  readonly id: number;
  createSegment(segment: string): Promise<void>;
  /** Throws NO_SUCH_SEGMENT. */
  getInfo(segment: string): SegmentInfo;
  /** Names of the segments readers can see (created durably, not deleted). */
  segmentNames(): string[];
  /** Idempotent; resolves with the sealed length. */
  seal(segment: string): Promise<number>;
  /** Drops the prefix before offset (an event boundary, ≤ length); offsets below it read as SEGMENT_IS_TRUNCATED. */
  truncate(segment: string, offset: number): Promise<number>;
  delete(segment: string): Promise<void>;
  /** The attribute's durable value; EVENT_COUNT_ATTRIBUTE answers the segment's event count. */
  getAttribute(segment: string, key: string): AttributeValue;
  /** Compare-and-set: succeeds iff the current value equals expected (null = absent); value null removes. */
  updateAttribute(segment: string, key: string, expected: AttributeValue, value: AttributeValue): Promise<AttributeUpdate>;
  /** The writer's last durable event number on this segment, -1 when unknown. */
  lastEventNumber(segment: string, writerId: string): number;
  /**
   * Appends a validated block of whole events as one durable record. With a writer: events numbered at
   * or below the writer's last number are dropped as duplicates (a partly duplicate block keeps its new
   * tail), a first number past last+1 is INVALID_EVENT_NUMBER. With expectedOffset: the append happens
   * only if the segment length (including appends still being made durable) equals it, else
   * CONDITIONAL_CHECK_FAILED carrying the current length. Order of calls is the order in the segment.
   */
  append(
    segment: string,
    block: Buffer,
    eventCount: number,
    options?: { writer?: WriterAppend; expectedOffset?: number },
  ): Promise<AppendResult>;
  /**
   * Whole durable events from offset (an event boundary in [startOffset, length]) up to maxBytes (at
   * least one event when any is there). Never returns data that is not yet durable.
   */
  read(segment: string, offset: number, maxBytes: number): Promise<ReadResult>;
  /**
   * The same read at once, when the block cache holds all of it (a read at the tail); null when it
   * does not, or when the read would fail: read() then fetches the data or says why.
   */
  readNow(segment: string, offset: number, maxBytes: number): ReadResult | null;
  /**
   * Resolves when the segment's durable length passes offset, it is sealed or deleted, or timeoutMs or
   * the signal ends the wait (it never rejects for those).
   */
  waitForData(segment: string, offset: number, timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

export interface StoreStats {
  /** Append records made durable. */
  appends: number;
  /** Events in those records. */
  events: number;
  bytes: number;
  /** Log writes that returned only once on disk (O_DSYNC): one per group commit and file. */
  fsyncs: number;
  /** Every sync call while running: those log writes, checkpoint file and directory syncs. */
  syncs: number;
  /** Reads that found a record failing its CRC in a log file. */
  corruptReads: number;
  /** Containers whose log failed (disk full, I/O error): they take no appends until a restart. */
  failedContainers: Array<{ container: number; reason: string }>;
  cacheBytes: number;
  cacheHits: number;
  cacheMisses: number;
  /** Milliseconds the last recovery took, and how much log it replayed. */
  recoveryMs: number;
  recoveredLogBytes: number;
}

export interface SegmentStore {
  container(id: number): Container;
  stats(): StoreStats;
  /**
   * Closes the container (calls to it then fail with STORE_CLOSED), runs prepare on its directory,
   * and opens it again by recovery: a replica cutting a divergent tail. Fetch the container again
   * with container(id) afterwards.
   */
  reopenContainer(id: number, prepare: (directory: string) => Promise<void>): Promise<void>;
  /** Waits for in-flight appends, fsyncs, writes a checkpoint, closes files. */
  close(): Promise<void>;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** Extra data for the error reply: current length, first readable offset, last event number. */
    readonly detail: { length?: number; startOffset?: number; lastEventNumber?: number; corruptOffset?: number } = {},
  ) {
    super(message);
  }
}
