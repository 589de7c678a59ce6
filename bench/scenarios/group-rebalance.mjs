// group-rebalance: reader groups. (1) Take-over: time from kill -9 of one of three reader processes
// to a survivor reading its segments again (ms, lower is better; sessionTimeoutMs 2 s). (2) Catch-up
// read of stored 100-byte events over 12 segments by a 3-reader group vs one reader, events/s.
import { join } from 'node:path';
import { now, payloads, sig3 } from '../lib/measure.mjs';
import { REPO_ROOT } from '../lib/paths.mjs';
import { spawnTracked, stopProcess } from '../lib/processes.mjs';
import { atMost, lowerRow, row, runSystems, skippedRow } from '../lib/rows.mjs';
import { CLIENT_NOT_BUILT, loadClient } from '../lib/sluice-packages.mjs';
import { withSluiceServer } from '../lib/sluice-server.mjs';

const READER_CHILD = join(REPO_ROOT, 'test/helpers/group-reader-child.mjs');
const SEGMENTS = 12;
const SESSION_TIMEOUT_MS = 2_000;
const KEYS = Array.from({ length: 96 }, (_, index) => `key-${index}`);

/** A group member in its own process; `seen` gets its events (or counts, with counts: true). */
function startReader(ctx, endpoint, stream, group, readerId, { counts = false, onEvent = () => {} } = {}) {
  const member = { delivered: 0, exited: null };
  const child = spawnTracked(process.execPath, [READER_CHILD, JSON.stringify({ endpoints: [endpoint], stream, group, readerId, sessionTimeoutMs: SESSION_TIMEOUT_MS, commitIntervalMs: 200, counts })], {
    name: `group-reader ${readerId}`,
    onLine: (line, from) => {
      if (from !== 'stdout' || !line.startsWith('{')) return;
      const message = JSON.parse(line);
      if (message.type === 'count') member.delivered = message.n;
      else if (message.type === 'event') {
        member.delivered += 1;
        onEvent(message);
      }
    },
  });
  member.child = child;
  member.kill = async () => {
    child.kill('SIGKILL');
    await child.exited;
  };
  ctx.defer(() => stopProcess(child, { graceMs: 1000 }));
  return member;
}

async function until(what, check, timeoutMs, signal) {
  const deadline = now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (signal.aborted) throw new Error('aborted');
    if (now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function withStream(ctx, system, unit, better, fn) {
  const sdk = await loadClient();
  if (!sdk) return skippedRow(system, CLIENT_NOT_BUILT, unit, better);
  return withSluiceServer(ctx, async (server) => {
    const client = new sdk.SluiceClient({ endpoints: [server.endpoint] });
    try {
      await client.createStream('bench/group', { segments: SEGMENTS });
      return await fn(client, server.endpoint);
    } finally {
      await client.close();
    }
  });
}

/** Three members under a trickle of writes; kill one; time until a survivor reads one of its segments. */
function takeover(ctx, onProgress) {
  return withStream(ctx, 'sluice-takeover', 'ms', 'lower', async (client, endpoint) => {
    const writer = client.createWriter('bench/group');
    let writing = true;
    const trickle = (async () => {
      for (let round = 0; writing && round < 100_000; round++) {
        await Promise.all(KEYS.map((key) => writer.write(key, Buffer.from(`${round}`))));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    let taken = null;
    let victimSegments = new Set();
    let killedAt = Infinity;
    const survivorEvent = (event) => {
      if (taken === null && now() > killedAt && victimSegments.has(event.segment)) taken = now();
    };
    const members = ['t1', 't2', 't3'].map((id, index) => startReader(ctx, endpoint, 'bench/group', 'takeover', id, { onEvent: index === 0 ? undefined : survivorEvent }));
    await until(
      'balanced group',
      async () => {
        const group = await client.describeReaderGroup('bench/group', 'takeover').catch(() => null);
        return group !== null && Object.values(group.readers).every((segments) => segments.length === 4) && Object.keys(group.readers).length === 3;
      },
      60_000,
      ctx.signal,
    );
    onProgress(0.3);
    await until('events at every member', () => members.every((member) => member.delivered > 0), 30_000, ctx.signal);
    victimSegments = new Set((await client.describeReaderGroup('bench/group', 'takeover')).readers.t1);
    await members[0].kill();
    killedAt = now();
    await until('take-over', () => taken !== null, 60_000, ctx.signal);
    onProgress(0.9);
    writing = false;
    await trickle;
    return lowerRow('sluice-takeover', sig3(taken - killedAt), 'ms', { sessionTimeoutMs: SESSION_TIMEOUT_MS });
  });
}

/** Stores `events` events (not timed), then times `readers` members from their first event to the last. */
function catchUp(ctx, onProgress, { readers, events }) {
  const system = readers === 1 ? 'sluice-1-reader' : `sluice-${readers}-readers`;
  return withStream(ctx, system, 'events/s', 'higher', async (client, endpoint) => {
    const writer = client.createWriter('bench/group');
    const pool = payloads(100);
    for (let written = 0; written < events && !ctx.signal.aborted; written += 4096) {
      await Promise.all(Array.from({ length: 4096 }, (_, index) => writer.write(KEYS[(written + index) % KEYS.length], pool[index & 1023])));
    }
    await writer.close();
    onProgress(0.4);
    const members = Array.from({ length: readers }, (_, index) => startReader(ctx, endpoint, 'bench/group', 'catch-up', `c${index}`, { counts: true }));
    const total = () => members.reduce((sum, member) => sum + member.delivered, 0);
    await until('first event', () => total() > 0, 60_000, ctx.signal);
    const started = now();
    await until('every event', () => total() >= events, Math.max(60_000, ctx.durationMs * 6), ctx.signal);
    const seconds = (now() - started) / 1000;
    return row(system, sig3(events / seconds), 'events/s', { events, readers });
  });
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'group-rebalance',
  description: 'reader groups: kill -9 of a member to its segments read again (ms, sessionTimeoutMs 2 s); catch-up of 12 segments by 3 members vs 1, events/s',
  reference: 'sluice-1-reader',
  goal: [{ system: 'sluice-takeover', text: '≤ sessionTimeoutMs + 2 s', check: atMost(SESSION_TIMEOUT_MS + 2_000) }],
  timeoutMs: 300_000,
  async run(ctx) {
    const events = ctx.quick ? 100_000 : 500_000;
    return runSystems(ctx, [
      { system: 'sluice-takeover', unit: 'ms', better: 'lower', measure: (p) => takeover(ctx, p) },
      { system: 'sluice-1-reader', unit: 'events/s', measure: (p) => catchUp(ctx, p, { readers: 1, events }) },
      { system: 'sluice-3-readers', unit: 'events/s', measure: (p) => catchUp(ctx, p, { readers: 3, events }) },
    ]);
  },
};
