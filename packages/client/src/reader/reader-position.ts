import { InvalidOptionError } from '../errors.js';
import { ancestorsOf, type StreamLayout } from '../stream/stream-layout.js';

/**
 * Where a reader stands in a stream: per segment number, the offset of the next event to deliver, or
 * -1 once the segment was read to the end. A segment that a listed one continues (its ancestor) was
 * read to the end too; any other segment was not started. Plain JSON: store
 * `JSON.stringify(event.position)` with what the event produced, and pass `JSON.parse(saved)` as
 * `from` to resume right after that event, across scalings. A position saved before streams could
 * scale (`offsets` as an array, index = segment number) means the same and is still accepted.
 */
export interface ReaderPosition {
  stream: string;
  offsets: Record<string, number>;
}

/** What a position says: the segments read to the end, and where to go on in the others. */
export interface PositionState {
  finished: Set<number>;
  reading: Map<number, number>;
}

/** Checks a position given as `from` (its shape; what it means once the layout is known). */
export function checkPosition(value: unknown, stream: string, option = 'from'): ReaderPosition {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(option, "must be 'head', 'tail' or a position saved from a reader event");
  }
  const { stream: positionStream, offsets } = value as Partial<ReaderPosition>;
  if (positionStream !== stream) {
    throw new InvalidOptionError(option, `the position belongs to stream ${String(positionStream)}, not ${stream}`);
  }
  const entries = typeof offsets === 'object' && offsets !== null ? Object.entries(offsets) : null;
  if (
    entries === null ||
    !entries.every(([segment, offset]) => /^(0|[1-9]\d*)$/.test(segment) && Number.isSafeInteger(offset) && offset >= -1)
  ) {
    throw new InvalidOptionError(option, 'position.offsets must map segment numbers to offsets (integers, -1 for read to the end)');
  }
  return { stream, offsets: Object.fromEntries(entries) };
}

export function positionState(layout: StreamLayout, position: ReaderPosition): PositionState {
  const listed = Object.entries(position.offsets).map(([segment, offset]) => [Number(segment), offset] as const);
  const finished = ancestorsOf(layout, listed.map(([segment]) => segment));
  for (const [segment, offset] of listed) if (offset === -1) finished.add(segment);
  const reading = new Map(listed.filter(([segment, offset]) => offset >= 0 && !finished.has(segment)));
  return { finished, reading };
}

/**
 * The finished segments a position must list (-1): those no listed segment continues. With the
 * reading offsets added, that is the whole position.
 */
export function finishedEntries(layout: StreamLayout, finished: ReadonlySet<number>, reading: Iterable<number>): Record<string, number> {
  const implied = ancestorsOf(layout, [...reading, ...finished]);
  const present = new Set(layout.segments.map((segment) => segment.number));
  const entries: Record<string, number> = {};
  // A segment retention deleted needs no entry: missing from the layout, it counts as read.
  for (const segment of finished) if (!implied.has(segment) && present.has(segment)) entries[segment] = -1;
  return entries;
}
