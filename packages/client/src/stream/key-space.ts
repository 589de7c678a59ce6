import { hashString } from '@sluice/protocol';

/**
 * The key space is [0, 1). A routing key's point is its 32-bit hash laid out so that the first
 * `initialSegments` equal ranges hold exactly the keys that `hash mod initialSegments` sent to each
 * segment before streams could scale: point = (hash mod N + (hash div N) / ceil(2^32 / N)) / N. A
 * stream created before scaling existed therefore routes every key as it always did, and once scaled
 * its ranges split and merge that same space. The fraction is exact in a double (N ≤ 4096, so
 * numerator and divisor stay far below 2^53) and always below the next range's bound.
 */
export function keyPoint(routingKey: string, initialSegments: number): number {
  const hash = hashString(routingKey);
  const rest = Math.floor(hash / initialSegments);
  const slots = Math.ceil(2 ** 32 / initialSegments);
  return (hash % initialSegments + rest / slots) / initialSegments;
}

/** The bounds of range `index` of `count` equal ranges; the last one ends at exactly 1. */
export function equalRange(index: number, count: number): { low: number; high: number } {
  return { low: index / count, high: index + 1 === count ? 1 : (index + 1) / count };
}
