import { metadataSegmentOf, segmentNameOf } from '@sluice/protocol';
import type { SegmentOperations } from '../admin/segment-admin.js';
import { NoSuchSegmentError, NoSuchStreamError, StreamNotScalableError, StreamSealedError } from '../errors.js';
import { decodeLayout, encodeLayout } from './layout-codec.js';
import {
  commitPlan,
  initialLayout,
  withoutSegments,
  withPlan,
  type AutoScalePolicy,
  type ScalePlan,
  type StreamLayout,
} from './stream-layout.js';

/** Attributes of `scope/name/#meta` (docs/decisions.md, "Stream metadata"). */
export const META = {
  /** The segment count the stream was created with; set once, defines the stream. */
  segmentCount: 'segmentCount',
  /** Present once the stream is sealed. */
  sealed: 'sealed',
  /** The StreamLayout as JSON; absent until the first scale (the stream is then its epoch 0). */
  layout: 'layout',
  /** Set by a revisioned client on first use: such a stream is never scaled. */
  revisioned: 'revisioned',
} as const;

/** A layout with the exact attribute value it was read from, for compare-and-set. */
export interface StoredLayout {
  layout: StreamLayout;
  /** The attribute's bytes, or null while the stream was never scaled. */
  raw: Buffer | null;
}

/**
 * Reads and changes a stream's layout in its metadata segment. Every change is one compare-and-set of
 * the whole `layout` attribute, so concurrent scale calls serialise on it: the loser reads again.
 * A scale is recorded as a plan first, then carried out (successors created, predecessors sealed:
 * both idempotent) and committed; whoever reads a layout with a plan pending (a later scale call, a
 * writer that met a sealed segment, a reader at the end of one) carries it out before going on, so a
 * crash midway is completed by the next call.
 */
export class LayoutStore {
  constructor(private readonly segments: SegmentOperations) {}

  async read(stream: string): Promise<StoredLayout> {
    const meta = metadataSegmentOf(stream);
    let count: unknown;
    let raw: unknown;
    try {
      [count, raw] = await Promise.all([this.segments.getAttribute(meta, META.segmentCount), this.segments.getAttribute(meta, META.layout)]);
    } catch (error) {
      if (error instanceof NoSuchSegmentError) throw new NoSuchStreamError(stream);
      throw error;
    }
    if (Buffer.isBuffer(raw)) return { layout: decodeLayout(stream, raw), raw };
    if (typeof count !== 'number') throw new NoSuchStreamError(stream);
    return { layout: initialLayout(count), raw: null };
  }

  /** The committed layout: a plan found pending is carried out first. */
  async current(stream: string): Promise<StreamLayout> {
    for (;;) {
      const stored = await this.read(stream);
      if (stored.layout.pending === null) return stored.layout;
      await this.carryOut(stream, stored);
    }
  }

  /**
   * Records the plan `decide` makes from the committed layout (null: nothing to do), carries it out
   * and commits it. Returns the layout after. Refused on sealed and revisioned streams.
   */
  async change(stream: string, decide: (layout: StreamLayout) => ScalePlan | null): Promise<StreamLayout> {
    const meta = metadataSegmentOf(stream);
    for (;;) {
      const stored = await this.read(stream);
      if (stored.layout.pending !== null) {
        await this.carryOut(stream, stored);
        continue;
      }
      if ((await this.segments.getAttribute(meta, META.sealed)) !== null) throw new StreamSealedError(stream);
      const plan = decide(stored.layout);
      if (plan === null) return stored.layout;
      const planned = encodeLayout(withPlan(stored.layout, plan));
      if (!(await this.swap(stream, stored.raw, planned))) continue;
      // The revisioned client sets its mark, then reads the layout; we record the plan, then read the
      // mark: whichever comes second sees the other, so the two never both go ahead.
      if ((await this.segments.getAttribute(meta, META.revisioned)) !== null) {
        await this.swap(stream, planned, stored.raw);
        throw new StreamNotScalableError(stream);
      }
      await this.carryOut(stream, { layout: withPlan(stored.layout, plan), raw: planned });
      return this.current(stream);
    }
  }

  /** Replaces the auto-scaling policy (null: off). */
  async setPolicy(stream: string, policy: AutoScalePolicy | null): Promise<StreamLayout> {
    for (;;) {
      const stored = await this.read(stream);
      const layout = { ...stored.layout, policy };
      if (await this.swap(stream, stored.raw, encodeLayout(layout))) return layout;
    }
  }

  /**
   * Drops sealed segments from the layout (then from the store): they were read to the end. Resolves
   * with the numbers deleted, those an earlier call left in `retiring` included.
   */
  async retire(stream: string, pick: (layout: StreamLayout) => number[]): Promise<number[]> {
    for (;;) {
      const stored = await this.read(stream);
      if (stored.layout.pending !== null) {
        await this.carryOut(stream, stored);
        continue;
      }
      const left = stored.layout.retiring ?? [];
      const numbers = pick(stored.layout);
      if (numbers.length === 0 && left.length === 0) return [];
      // Out of the layout first: a reader never looks for a segment the layout still lists and the
      // store no longer has. Named in `retiring` until deleted, so a crash before the deletes leaves
      // them to the next call instead of in the store for good.
      const retiring = [...new Set([...left, ...numbers])].sort((a, b) => a - b);
      const marked = { ...withoutSegments(stored.layout, numbers), retiring };
      const markedRaw = encodeLayout(marked);
      if (!(await this.swap(stream, stored.raw, markedRaw))) continue;
      await Promise.all(retiring.map((number) => deleteIfPresent(this.segments, segmentNameOf(stream, number))));
      // Lost to another change: `retiring` stays, and the next call deletes (again, harmlessly) and clears it.
      await this.swap(stream, markedRaw, encodeLayout({ ...marked, retiring: [] }));
      return retiring;
    }
  }

  /** Creates the plan's successors, seals its predecessors and commits its epoch; each step may run twice. */
  private async carryOut(stream: string, stored: StoredLayout): Promise<void> {
    const plan = stored.layout.pending!;
    await Promise.all(plan.created.map((segment) => this.segments.createSegment(segmentNameOf(stream, segment.number))));
    await Promise.all(plan.sealed.map((number) => this.segments.sealSegment(segmentNameOf(stream, number))));
    await this.swap(stream, stored.raw, encodeLayout(commitPlan(stored.layout)));
  }

  private async swap(stream: string, expected: Buffer | null, value: Buffer | null): Promise<boolean> {
    const { success, current } = await this.segments.updateAttribute(metadataSegmentOf(stream), META.layout, expected, value);
    // A retry after a lost reply finds our own value in place: that is our success.
    return success || (value === null ? current === null : Buffer.isBuffer(current) && current.equals(value));
  }
}

/** Deletes the segment; one already gone is fine (a retry, or retention got there first). */
export async function deleteIfPresent(segments: SegmentOperations, segment: string): Promise<void> {
  try {
    await segments.deleteSegment(segment);
  } catch (error) {
    if (!(error instanceof NoSuchSegmentError)) throw error;
  }
}
