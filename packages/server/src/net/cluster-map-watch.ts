import type { Command, CommandOf } from '@sluice/protocol';

import type { ContainerRoles } from '../cluster/container-roles.js';

/**
 * Answers WatchClusterMap: with the cluster map as soon as its epoch is above the one the client
 * knows (a primary changed: the controller wrote a failover's assignment), or as it is after the
 * wait (at most maxWaitMs). A client following a failover learns the new primary when it is chosen
 * instead of at its next backoff step.
 */
export function watchClusterMap(
  request: CommandOf<'WatchClusterMap'>,
  cluster: ContainerRoles,
  maxWaitMs: number,
  respond: (reply: Command) => void,
): void {
  const answer = (): void => respond({ type: 'ClusterMap', ...cluster.clusterMap() });
  const waitMs = Math.min(request.waitMs, maxWaitMs);
  if (waitMs === 0 || cluster.clusterMap().epoch > request.afterEpoch) {
    answer();
    return;
  }
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    stopListening();
    answer();
  };
  const timer = setTimeout(finish, waitMs);
  const stopListening = cluster.onChange(() => {
    if (cluster.clusterMap().epoch > request.afterEpoch) finish();
  });
}
