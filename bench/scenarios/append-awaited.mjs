// append-awaited: one durable 100-byte write at a time, each awaited: events/s with p50/p99 µs.
// Beside it the disk's floor (dsync-floor: an O_DSYNC pwrite into a file sized ahead, in process);
// the goal is about the distance to that floor. dsync-append-floor makes the write into a file that
// grows with it (what the floor measured before session 9, and what Redis's AOF pays). node-dsync-rpc makes the same write behind a plain Node TCP server: the
// part of the distance any Node client and server pay. Sluice, the floor and redis-always are measured in turns (measureInTurns),
// so the disk's swings hit them alike; nats runs after them.
import { measureInTurns, sluiceSide } from '../lib/awaited.mjs';
import { AWAITED_WRITE_GOAL, DSYNC_APPEND_FLOOR, DSYNC_FLOOR, NODE_DSYNC_RPC, openDsyncAppendFloor, openDsyncFloor, openNodeDsyncRpc } from '../lib/limits.mjs';
import { runSystems, withFloorDistance } from '../lib/rows.mjs';
import { natsAppendAwaited, openRedisAwaited } from '../peers/workloads.mjs';
import { openSluiceAwaited } from '../lib/sluice-workloads.mjs';

const UNIT = 'events/s';

/** The Sluice side, alone or measured in turns with another tree's (bench/compare.mjs). */
export const { sluiceSession, runSluice } = sluiceSide((ctx) => openSluiceAwaited(ctx), {});

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'append-awaited',
  description: 'one durable 100-byte write at a time, awaited: events/s with p50/p99 latency; dsync-floor: an O_DSYNC write into a file sized ahead; dsync-append-floor: into a growing file; node-dsync-rpc: that write behind a plain Node TCP server; measured in turns with them',
  reference: 'redis-always',
  goal: [AWAITED_WRITE_GOAL],
  async run(ctx) {
    const inTurns = [
      { system: 'sluice', open: () => openSluiceAwaited(ctx) },
      { system: DSYNC_FLOOR, open: () => openDsyncFloor(ctx) },
      { system: DSYNC_APPEND_FLOOR, open: () => openDsyncAppendFloor(ctx) },
      { system: NODE_DSYNC_RPC, open: () => openNodeDsyncRpc(ctx) },
      { system: 'redis-always', open: () => openRedisAwaited(ctx) },
    ];
    const rows = await runSystems(ctx, [
      { system: 'sluice, dsync-floor, dsync-append-floor, node-dsync-rpc, redis-always', unit: UNIT, measure: (p) => measureInTurns(ctx, p, inTurns) },
      { system: 'nats', unit: UNIT, measure: (p) => natsAppendAwaited(ctx, p) },
    ]);
    return withFloorDistance(rows, DSYNC_FLOOR, ['sluice', NODE_DSYNC_RPC, 'redis-always']);
  },
};
