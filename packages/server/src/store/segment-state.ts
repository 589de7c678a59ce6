import type { AttributeValue } from '@sluice/protocol';

import { DataWaiters } from './data-waiters.js';
import { SegmentIndex } from './segment-index.js';

/**
 * One segment's state, in two views.
 *
 * - accepted: decided at call time, including records still on their way to disk. Offsets, dedup,
 *   conditional checks and seal checks use it, so the order of calls is the order in the log.
 * - durable: what a crash cannot take back. Reads, getInfo, waiters and checkpoints use it.
 *
 * Every change is made twice: accept* when the call is made, commit* when the fsync covering its
 * record completes. Recovery replays a record by doing both at once, so the live path and replay
 * share one definition of what each record means.
 */
export interface SegmentView {
  length: number;
  startOffset: number;
  sealed: boolean;
}

export interface WriterState {
  accepted: number;
  /** -1 until an append of this writer is durable. */
  durable: number;
}

export class SegmentState {
  /** Record index; entries are added when accepted (reads bound themselves by the durable length). */
  readonly index: SegmentIndex;
  readonly accepted: SegmentView = { length: 0, startOffset: 0, sealed: false };
  readonly durable: SegmentView = { length: 0, startOffset: 0, sealed: false };
  /** True once the create record is durable; before that the segment is invisible to readers. */
  created = false;
  /** True once the delete record is durable. */
  deleted = false;
  readonly writers = new Map<string, WriterState>();
  readonly acceptedAttributes = new Map<string, AttributeValue>();
  readonly durableAttributes = new Map<string, AttributeValue>();
  private waiters: DataWaiters | null = null;

  constructor(
    readonly id: number,
    readonly name: string,
    index?: SegmentIndex,
  ) {
    this.index = index ?? new SegmentIndex();
  }

  /** Builds a segment whose accepted and durable views are the same (recovered from a checkpoint). */
  static recovered(
    id: number,
    name: string,
    view: SegmentView,
    index: SegmentIndex,
    attributes: Iterable<[string, AttributeValue]>,
    writers: Iterable<[string, number]>,
  ): SegmentState {
    const segment = new SegmentState(id, name, index);
    segment.created = true;
    Object.assign(segment.accepted, view);
    Object.assign(segment.durable, view);
    for (const [key, value] of attributes) {
      segment.acceptedAttributes.set(key, value);
      segment.durableAttributes.set(key, value);
    }
    for (const [writerId, last] of writers) segment.writers.set(writerId, { accepted: last, durable: last });
    return segment;
  }

  acceptedLastEventNumber(writerId: string): number {
    return this.writers.get(writerId)?.accepted ?? -1;
  }

  /** Events appended with a writer id, from the writers' durable event numbers. */
  durableEventCount(): number {
    let count = 0;
    for (const writer of this.writers.values()) count += writer.durable + 1;
    return count;
  }

  durableLastEventNumber(writerId: string): number {
    return this.writers.get(writerId)?.durable ?? -1;
  }

  /** Returns the offset just past the block. writerId '' means no writer. */
  acceptAppend(blockLength: number, fileNumber: number, blockPosition: number, writerId: string, lastEventNumber: number): number {
    this.index.add(this.accepted.length, fileNumber, blockPosition);
    this.accepted.length += blockLength;
    if (writerId !== '') {
      const writer = this.writers.get(writerId);
      if (writer) writer.accepted = lastEventNumber;
      else this.writers.set(writerId, { accepted: lastEventNumber, durable: -1 });
    }
    return this.accepted.length;
  }

  commitAppend(end: number, writerId: string, lastEventNumber: number): void {
    this.durable.length = end;
    if (writerId !== '') this.writers.get(writerId)!.durable = lastEventNumber;
    this.waiters?.releaseBelow(end);
  }

  acceptSeal(): void {
    this.accepted.sealed = true;
  }

  commitSeal(): void {
    this.durable.sealed = true;
    this.waiters?.releaseAll();
  }

  acceptTruncate(offset: number): void {
    this.accepted.startOffset = Math.max(this.accepted.startOffset, offset);
  }

  /** Index entries go only now: until the truncation is durable, reads may still serve that prefix. */
  commitTruncate(offset: number): void {
    if (offset <= this.durable.startOffset) return;
    this.durable.startOffset = offset;
    this.index.dropBefore(offset, this.accepted.length);
  }

  acceptAttribute(key: string, value: AttributeValue): void {
    if (value === null) this.acceptedAttributes.delete(key);
    else this.acceptedAttributes.set(key, value);
  }

  commitAttribute(key: string, value: AttributeValue): void {
    if (value === null) this.durableAttributes.delete(key);
    else this.durableAttributes.set(key, value);
  }

  commitDelete(): void {
    this.deleted = true;
    this.waiters?.releaseAll();
  }

  waitForData(offset: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    this.waiters ??= new DataWaiters();
    return this.waiters.wait(offset, timeoutMs, signal);
  }

  releaseWaiters(): void {
    this.waiters?.releaseAll();
  }
}

export function attributeValuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return a.equals(b);
}
