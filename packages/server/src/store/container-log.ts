import type { LogPosition } from './log-files.js';
import type { LogWriter, SettleRecord } from './log-writer.js';
import type { EncodedRecord, LogRecord } from './record-codec.js';

/**
 * How a container's records become durable: its own log (LogWriter), or its log replicated to a
 * majority of the container's replicas (replication/ReplicatedLog). The container writes through
 * this and nothing else, so it has one path for both.
 */
export interface ContainerLog {
  /**
   * Queues the record; settle runs once it is durable (and, replicated, acknowledged by a majority).
   * `origin` names the writer that appended it (a log may use it to group the appends of writers it
   * expects back; see ReturningWriters).
   */
  append(record: EncodedRecord, settle: SettleRecord, origin?: string): LogPosition;
  /** Resolves once every record appended before the call is durable (acknowledged, replicated). */
  whenDurable(): Promise<void>;
  /** The end of what is durable (acknowledged): a checkpoint taken now covers the log up to here. */
  readonly durablePosition: LogPosition;
  /** Why records cannot be made durable right now (this error is thrown to every call); null when they can. */
  readonly failed: Error | null;
  /**
   * False while the container's state may hold records the cluster has not acknowledged (a backup
   * applies what it receives): a checkpoint then could cover a tail that later has to be cut.
   */
  readonly checkpointable: boolean;
  close(): Promise<void>;
}

/** What a container hands replication when it opens (the store asks replication to make its records durable). */
export interface ReplicatedContainer {
  readonly id: number;
  readonly directory: string;
  /** The container's own log; replication writes records into it and never replaces it. */
  readonly local: LogWriter;
  /** The container's work after records became durable (checkpoints), run once they are acknowledged. */
  onCommitted(end: LogPosition, bytes: number): void;
  /** A record received from the primary and now durable here: applied as recovery replays it. */
  apply(record: LogRecord, fileNumber: number, position: number): void;
}

/** Given to SegmentContainer.open when the container is replicated. */
export interface Replication {
  attach(container: ReplicatedContainer): Promise<ContainerLog>;
}
