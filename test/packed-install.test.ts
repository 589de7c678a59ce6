/**
 * The packages where users get them (issue #11 item 8): `npm pack` the three workspaces, install the
 * tarballs into an empty app outside the workspace, and run an ESM and a CommonJS script of that app
 * against a sluice-server started from the installed bin. Also `npx sluice --version` and
 * `npx sluice-server --version` there. Dependencies come from npm's cache when it has them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTempDir, REPO_ROOT, runNodeScript, startServer, type ServerProcess } from './helpers/server-process.js';

const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages/client/package.json'), 'utf8')) as { version: string }).version;

/** What each script does with the installed packages: one stream, one event written and read back. */
const USE = `
  const client = new SluiceClient({ endpoints: [process.env.ENDPOINT] });
  const stream = 'packed/' + process.argv[2];
  await client.createStream(stream, { segments: 1 });
  const writer = client.createWriter(stream);
  await writer.write('k', Buffer.from('hello from ' + process.argv[2]));
  await writer.close();
  const reader = client.createReader(stream, { from: 'head' });
  for await (const event of reader) {
    console.log(JSON.stringify({ data: event.data.toString(), commands: Object.keys(COMMANDS).length }));
    break;
  }
  await client.close();
`;

const ESM = `import { SluiceClient } from '@sluice/client';
import { COMMANDS } from '@sluice/protocol';
${USE}`;

const CJS = `const { SluiceClient } = require('@sluice/client');
const { COMMANDS } = require('@sluice/protocol');
(async () => {
${USE}
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
}

describe('the packed tarballs, installed into an app outside the workspace', () => {
  let app: string;
  let server: ServerProcess;

  beforeAll(async () => {
    const dir = makeTempDir('sluice-packed-');
    const packed = JSON.parse(
      npm(['pack', '--json', '--pack-destination', dir, '-w', '@sluice/protocol', '-w', '@sluice/client', '-w', '@sluice/server'], REPO_ROOT),
    ) as Array<{ filename: string }>;
    app = path.join(dir, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'packed-app', version: '1.0.0', private: true }));
    const tarballs = packed.map((entry) => path.join(dir, path.basename(entry.filename)));
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], app);
    server = await startServer({ cli: path.join(app, 'node_modules/@sluice/server/bin/sluice-server.js') });
  }, 240_000);
  afterAll(() => server?.stop());

  it('runs the bins through npx', () => {
    expect(execFileSync('npx', ['--no-install', 'sluice', '--version'], { cwd: app, encoding: 'utf8' }).trim()).toContain(version);
    expect(execFileSync('npx', ['--no-install', 'sluice-server', '--version'], { cwd: app, encoding: 'utf8' }).trim()).toBe(
      `sluice-server ${version}`,
    );
  });

  it.each([
    ['esm', 'esm.mjs', ESM],
    ['cjs', 'cjs.cjs', CJS],
  ])('a %s script imports @sluice/client and @sluice/protocol and writes and reads an event', async (kind, file, source) => {
    writeFileSync(path.join(app, file), source);
    const run = await runNodeScript(path.join(app, file), [kind], { cwd: app, env: { ENDPOINT: server.address }, timeoutMs: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout.trim()) as { data: string; commands: number };
    expect(printed.data).toBe(`hello from ${kind}`);
    expect(printed.commands).toBeGreaterThan(0);
  });
});
