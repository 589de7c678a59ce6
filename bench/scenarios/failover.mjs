// failover: kill -9 of a container's primary on a replicated cluster (3 nodes, RF 3, etcd, lease
// TTL 2 s) under an awaited writer; the time until the first append acknowledged after the kill.
import { atMost, runSystems } from '../lib/rows.mjs';
import { sluiceFailover } from '../lib/sluice-workloads.mjs';

const LEASE_TTL_MS = 2_000;

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'failover',
  description:
    'kill -9 of the primary of a written segment on 3 coordinated nodes (RF 3, --lease-ttl 2s): ms from the kill to the first append acknowledged after it (one sample)',
  goal: [{ system: 'sluice', text: `≤ lease TTL + 2 s (${LEASE_TTL_MS + 2_000} ms)`, check: atMost(LEASE_TTL_MS + 2_000) }],
  async run(ctx) {
    return runSystems(ctx, [{ system: 'sluice', unit: 'ms', better: 'lower', measure: (p) => sluiceFailover(ctx, p) }]);
  },
};
