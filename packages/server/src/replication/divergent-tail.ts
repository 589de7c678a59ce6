import { EpochHistory } from '../store/epoch-history.js';
import type { LogPosition } from '../store/log-files.js';
import { truncateLog } from '../store/log-truncation.js';

/**
 * Cuts a closed container's log and epoch history at `end`: the tail past it was written under an
 * epoch the cluster moved on from and never acknowledged. The container is opened again afterwards
 * (recovery rebuilds its state from what is left).
 */
export async function cutDivergentTail(directory: string, end: LogPosition, sync: boolean): Promise<void> {
  await truncateLog(directory, end, sync);
  const history = await EpochHistory.load(directory, sync);
  await history.truncateTo(end);
}
