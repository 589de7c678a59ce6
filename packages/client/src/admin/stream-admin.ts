import { metadataSegmentOf, segmentNameOf } from '@sluice/protocol';
import { InvalidOptionError, NoSuchSegmentError, StreamConflictError } from '../errors.js';
import { assertStreamName, shownValue } from '../option-checks.js';
import { checkPosition, positionState, type ReaderPosition } from '../reader/reader-position.js';
import { retryWithin } from '../route/retry-within.js';
import { planAutoScale, policyProblem } from '../stream/auto-scale.js';
import { deleteIfPresent, LayoutStore, META } from '../stream/layout-store.js';
import { activeSegments, planScale, type AutoScalePolicy, type EpochRecord, type StreamLayout } from '../stream/stream-layout.js';
import type { SegmentInfo, SegmentOperations } from './segment-admin.js';

export interface StreamInfo {
  stream: string;
  /** Active segments now (the count the stream was created with until it is scaled). */
  segments: number;
  sealed: boolean;
  /**
   * The active segments' offsets and state, by ascending key range, with the node serving each
   * (its container's primary) and the nodes holding copies (its backups; none unless replicated).
   */
  segmentInfos: Array<SegmentInfo & { owner: string; backups: string[] }>;
  /** The current epoch: 0 at creation, one more per scale. */
  epoch: number;
  /** The auto-scaling policy, null when off (the default). */
  policy: AutoScalePolicy | null;
  /** Each epoch with its segment count and when it began. */
  history: EpochRecord[];
}

export const MAX_SEGMENTS_PER_STREAM = 4096;

/** What writers, readers, reader groups and the revisioned client need to know of a stream. */
export interface StreamCatalog {
  createStream(stream: string, options: { segments: number }): Promise<void>;
  /** The last layout seen of the stream (read once, then kept). */
  layout(stream: string): Promise<StreamLayout>;
  /** The stream's layout read again (after a segment was found sealed). */
  refreshLayout(stream: string): Promise<StreamLayout>;
  /** The stream's segment count (NoSuchStreamError when it does not exist). */
  segmentCount(stream: string): Promise<number>;
  /** Marks the stream as used by a revisioned client (see StreamAdmin.claimForRevisions). */
  claimForRevisions(stream: string): Promise<void>;
}

/**
 * Streams are kept in a metadata segment (`scope/name/#meta`) owned like any other segment: its
 * `segmentCount` attribute, set once by compare-and-set, is the stream's definition, and its `layout`
 * attribute (stream/layout-store.ts) the epochs once it was scaled. Every step of createStream
 * tolerates having been done before, so a retry after a crash midway completes the stream, and two
 * clients creating it at once agree.
 */
export class StreamAdmin implements StreamCatalog {
  /** The last layout seen per stream: routing starts from it, and a sealed segment refreshes it. */
  private readonly layouts = new Map<string, StreamLayout>();
  readonly layoutStore: LayoutStore;

  constructor(
    private readonly segments: SegmentOperations,
    /** How long a scale waits for unreachable nodes (the client's retryWindowMs). */
    private readonly retryWindowMs: number,
  ) {
    this.layoutStore = new LayoutStore(segments);
  }

  async createStream(stream: string, options: { segments: number }): Promise<void> {
    assertStreamName(stream);
    const count = checkSegmentCount(options?.segments);
    const meta = metadataSegmentOf(stream);
    await this.segments.createSegment(meta);
    const { current } = await this.segments.updateAttribute(meta, META.segmentCount, null, count);
    if (current !== count) {
      throw new StreamConflictError(
        `stream ${stream} already exists with ${String(current)} segments, not ${count}; use another name or delete it first`,
      );
    }
    // A scaled stream was created long ago, and retention may have deleted its first segments.
    if ((await this.segments.getAttribute(meta, META.layout)) !== null) return;
    await Promise.all(Array.from({ length: count }, (_, index) => this.segments.createSegment(segmentNameOf(stream, index))));
  }

  /** The stream's committed layout as last seen by this client (read once, then on refreshLayout). */
  async layout(stream: string): Promise<StreamLayout> {
    return this.layouts.get(stream) ?? this.refreshLayout(stream);
  }

  /** Reads the committed layout again (carrying out a scale found half done). */
  async refreshLayout(stream: string): Promise<StreamLayout> {
    assertStreamName(stream);
    const layout = await this.layoutStore.current(stream);
    this.layouts.set(stream, layout);
    return layout;
  }

  /** The number of active segments. */
  async segmentCount(stream: string): Promise<number> {
    return activeSegments(await this.refreshLayout(stream)).length;
  }

  async getStreamInfo(stream: string): Promise<StreamInfo> {
    const layout = await this.refreshLayout(stream);
    const active = activeSegments(layout);
    const [sealed, segmentInfos] = await Promise.all([
      this.segments.getAttribute(metadataSegmentOf(stream), META.sealed),
      Promise.all(
        active.map(async (segment) => {
          const name = segmentNameOf(stream, segment.number);
          const [info, owner, backups] = await Promise.all([
            this.segments.getSegmentInfo(name),
            this.segments.ownerOf(name),
            this.segments.backupsOf(name),
          ]);
          return { ...info, owner, backups };
        }),
      ),
    ]);
    return {
      stream,
      segments: active.length,
      sealed: sealed !== null,
      segmentInfos,
      epoch: layout.epoch,
      history: [...layout.history],
      policy: layout.policy,
    };
  }

