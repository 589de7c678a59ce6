import { equalRange, keyPoint } from './key-space.js';

/**
 * A stream's layout: which segments exist, which key range each owns, which epoch made and which
 * sealed it, and what each continues. Pure data and pure functions; the layout is stored in the
 * stream's metadata segment (layout-codec.ts, stream-admin.ts) and changed only by compare-and-set,
 * one epoch at a time: an epoch's scale is first recorded as a plan (`pending`), then carried out
 * (successors created, predecessors sealed) and committed. Anyone who finds a plan pending can carry
 * it out again and commit it: every step of it is idempotent.
 *
 * Ordering rule shared by writers, plain readers and reader groups: a segment may be read once every
 * predecessor overlapping its range was read to the end (`readableSegments`). A predecessor that is no
 * longer in the layout was deleted by retention, and counts as read to the end.
 */

export interface SegmentRecord {
  /** The segment is `<stream>/<number>`; numbers grow with each epoch and are never reused. */
  readonly number: number;
  /** The key range [low, high) of the key space [0, 1) it owns. */
  readonly low: number;
  readonly high: number;
  /** The segments it continues: the sealed ones whose ranges overlap its own. Empty in epoch 0. */
  readonly predecessors: readonly number[];
  readonly createdEpoch: number;
  /** The epoch that sealed and replaced it; null while it takes appends. */
  readonly sealedEpoch: number | null;
}

export interface EpochRecord {
  readonly epoch: number;
  /** Active segment count in this epoch. */
  readonly segments: number;
  /** ms since the epoch when it was committed (0 for a stream's first epoch). */
  readonly at: number;
}

/** One scale, recorded before it is carried out so that whoever finds it can finish it. */
export interface ScalePlan {
  readonly epoch: number;
  readonly sealed: readonly number[];
  readonly created: readonly SegmentRecord[];
  readonly at: number;
}

/** Auto-scaling per stream (off when null): split hot ranges, merge cold neighbours. */
export interface AutoScalePolicy {
  readonly minSegments: number;
  readonly maxSegments: number;
  readonly targetEventsPerSecond: number;
}

export interface StreamLayout {
  readonly version: 1;
  /** The segment count the stream was created with: fixes how keys map to points (key-space.ts). */
  readonly initialSegments: number;
  /** The last committed epoch. */
  readonly epoch: number;
  readonly nextSegment: number;
  /** Every segment not deleted by retention, by ascending number. */
  readonly segments: readonly SegmentRecord[];
  readonly history: readonly EpochRecord[];
  readonly pending: ScalePlan | null;
  readonly policy: AutoScalePolicy | null;
  /**
   * Segments retention took out of `segments` whose delete may not have happened yet (a
   * truncateStream cut short): the next one deletes them. Absent in layouts written before it existed.
   */
  readonly retiring?: readonly number[];
}

export interface KeyRange {
  readonly low: number;
  readonly high: number;
}

/** Epoch 0 of a stream created with `count` segments: segments 0…count-1 over equal ranges. */
export function initialLayout(count: number): StreamLayout {
  const segments = Array.from({ length: count }, (_, number) => ({
    number,
    ...equalRange(number, count),
    predecessors: [],
    createdEpoch: 0,
    sealedEpoch: null,
  }));
  return {
    version: 1,
    initialSegments: count,
    epoch: 0,
    nextSegment: count,
    segments,
    history: [{ epoch: 0, segments: count, at: 0 }],
    pending: null,
    policy: null,
  };
}

/** The segments that take appends now, by ascending key range. */
export function activeSegments(layout: StreamLayout): SegmentRecord[] {
  return layout.segments.filter((segment) => segment.sealedEpoch === null).sort((a, b) => a.low - b.low);
}

export function segmentRecord(layout: StreamLayout, number: number): SegmentRecord | undefined {
  return layout.segments.find((segment) => segment.number === number);
}

/** Routes routing keys to the active segment owning their point; build one per committed epoch. */
export class KeyRouter {
  readonly epoch: number;
  readonly #initialSegments: number;
  readonly #lows: number[];
  readonly #numbers: number[];

  constructor(layout: StreamLayout) {
    const active = activeSegments(layout);
    this.epoch = layout.epoch;
    this.#initialSegments = layout.initialSegments;
    this.#lows = active.map((segment) => segment.low);
    this.#numbers = active.map((segment) => segment.number);
  }

  /** The number of the active segment whose range holds the key's point. */
  segmentFor(routingKey: string): number {
    const lows = this.#lows;
    // One active segment takes every key: no hash per event for the most common stream.
    if (lows.length === 1) return this.#numbers[0]!;
    const point = keyPoint(routingKey, this.#initialSegments);
    let lo = 0;
    let hi = lows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (lows[mid]! <= point) lo = mid;
      else hi = mid - 1;
    }
    return this.#numbers[lo]!;
  }
}

/**
 * The plan that replaces every active segment by `count` segments over equal ranges, or null when
 * the active segments already are exactly that.
 */
export function planScale(layout: StreamLayout, count: number, at: number): ScalePlan | null {
  const active = activeSegments(layout);
  const ranges = Array.from({ length: count }, (_, index) => equalRange(index, count));
  const same = active.length === count && active.every((segment, index) => sameRange(segment, ranges[index]!));
  return same ? null : planReplace(layout, active.map((segment) => segment.number), ranges, at);
}

