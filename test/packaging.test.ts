/**
 * Packaging and process hygiene: the bin is a committed file (linked by `npm ci` before any build),
 * `--version`, each package's tarball carries its README and the LICENSE and declares what it
 * imports, and SIGTERM to `npm start` reaches the node.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { describe, expect, it } from 'vitest';

import { REPO_ROOT, makeTempDir, runCli } from './helpers/server-process.js';

const serverPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages/server/package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

describe('packaging', () => {
  it('sluice-server --version prints the package version, through the committed bin too', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`sluice-server ${serverPackage.version}`);
    const bin = path.join('packages/server', serverPackage.bin['sluice-server']!);
    expect(execFileSync('git', ['ls-files', '--error-unmatch', bin], { cwd: REPO_ROOT, encoding: 'utf8' }).trim()).toBe(bin);
    expect(execFileSync(process.execPath, [path.join(REPO_ROOT, bin), '--version'], { encoding: 'utf8' }).trim()).toBe(
      `sluice-server ${serverPackage.version}`,
    );
  });

  it('each tarball holds its README and the LICENSE', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '-w', '@sluice/protocol', '-w', '@sluice/client', '-w', '@sluice/server'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      }),
    ) as Array<{ name: string; files: Array<{ path: string }> }>;
    expect(packed.map((entry) => entry.name).sort()).toEqual(['@sluice/client', '@sluice/protocol', '@sluice/server']);
    for (const entry of packed) {
      const files = entry.files.map((file) => file.path);
      expect(files, entry.name).toContain('README.md');
      expect(files, entry.name).toContain('LICENSE');
    }
  });

  it('SIGTERM to `npm start` stops the node (no orphan left running)', { timeout: 60_000 }, async () => {
    const npm = spawn('npm', ['start'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SLUICE_PORT: '0', SLUICE_DATA_DIR: makeTempDir(), SLUICE_FSYNC: 'none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    const nodePid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('npm start did not log "listening" within 45 s')), 45_000);
      createInterface({ input: npm.stdout! }).on('line', (line) => {
        if (!line.includes('"listening"')) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { pid: number }).pid);
      });
    });
    npm.kill('SIGTERM');
    await exited;
    const alive = (): boolean => {
      try {
        process.kill(nodePid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 15_000;
    while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const orphaned = alive();
    if (orphaned) process.kill(nodePid, 'SIGKILL');
    expect(orphaned).toBe(false);
  });
});
