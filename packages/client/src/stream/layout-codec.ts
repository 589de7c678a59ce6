import { StreamLayoutCorruptError } from '../errors.js';
import type { StreamLayout } from './stream-layout.js';

/**
 * The layout travels as UTF-8 JSON in the `layout` attribute of the stream's metadata segment. JSON
 * keeps range bounds exact (a double prints and parses to itself) and lets an operator read it with
 * any tool; the attribute is compare-and-set as a whole, so an epoch change is one atomic write.
 */
export function encodeLayout(layout: StreamLayout): Buffer {
  return Buffer.from(JSON.stringify(layout), 'utf8');
}

export function decodeLayout(stream: string, bytes: Buffer): StreamLayout {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw corrupt(stream, 'it is not JSON', error);
  }
  if (!isLayout(value)) throw corrupt(stream, 'it is not a version 1 layout');
  return value;
}

function isLayout(value: unknown): value is StreamLayout {
  if (typeof value !== 'object' || value === null) return false;
  const layout = value as Partial<StreamLayout>;
  return (
    layout.version === 1 &&
    Number.isSafeInteger(layout.initialSegments) &&
    Number.isSafeInteger(layout.epoch) &&
    Number.isSafeInteger(layout.nextSegment) &&
    Array.isArray(layout.segments) &&
    layout.segments.every((segment) => Number.isSafeInteger(segment?.number) && Array.isArray(segment.predecessors)) &&
    Array.isArray(layout.history) &&
    layout.pending !== undefined &&
    layout.policy !== undefined &&
    (layout.retiring === undefined || (Array.isArray(layout.retiring) && layout.retiring.every((number) => Number.isSafeInteger(number))))
  );
}

function corrupt(stream: string, why: string, cause?: unknown): StreamLayoutCorruptError {
  return new StreamLayoutCorruptError(stream, why, { cause });
}
