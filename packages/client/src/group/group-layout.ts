import { segmentNameOf } from '@sluice/protocol';
import { activeSegments, segmentRecord, successorsOf, type StreamLayout } from '../stream/stream-layout.js';
import { segmentIndexOf } from './group-state.js';

/** Where a new group's segments start, and what each must wait for. */
export interface GroupStart {
  offsets: Map<string, number>;
  predecessors: Map<string, string[]>;
}

/**
 * From the head: every segment of the layout from offset 0, each waiting for its predecessors (those
 * deleted by retention are absent, and count as finished). From the tail: only the active segments,
 * at their current lengths, waiting for nothing.
 */
export function groupStart(stream: string, layout: StreamLayout, from: 'head' | 'tail', lengths: ReadonlyMap<string, number>): GroupStart {
  const records = from === 'head' ? layout.segments : activeSegments(layout);
  const offsets = new Map<string, number>();
  const predecessors = new Map<string, string[]>();
  for (const record of records) {
    const name = segmentNameOf(stream, record.number);
    offsets.set(name, from === 'head' ? 0 : (lengths.get(name) ?? 0));
    if (from === 'head' && record.predecessors.length > 0) predecessors.set(name, record.predecessors.map((number) => segmentNameOf(stream, number)));
  }
  return { offsets, predecessors };
}

/** The successors of finished segments, each with all its predecessors (for GroupState's finish). */
export function successorsAfter(stream: string, layout: StreamLayout, finished: Iterable<string>): Map<string, string[]> {
  const successors = new Map<string, string[]>();
  for (const name of finished) {
    for (const successor of successorsOf(layout, segmentIndexOf(name))) {
      successors.set(segmentNameOf(stream, successor.number), successor.predecessors.map((number) => segmentNameOf(stream, number)));
    }
  }
  return successors;
}

/** The layout does not say yet what follows one of these sealed segments (a scale may be half done). */
export function lacksSuccessorRecord(layout: StreamLayout, finished: Iterable<string>): boolean {
  return [...finished].some((name) => segmentRecord(layout, segmentIndexOf(name))?.sealedEpoch === null);
}