  /**
   * Seals the active segments and creates `segments` successors over equal key ranges, as one new
   * epoch. Writers move each key to its successor after its events in the sealed segment are durable;
   * readers read a successor after every predecessor overlapping its range. Resolves once done;
   * unreachable nodes are waited for up to the client's retryWindowMs.
   */
  async scaleStream(stream: string, options: { segments: number }): Promise<void> {
    assertStreamName(stream);
    const count = checkSegmentCount(options?.segments);
    // Each attempt carries out what an earlier one recorded, so a node restarting midway only delays it.
    const layout = await retryWithin(this.retryWindowMs, () => this.layoutStore.change(stream, (current) => planScale(current, count, Date.now())));
    this.layouts.set(stream, layout);
  }

  /**
   * Turns auto-scaling on with policy (null: off). The node owning the stream's metadata evaluates it
   * every --auto-scale-interval: it splits a segment over targetEventsPerSecond and merges neighbours
   * under half of it together, within minSegments..maxSegments.
   */
  async setScalingPolicy(stream: string, policy: AutoScalePolicy | null): Promise<void> {
    assertStreamName(stream);
    if (policy !== null) {
      const problem = typeof policy === 'object' ? policyProblem(policy) : 'must be an object or null';
      if (problem !== null) throw new InvalidOptionError('policy', problem);
    }
    const checked = policy === null ? null : { minSegments: policy.minSegments, maxSegments: policy.maxSegments, targetEventsPerSecond: policy.targetEventsPerSecond };
    this.layouts.set(stream, await this.layoutStore.setPolicy(stream, checked));
  }

  /**
   * @internal One auto-scaling step from the active segments' event rates (events/s by segment
   * number); the node owning the metadata calls it. Resolves true when the stream was scaled.
   */
  async autoScale(stream: string, rates: ReadonlyMap<number, number>): Promise<boolean> {
    const before = await this.refreshLayout(stream);
    const after = await this.layoutStore.change(stream, (current) =>
      current.policy === null || current.epoch !== before.epoch ? null : planAutoScale(current, rates, current.policy, Date.now()),
    );
    this.layouts.set(stream, after);
    return after.epoch !== before.epoch;
  }

  /**
   * Marks the stream as a revisioned client's (never to be scaled) and checks it has one segment that
   * was never scaled. A scale recording its plan at the same time sees the mark and backs off.
   */
  async claimForRevisions(stream: string): Promise<void> {
    assertStreamName(stream);
    const meta = metadataSegmentOf(stream);
    await this.layoutStore.read(stream); // NoSuchStreamError before anything is marked
    if ((await this.segments.getAttribute(meta, META.revisioned)) === null) await this.segments.updateAttribute(meta, META.revisioned, null, 1);
    const { layout } = await this.layoutStore.read(stream);
    const count = activeSegments(layout).length;
    if (count !== 1 || layout.epoch !== 0 || layout.pending !== null) {
      const why = count === 1 ? 'was scaled' : `has ${count} segments`;
      throw new InvalidOptionError('stream', `${stream} ${why}; a revisioned client needs a stream created with { segments: 1 } and never scaled`);
    }
  }

  /**
   * Retention: drops everything before position (a reader position, e.g. what every consumer has
   * processed). Segments it is reading are truncated at its offsets; sealed segments it read to the
   * end are deleted and leave the layout, so a stream scaled often does not keep dead segments.
   * Returns the numbers of the segments deleted.
   */
  async truncateStream(stream: string, position: ReaderPosition): Promise<number[]> {
    assertStreamName(stream);
    const checked = checkPosition(position, stream, 'position');
    const layout = await this.refreshLayout(stream);
    const { finished, reading } = positionState(layout, checked);
    const present = new Set(layout.segments.map((segment) => segment.number));
    await Promise.all(
      [...reading].filter(([number, offset]) => offset > 0 && present.has(number)).map(async ([number, offset]) => {
        try {
          await this.segments.truncateSegment(segmentNameOf(stream, number), offset);
        } catch (error) {
          if (!(error instanceof NoSuchSegmentError)) throw error; // retention got there first
        }
      }),
    );
    const deleted = await this.layoutStore.retire(stream, (current) =>
      current.segments.filter((segment) => segment.sealedEpoch !== null && finished.has(segment.number)).map((segment) => segment.number),
    );
    this.layouts.delete(stream);
    return deleted;
  }

  /** Seals every active segment: writers get SegmentIsSealedError, readers reach the end. */
  async sealStream(stream: string): Promise<void> {
    assertStreamName(stream);
    const meta = metadataSegmentOf(stream);
    // Marked first: a scale that starts later is refused, and one under way is carried out below.
    if ((await this.segments.getAttribute(meta, META.sealed)) === null) await this.segments.updateAttribute(meta, META.sealed, null, 1);
    const layout = await this.refreshLayout(stream);
    await Promise.all(activeSegments(layout).map((segment) => this.segments.sealSegment(segmentNameOf(stream, segment.number))));
  }

  async deleteStream(stream: string): Promise<void> {
    assertStreamName(stream);
    const { layout } = await this.layoutStore.read(stream);
    const numbers = [...layout.segments, ...(layout.pending?.created ?? [])].map((segment) => segment.number).concat(layout.retiring ?? []);
    await Promise.all(numbers.map((number) => deleteIfPresent(this.segments, segmentNameOf(stream, number))));
    await deleteIfPresent(this.segments, metadataSegmentOf(stream));
    this.layouts.delete(stream);
  }
}

function checkSegmentCount(count: unknown): number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_SEGMENTS_PER_STREAM) {
    throw new InvalidOptionError('segments', `must be an integer from 1 to ${MAX_SEGMENTS_PER_STREAM}, got ${shownValue(count)}`);
  }
  return count;
}

