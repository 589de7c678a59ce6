/**
 * How big the next append block's buffer is. A block is allocated before we know how many events
 * will join it, so its capacity follows the load: a block that filled up doubles the next one (load is
 * rising), a block sent early by the linger or an idle pipeline sizes the next one at twice what it
 * held. Idle writers thus keep small blocks, busy ones reach maxBlockBytes within a few blocks.
 */
export const MIN_BLOCK_CAPACITY = 4 * 1024;

export type SealReason = 'full' | 'sent-early';

export function nextBlockCapacity(current: number, reason: SealReason, usedBytes: number, maxBlockBytes: number): number {
  const wanted = reason === 'full' ? current * 2 : roundUpToPowerOfTwo(usedBytes * 2);
  return Math.min(maxBlockBytes, Math.max(MIN_BLOCK_CAPACITY, wanted));
}

/** Capacity for a block that must at least hold an event of framedBytes. */
export function capacityFor(framedBytes: number, preferred: number): number {
  return Math.max(framedBytes, preferred);
}

function roundUpToPowerOfTwo(value: number): number {
  return value <= 1 ? 1 : 2 ** Math.ceil(Math.log2(value));
}
