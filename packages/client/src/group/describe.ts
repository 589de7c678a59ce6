import type { ClientContext } from '../client-context.js';
import { InvalidOptionError, NoSuchReaderGroupError, NoSuchSegmentError, NoSuchStreamError } from '../errors.js';
import { RevisionedClient } from '../revisioned/revisioned-client.js';
import { checkGroupName, groupStateStream } from './group-options.js';
import { segmentIndexOf, segmentsOf, unassignedSegments } from './group-state.js';
import { GroupSynchronizer } from './group-synchronizer.js';

export interface ReaderGroupDescription {
  stream: string;
  group: string;
  /** Where the group started. */
  from: 'head' | 'tail';
  /** Each live reader's segments. */
  readers: Record<string, string[]>;
  /** Readable segments no reader holds right now (handed back, or their reader was evicted). */
  unassigned: string[];
  /** Segments read to their end that successors still wait for. */
  finished: string[];
  /** Per segment: the committed position (offset of the first event not yet processed). */
  positions: Record<string, number>;
  /** Per segment: bytes between the committed position and the segment's end. */
  lag: Record<string, { bytes: number }>;
}

export async function describeReaderGroup(context: ClientContext, stream: string, group: string): Promise<ReaderGroupDescription> {
  if (typeof stream !== 'string') throw new InvalidOptionError('stream', 'must be a stream name, e.g. shop/orders');
  await context.streams.segmentCount(stream);
  checkGroupName(stream, group);
  const stateStream = groupStateStream(stream, group);
  const revisioned = new RevisionedClient(context, stateStream);
  try {
    const state = await new GroupSynchronizer(context, revisioned, context.logger).refresh().catch((error: unknown) => {
      // No state stream, or one its first reader is still creating: no group yet.
      if (error instanceof NoSuchStreamError || error instanceof NoSuchSegmentError) return null;
      throw error;
    });
    if (state === null) throw new NoSuchReaderGroupError(stream, group);
    const names = Object.keys(state.segments).sort(bySegmentIndex);
    // A finished segment has no lag (and retention may have deleted it).
    const lengths = await Promise.all(
      names.map(async (name) => (state.segments[name]!.finished ? state.segments[name]!.offset : (await context.segments.getSegmentInfo(name)).length)),
    );
    const readers: Record<string, string[]> = {};
    for (const readerId of Object.keys(state.readers).sort()) readers[readerId] = segmentsOf(state, readerId).sort(bySegmentIndex);
    const positions: Record<string, number> = {};
    const lag: Record<string, { bytes: number }> = {};
    names.forEach((name, index) => {
      const { offset } = state.segments[name]!;
      positions[name] = offset;
      lag[name] = { bytes: Math.max(0, lengths[index]! - offset) };
    });
    return {
      stream,
      group,
      from: state.from,
      readers,
      unassigned: unassignedSegments(state).sort(bySegmentIndex),
      finished: names.filter((name) => state.segments[name]!.finished),
      positions,
      lag,
    };
  } finally {
    revisioned.close();
  }
}

function bySegmentIndex(a: string, b: string): number {
  return segmentIndexOf(a) - segmentIndexOf(b) || a.localeCompare(b);
}
