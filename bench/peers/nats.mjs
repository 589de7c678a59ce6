// A throwaway nats-server with JetStream file storage for the bench: loopback only, a free port,
// its own store dir. Stopped when the scenario ends.
import { connect, StorageType } from 'nats';
import { findBinary, freePort, spawnWithLines, stopProcess, waitForLine } from '../lib/processes.mjs';

export const NATS_BINARY = 'nats-server';

/** Path of nats-server, or null when it is not installed (its rows are then skipped). */
export const natsBinary = () => findBinary(NATS_BINARY);

/**
 * Starts nats-server -js and creates one file-backed stream `BENCH` on subjects `bench.>`.
 * @param {import('../lib/types.js').ScenarioContext} ctx
 */
export async function startNats(ctx) {
  const binary = natsBinary();
  if (!binary) throw new Error('nats-server is not installed');
  const dir = await ctx.tmpDir('nats-');
  const port = await freePort();
  const child = spawnWithLines(binary, ['-a', '127.0.0.1', '-p', String(port), '-n', 'sluice-bench', '-js', '-sd', dir]);
  const connections = new Set();
  const stop = async () => {
    for (const nc of connections) await nc.close().catch(() => {});
    connections.clear();
    return stopProcess(child, { graceMs: 5000 });
  };
  ctx.defer(stop);
  await waitForLine(child, (line) => (line.includes('Server is ready') ? true : undefined), {
    what: 'nats-server "Server is ready"',
  });
  ctx.log.debug(`nats-server on 127.0.0.1:${port}, store ${dir}`);

  /** A connection that does not reconnect (a benchmark must not hang), with a JetStream context. */
  async function connection() {
    const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false, name: 'sluice-bench' });
    connections.add(nc);
    return { nc, js: nc.jetstream({ timeout: 10_000 }) };
  }

  const { nc: admin } = await connection();
  const jsm = await admin.jetstreamManager();
  await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: StorageType.File, num_replicas: 1 });
  return { port, dir, connection, stop };
}
