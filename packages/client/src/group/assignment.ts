import { isAssignable, segmentsOf, unassignedSegments, type GroupState } from './group-state.js';

export interface AssignmentPlan {
  /** How many of its segments the reader should hand back (at its processed positions). */
  release: number;
  /** Unassigned segments the reader should take, in order of preference. */
  acquire: string[];
}

/**
 * What one reader should do so that the group converges on an even spread (every reader holds
 * floor(S/R) or ceil(S/R) of the S readable segments) while moving as few segments as possible. Each
 * reader decides only about its own segments, from the same state, so no reader is stopped for
 * another's move, and every reader computes the same answer for "who gives": readers above the ceiling
 * give their surplus; when readers below the floor still miss segments, the readers at the ceiling
 * give one each, in readerId order, only as many as are missing.
 */
export function planAssignment(state: GroupState, readerId: string): AssignmentPlan {
  const readers = Object.keys(state.readers).sort();
  if (!readers.includes(readerId)) return { release: 0, acquire: [] };
  const readable = Object.keys(state.segments).filter((segment) => state.segments[segment]!.owner !== null || isAssignable(state, segment));
  const floor = Math.floor(readable.length / readers.length);
  const ceil = Math.ceil(readable.length / readers.length);
  const counts = new Map(readers.map((reader) => [reader, segmentsOf(state, reader).length]));
  const mine = counts.get(readerId)!;
  const unassigned = unassignedSegments(state);

  if (mine > ceil) return { release: mine - ceil, acquire: [] };
  const missing = sum(readers.map((reader) => Math.max(0, floor - counts.get(reader)!)));
  const surplus = sum(readers.map((reader) => Math.max(0, counts.get(reader)! - ceil)));
  const stillMissing = missing - unassigned.length - surplus;
  if (stillMissing > 0 && mine === ceil && ceil > floor) {
    const givers = readers.filter((reader) => counts.get(reader) === ceil);
    return { release: givers.indexOf(readerId) < stillMissing ? 1 : 0, acquire: [] };
  }
  let wanted = 0;
  if (mine < floor) wanted = floor - mine;
  else if (mine < ceil && missing === 0) wanted = 1;
  return { release: 0, acquire: spread(unassigned, readerId).slice(0, wanted) };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Readers starting at different places in the unassigned list collide less on the same segment. */
function spread(segments: string[], readerId: string): string[] {
  if (segments.length === 0) return segments;
  let hash = 0;
  for (let index = 0; index < readerId.length; index++) hash = (hash * 31 + readerId.charCodeAt(index)) >>> 0;
  const start = hash % segments.length;
  return [...segments.slice(start), ...segments.slice(0, start)];
}
