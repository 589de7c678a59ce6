/**
 * A full disk (a 4 MiB tmpfs as the data dir; needs root to mount, skipped otherwise): writes to the
 * failed container fail at once with DISK_FULL (not after the retry window), /health answers 503
 * naming the container, the metric counts it, and after space is freed a restart serves every
 * acknowledged event.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ServerError, SluiceClient } from '@sluice/client';
import { afterAll, describe, expect, it } from 'vitest';

import { health, scrape } from './helpers/prometheus.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'sluice-full-disk-'));
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'ignore' });
  mounted = true;
} catch {
  // not root (or no tmpfs): the test is skipped
}

afterAll(() => {
  if (mounted) execFileSync('umount', ['-l', mountPoint]); // lazy: a server left by a failed test must not keep it busy
  rmdirSync(mountPoint);
});

describe('disk full', () => {
  it.skipIf(!mounted)('fails the writes at once with DISK_FULL, reports it in /health and metrics, and loses nothing acknowledged', { timeout: 45_000 }, async () => {
    const filler = path.join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(1024 * 1024));
    const dataDir = path.join(mountPoint, 'data');
    let server: ServerProcess = await startServer({ dataDir, fsync: 'always', args: ['--metrics-port', '0', '--log-file-bytes', '1MiB'] });
    // A retry window far beyond the test's timeout: DISK_FULL must fail the write, not wait it out.
    const client = new SluiceClient({ endpoints: [server.address], retryWindowMs: 300_000 });
    await client.createStream('full/disk', { segments: 1 });
    const writer = client.createWriter('full/disk');
    const acknowledged: string[] = [];
    let failure: unknown = null;
    for (let n = 0; n < 1_000 && failure === null; n++) {
      const payload = `${String(n).padStart(5, '0')}${'x'.repeat(16 * 1024)}`;
      await writer.write('k', payload).then(
        () => acknowledged.push(payload),
        (error: unknown) => {
          failure = error;
        },
      );
    }
    expect(failure).toBeInstanceOf(ServerError);
    expect((failure as ServerError).serverCode).toBe('DISK_FULL');
    expect((failure as Error).message).toContain('restart');
    expect(acknowledged.length).toBeGreaterThan(0);

    const report = await health(server);
    expect(report.status).toBe(503);
    expect(report.body.status).toBe('failing');
    expect(report.body.failedContainers).toEqual([expect.objectContaining({ container: expect.any(Number) })]);
    expect((await scrape(server)).value('sluice_containers_failed')).toBe(1);
    await server.waitForLog('container log failed; its appends fail until a restart');
    await client.close();

    await server.kill('SIGKILL');
    rmSync(filler);
    server = await server.start();
    const reader = new SluiceClient({ endpoints: [server.address] });
    const seen: string[] = [];
    const events = reader.createReader('full/disk');
    const timer = setTimeout(() => events.close(), 10_000);
    for await (const event of events) {
      seen.push(event.data.toString());
      if (seen.length >= acknowledged.length) break;
    }
    clearTimeout(timer);
    expect(seen.slice(0, acknowledged.length)).toEqual(acknowledged);
    await reader.close();
    await server.stop();
  });
});
