import { InvalidOptionError } from '../errors.js';
import { integerIn, refuseUnknownOptions, shownValue } from '../option-checks.js';
import { checkPosition, type ReaderPosition } from './reader-position.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** What a reader skipped because the segment was truncated past it. */
export interface Truncation {
  segment: string;
  /** The offset the reader was at. */
  from: number;
  /** The first readable offset, where it continues. */
  to: number;
}

export interface ReaderOptions {
  /** Where to start: 'head' (default; the oldest readable event), 'tail' (only new events) or a saved position. */
  from?: 'head' | 'tail' | ReaderPosition;
  /** Read-ahead bound for the whole reader, shared by its segments (each gets at least 64 KiB). Default 16 MiB. */
  maxBufferedBytes?: number;
  /** How long one read waits at the tail of a segment for new events before asking again. Default 30 000. */
  tailWaitMs?: number;
  /** Called when truncation skipped events; the reader also emits 'truncated' with the same object. */
  onTruncated?: (truncation: Truncation) => void;
  /**
   * Give each event bytes of its own (one copy per event) instead of a view into the read reply it
   * came in (up to 1 MiB): for consumers that keep events after the loop moves on. Default false.
   */
  copyEventData?: boolean;
}

export interface ReaderSettings {
  from: 'head' | 'tail' | ReaderPosition;
  maxBufferedBytes: number;
  tailWaitMs: number;
  onTruncated: ((truncation: Truncation) => void) | null;
  copyEventData: boolean;
}

export const READER_DEFAULTS = { maxBufferedBytes: 16 * MiB, tailWaitMs: 30_000 } as const;
export const MIN_SEGMENT_BUFFER = 64 * KiB;
/** Largest single read: big enough to amortise a round trip, small enough to keep memory even. */
export const MAX_READ_BYTES = 1 * MiB;

/** Every option name (a Record, so adding an option to ReaderOptions without listing it fails to compile). */
const READER_OPTIONS = Object.keys({ from: true, maxBufferedBytes: true, tailWaitMs: true, onTruncated: true, copyEventData: true } satisfies Record<keyof ReaderOptions, true>);

export function resolveReaderSettings(options: ReaderOptions | undefined, stream: string): ReaderSettings {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionError('options', "reader options must be an object, e.g. { from: 'head' }");
  }
  const given = options ?? {};
  refuseUnknownOptions(given, READER_OPTIONS, 'reader');
  const from = given.from ?? 'head';
  const checkedFrom = from === 'head' || from === 'tail' ? from : checkPosition(from, stream);
  const onTruncated = given.onTruncated ?? null;
  if (onTruncated !== null && typeof onTruncated !== 'function') {
    throw new InvalidOptionError('onTruncated', 'must be a function');
  }
  const copyEventData = given.copyEventData ?? false;
  if (typeof copyEventData !== 'boolean') throw new InvalidOptionError('copyEventData', `must be true or false, got ${shownValue(copyEventData)}`);
  return {
    from: checkedFrom,
    maxBufferedBytes: integerIn('maxBufferedBytes', given.maxBufferedBytes ?? READER_DEFAULTS.maxBufferedBytes, MIN_SEGMENT_BUFFER, 2 ** 40),
    tailWaitMs: integerIn('tailWaitMs', given.tailWaitMs ?? READER_DEFAULTS.tailWaitMs, 1, 600_000),
    onTruncated,
    copyEventData,
  };
}
