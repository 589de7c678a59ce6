import { hashString } from './cluster-map.js';

/**
 * Stream `scope/name` owns segments `scope/name/0` … `scope/name/N-1` and one metadata segment
 * `scope/name/#meta`; `#` cannot appear in a user's name, so the two never collide.
 */
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function streamNameProblem(stream: string): string | null {
  const parts = stream.split('/');
  if (parts.length !== 2 || !parts.every((part) => NAME_PART.test(part))) {
    return `stream name "${stream}" must be "scope/name", each part 1-128 of [A-Za-z0-9_.-] starting with a letter or digit`;
  }
  return null;
}

export function segmentNameOf(stream: string, index: number): string {
  return `${stream}/${index}`;
}

/**
 * A read-only attribute every segment answers: the events appended to it with a writer id since the
 * node opened it (a count, for rates; it is not kept across restarts of the owning node).
 */
export const EVENT_COUNT_ATTRIBUTE = '$events';

const METADATA_SUFFIX = '/#meta';

export function metadataSegmentOf(stream: string): string {
  return `${stream}${METADATA_SUFFIX}`;
}

/** The stream a metadata segment defines, or null for any other segment. */
export function streamOfMetadataSegment(segment: string): string | null {
  return segment.endsWith(METADATA_SUFFIX) ? segment.slice(0, -METADATA_SUFFIX.length) : null;
}

/** Events with one routing key always land in one segment, which keeps their order. */
export function segmentIndexForKey(routingKey: string, segmentCount: number): number {
  return hashString(routingKey) % segmentCount;
}