/** Splits an active segment's range in two halves. */
export function planSplit(layout: StreamLayout, number: number, at: number): ScalePlan {
  const segment = activeRecord(layout, number);
  const middle = (segment.low + segment.high) / 2;
  return planReplace(layout, [number], [{ low: segment.low, high: middle }, { low: middle, high: segment.high }], at);
}

/** Merges two active segments whose ranges touch into one. */
export function planMerge(layout: StreamLayout, first: number, second: number, at: number): ScalePlan {
  const [a, b] = [activeRecord(layout, first), activeRecord(layout, second)].sort((x, y) => x.low - y.low) as [SegmentRecord, SegmentRecord];
  if (a.high !== b.low) throw new RangeError(`segments ${first} and ${second} are not neighbours in the key space`);
  return planReplace(layout, [a.number, b.number], [{ low: a.low, high: b.high }], at);
}

/**
 * Seals the active segments `sealed` and creates one successor per range; the ranges must cover
 * exactly the union of the sealed ones. A successor's predecessors are the sealed segments it overlaps.
 */
export function planReplace(layout: StreamLayout, sealed: readonly number[], ranges: readonly KeyRange[], at: number): ScalePlan {
  if (layout.pending !== null) throw new Error(`epoch ${layout.pending.epoch} is still being carried out`);
  const replaced = sealed.map((number) => activeRecord(layout, number)).sort((a, b) => a.low - b.low);
  const sorted = [...ranges].sort((a, b) => a.low - b.low);
  if (!coverSameSpace(replaced, sorted)) throw new RangeError('the new ranges must cover exactly the ranges they replace');
  const epoch = layout.epoch + 1;
  const created = sorted.map((range, index) => ({
    number: layout.nextSegment + index,
    low: range.low,
    high: range.high,
    predecessors: replaced.filter((segment) => overlaps(segment, range)).map((segment) => segment.number),
    createdEpoch: epoch,
    sealedEpoch: null,
  }));
  return { epoch, sealed: replaced.map((segment) => segment.number), created, at };
}

export function withPlan(layout: StreamLayout, plan: ScalePlan): StreamLayout {
  return { ...layout, pending: plan };
}

/** The layout once the pending plan is carried out: its epoch becomes the current one. */
export function commitPlan(layout: StreamLayout): StreamLayout {
  const plan = layout.pending;
  if (plan === null) return layout;
  const sealed = new Set(plan.sealed);
  const segments = [
    ...layout.segments.map((segment) => (sealed.has(segment.number) ? { ...segment, sealedEpoch: plan.epoch } : segment)),
    ...plan.created,
  ];
  const next = { ...layout, epoch: plan.epoch, nextSegment: layout.nextSegment + plan.created.length, segments, pending: null };
  return { ...next, history: [...layout.history, { epoch: plan.epoch, segments: activeSegments(next).length, at: plan.at }] };
}

/** The segments that continue `number`'s key range in the next epoch that sealed it. */
export function successorsOf(layout: StreamLayout, number: number): SegmentRecord[] {
  return layout.segments.filter((segment) => segment.predecessors.includes(number));
}

/**
 * Which segments may be read now, given those read to the end: each not finished segment whose
 * predecessors are all finished (or deleted by retention). By ascending number.
 */
export function readableSegments(layout: StreamLayout, finished: ReadonlySet<number>): SegmentRecord[] {
  const present = new Set(layout.segments.map((segment) => segment.number));
  return layout.segments.filter(
    (segment) =>
      !finished.has(segment.number) &&
      segment.predecessors.every((predecessor) => finished.has(predecessor) || !present.has(predecessor)),
  );
}

/** Every segment that `numbers` continue, directly or through others (still in the layout). */
export function ancestorsOf(layout: StreamLayout, numbers: Iterable<number>): Set<number> {
  const byNumber = new Map(layout.segments.map((segment) => [segment.number, segment]));
  const ancestors = new Set<number>();
  const todo = [...numbers];
  while (todo.length > 0) {
    for (const predecessor of byNumber.get(todo.pop()!)?.predecessors ?? []) {
      if (!ancestors.has(predecessor) && byNumber.has(predecessor)) {
        ancestors.add(predecessor);
        todo.push(predecessor);
      }
    }
  }
  return ancestors;
}

/** The layout without the given sealed segments (deleted by retention). Active ones are kept. */
export function withoutSegments(layout: StreamLayout, deleted: Iterable<number>): StreamLayout {
  const gone = new Set(deleted);
  return { ...layout, segments: layout.segments.filter((segment) => segment.sealedEpoch === null || !gone.has(segment.number)) };
}

export function overlaps(a: KeyRange, b: KeyRange): boolean {
  return a.low < b.high && b.low < a.high;
}

function sameRange(a: KeyRange, b: KeyRange): boolean {
  return a.low === b.low && a.high === b.high;
}

function activeRecord(layout: StreamLayout, number: number): SegmentRecord {
  const segment = segmentRecord(layout, number);
  if (segment === undefined || segment.sealedEpoch !== null) throw new RangeError(`segment ${number} is not active`);
  return segment;
}

/** Both lists, sorted by low, tile one contiguous interval without gaps or overlaps. */
function coverSameSpace(replaced: readonly KeyRange[], ranges: readonly KeyRange[]): boolean {
  const contiguous = (list: readonly KeyRange[]): boolean =>
    list.length > 0 && list.every((range, index) => range.low < range.high && (index === 0 || list[index - 1]!.high === range.low));
  return (
    contiguous(replaced) &&
    contiguous(ranges) &&
    replaced[0]!.low === ranges[0]!.low &&
    replaced.at(-1)!.high === ranges.at(-1)!.high
  );
}
