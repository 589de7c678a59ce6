// A throwaway redis-server for the bench: loopback only, a free port, its own temp dir, AOF on with
// the chosen appendfsync, no RDB snapshots. Stopped when the scenario ends.
import Redis from 'ioredis';
import { findBinary, freePort, spawnWithLines, stopProcess, waitForLine } from '../lib/processes.mjs';

export const REDIS_BINARY = 'redis-server';

/** Path of redis-server, or null when it is not installed (its rows are then skipped). */
export const redisBinary = () => findBinary(REDIS_BINARY);

/**
 * @param {import('../lib/types.js').ScenarioContext} ctx
 * @param {{ appendfsync: 'always' | 'everysec' }} options
 * @returns {Promise<{ port: number, dir: string, client: (options?: object) => Promise<Redis>, stop: () => Promise<unknown> }>}
 */
export async function startRedis(ctx, { appendfsync }) {
  const binary = redisBinary();
  if (!binary) throw new Error('redis-server is not installed');
  const dir = await ctx.tmpDir(`redis-${appendfsync}-`);
  const port = await freePort();
  const child = spawnWithLines(binary, [
    '--bind', '127.0.0.1',
    '--port', String(port),
    '--protected-mode', 'yes',
    '--daemonize', 'no',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', appendfsync,
    '--save', '',
    '--logfile', '',
    '--loglevel', 'notice',
  ]);
  const clients = new Set();
  const stop = async () => {
    for (const client of clients) client.disconnect();
    clients.clear();
    return stopProcess(child, { graceMs: 5000 });
  };
  ctx.defer(stop);
  await waitForLine(child, (line) => (line.includes('Ready to accept connections') ? true : undefined), {
    what: 'redis-server "Ready to accept connections"',
  });
  ctx.log.debug(`redis-server (appendfsync ${appendfsync}) on 127.0.0.1:${port}, dir ${dir}`);
  return {
    port,
    dir,
    /** A connected ioredis client that never retries or reconnects (a benchmark must not hang). */
    async client(options = {}) {
      const client = new Redis({
        host: '127.0.0.1',
        port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        autoResubscribe: false,
        ...options,
      });
      client.on('error', () => {}); // surfaced by the failing command instead
      clients.add(client);
      await client.connect();
      return client;
    },
    stop,
  };
}
