import { InvalidOptionError } from '../errors.js';

/**
 * Where a reader stands in a stream: for each segment (by index), the offset of the next event to
 * deliver. Plain JSON: store `JSON.stringify(event.position)` with what the event produced, and pass
 * `JSON.parse(saved)` as `from` to resume right after that event.
 */
export interface ReaderPosition {
  stream: string;
  offsets: number[];
}

/** Checks a position given as `from` (its shape now; its segment count once the stream is known). */
export function checkPosition(value: unknown, stream: string, segmentCount?: number): ReaderPosition {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('from', "must be 'head', 'tail' or a position saved from a reader event");
  }
  const { stream: positionStream, offsets } = value as Partial<ReaderPosition>;
  if (positionStream !== stream) {
    throw new InvalidOptionError('from', `the position belongs to stream ${String(positionStream)}, not ${stream}`);
  }
  if (!Array.isArray(offsets) || !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0)) {
    throw new InvalidOptionError('from', 'position.offsets must be an array of non-negative integer offsets');
  }
  if (segmentCount !== undefined && offsets.length !== segmentCount) {
    throw new InvalidOptionError('from', `the position has ${offsets.length} offsets but ${stream} has ${segmentCount} segments`);
  }
  return { stream, offsets: [...offsets] };
}
