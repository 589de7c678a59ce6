/**
 * One node per data dir: a second sluice-server on a data dir in use exits at once, naming the dir
 * and the pid that holds it; a node killed with -9 leaves a lock the next start takes over.
 */
import { describe, expect, it } from 'vitest';

import { runCli, startServer } from './helpers/server-process.js';

describe('data dir lock', () => {
  it('a second node on a data dir in use exits non-zero naming the dir and the holder', async () => {
    const first = await startServer();
    const second = await runCli(['--port', '0', '--data-dir', first.dataDir, '--fsync', 'none']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`data dir ${first.dataDir} is in use`);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(first.isRunning).toBe(true);
    await first.stop();
  });

  it('the lock of a node killed with -9 is taken over by the next start, and a clean stop releases it', async () => {
    const server = await startServer();
    await server.kill('SIGKILL');
    await server.start();
    expect(server.isRunning).toBe(true);
    expect(await server.stop()).toBe(0);
    await server.start();
    expect(await server.stop()).toBe(0);
  });
});
