// append-sporadic: one durable 100-byte write every 10 ms, each awaited (an application writing one
// event per request): p50 µs, p99 beside it. Between writes every process goes idle, so the latency
// includes waking up: threads, event loops and caches that went cold. Beside it the disk's floor
// at the same pace (dsync-floor), that write behind a plain Node TCP server (node-dsync-rpc: what
// two waking Node processes cost with no Sluice code) and Redis with appendfsync always, all
// measured in turns.
import { measureInTurns, sluiceSide } from '../lib/awaited.mjs';
import { AWAITED_WRITE_GOAL, DSYNC_FLOOR, NODE_DSYNC_RPC, openDsyncFloor, openNodeDsyncRpc } from '../lib/limits.mjs';
import { withFloorDistance } from '../lib/rows.mjs';
import { openRedisAwaited } from '../peers/workloads.mjs';
import { openSluiceAwaited } from '../lib/sluice-workloads.mjs';

const PACE = 'sporadic';

/** The Sluice side, alone or measured in turns with another tree's (bench/compare.mjs). */
export const { sluiceSession, runSluice } = sluiceSide((ctx) => openSluiceAwaited(ctx), { pace: PACE });

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-sporadic',
  description: 'one durable 100-byte write every 10 ms, awaited: p50 (and p99) µs; dsync-floor: an O_DSYNC write at the same pace; node-dsync-rpc: that write behind a plain Node TCP server; in turns with them',
  reference: 'redis-always',
  goal: [AWAITED_WRITE_GOAL],
  async run(ctx) {
    const rows = await measureInTurns(
      ctx,
      ctx.part(0, 1, 'sluice, dsync-floor, node-dsync-rpc, redis-always'),
      [
        { system: 'sluice', open: () => openSluiceAwaited(ctx) },
        { system: DSYNC_FLOOR, open: () => openDsyncFloor(ctx) },
        { system: NODE_DSYNC_RPC, open: () => openNodeDsyncRpc(ctx) },
        { system: 'redis-always', open: () => openRedisAwaited(ctx) },
      ],
      { pace: PACE },
    );
    return withFloorDistance(rows, DSYNC_FLOOR, ['sluice', NODE_DSYNC_RPC, 'redis-always']);
  },
};
