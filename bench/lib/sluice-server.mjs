// Starts a real `sluice-server` process for a benchmark, on loopback with fsync on, as users run it.
// Readiness comes from its stdout: pino JSON lines, one of them `{"msg":"listening","port":…}`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { now } from './measure.mjs';
import { spawnWithLines, stopProcess, waitForLine } from './processes.mjs';
import { REPO_ROOT } from './paths.mjs';

export const SERVER_CLI = join(REPO_ROOT, 'packages/server/dist/cli.js');

/** Why the server cannot run (a skip reason), or null when its build is there. */
export function sluiceServerMissing() {
  return existsSync(SERVER_CLI) ? null : 'server not built (packages/server/dist/cli.js)';
}

function listeningPort(line) {
  if (!line.startsWith('{')) return undefined;
  const entry = JSON.parse(line);
  return entry.msg === 'listening' && Number.isInteger(entry.port) ? entry.port : undefined;
}

/**
 * Starts `node packages/server/dist/cli.js --port 0 --host 127.0.0.1 --data-dir <dataDir> --fsync always`
 * (plus `args`) and resolves once it logged "listening". Returns:
 *   { port, endpoint: '127.0.0.1:<port>', pid, dataDir, readyMs, child, stop(), kill() }
 * readyMs is the time from spawn to "listening" (the recovery benchmark reads it).
 * stop() sends SIGTERM (SIGKILL after graceMs) and resolves with { code, signal };
 * kill() is `kill -9` for crash tests. Pass `ctx` to have it stopped when the scenario ends.
 * `cli` replaces packages/server/dist/cli.js (tests of this helper use a fake server; bench/append-cpu.mjs
 * another tree's server); `nodeArgs` go to node before it (e.g. --cpu-prof).
 */
export async function startSluiceServer({ dataDir, args = [], nodeArgs = [], env, ctx, readyTimeoutMs = 30_000, onLine, cli = SERVER_CLI } = {}) {
  if (!dataDir) throw new Error('startSluiceServer: dataDir is required');
  if (cli === SERVER_CLI && sluiceServerMissing()) throw new Error(sluiceServerMissing());
  const startedAt = now();
  const child = spawnWithLines(
    process.execPath,
    [...nodeArgs, cli, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--fsync', 'always', ...args],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, onLine, name: 'sluice-server' },
  );
  const server = {
    child,
    pid: child.pid,
    dataDir,
    port: 0,
    endpoint: '',
    readyMs: 0,
    stop: ({ graceMs = 10_000 } = {}) => stopProcess(child, { graceMs }),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return child.exited;
    },
  };
  ctx?.defer(() => server.stop());
  try {
    server.port = await waitForLine(child, listeningPort, { timeoutMs: readyTimeoutMs, what: '"listening" log line' });
  } catch (error) {
    await server.stop({ graceMs: 1000 });
    throw error;
  }
  server.readyMs = now() - startedAt;
  server.endpoint = `127.0.0.1:${server.port}`;
  return server;
}

/** Starts a server in a fresh temp dir of the scenario, runs fn(server), and always stops it. */
export async function withSluiceServer(ctx, fn, options = {}) {
  const server = await startSluiceServer({ dataDir: await ctx.tmpDir('sluice-'), ctx, ...options });
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}
