/**
 * The sluice-server command line: --help, flag and environment validation, the token subcommand,
 * auth, TLS.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { describe, expect, it } from 'vitest';

import { RawClient, expectReply } from './helpers/raw-client.js';
import { SERVER_CLI, makeTempDir, runCli, startServer } from './helpers/server-process.js';

describe('sluice-server --help', () => {
  it('lists every flag with its default and environment variable', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const expected of [
      '--port <port>',
      '[default: 9090]',
      '--host',
      '[default: 127.0.0.1]',
      '--data-dir',
      '[default: ./data]',
      '--containers',
      '[default: 16]',
      '--cluster',
      '--node',
      '--log-level',
      '[default: info]',
      '--log-pretty',
      '--fsync',
      '[default: always]',
      'UNSAFE',
      '--auth-secret',
      '--auth-secret-file',
      '--tls-cert',
      '--tls-key',
      '--max-connections',
      '--metrics-port',
      '--max-frame-size',
      '[default: 16MiB]',
      '--max-event-size',
      '[default: 8MiB]',
      '--max-unacked-bytes',
      '--hello-timeout',
      '[default: 10s]',
      '--cache-bytes',
      'SLUICE_DATA_DIR',
      'token',
    ]) {
      expect(stdout).toContain(expected);
    }
  });
});

describe('bad flags', () => {
  const cases: Array<[string[], string, NodeJS.ProcessEnv?]> = [
    [['--port', 'abc'], '--port'],
    [['--port', '70000'], '--port'],
    [['--containers', '0'], '--containers'],
    [['--fsync', 'sometimes'], '--fsync'],
    [['--log-level', 'loud'], '--log-level'],
    [['--max-frame-size', '12 parsecs'], '--max-frame-size'],
    [['--hello-timeout', 'soon'], '--hello-timeout'],
    [['--bogus'], '--bogus'],
    [['--port'], '--port'],
    [['--tls-cert', 'cert.pem'], '--tls-key'],
    [['--cluster', '127.0.0.1:7001,127.0.0.1:7002', '--node', '127.0.0.1:7003'], '--node'],
    [['--cluster', 'nonsense'], '--cluster'],
    [['--auth-secret', 'short'], '--auth-secret'],
    [[], '--port', { SLUICE_PORT: 'abc' }],
  ];
  it.each(cases)('%j exits non-zero with one line naming %s', async (args, flag, env) => {
    const { code, stdout, stderr } = await runCli(args, { env });
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(lines[0]).toMatch(/^sluice-server: /);
  });

  it('says what is allowed', async () => {
    expect((await runCli(['--fsync', 'maybe'])).stderr).toContain('always or none');
    expect((await runCli(['--port', 'x'])).stderr).toContain('0-65535');
  });
});

describe('configuration from the environment', () => {
  it('reads SLUICE_* variables, flags win over them', async () => {
    const server = await startServer({ env: { SLUICE_CONTAINERS: '7', SLUICE_MAX_CONNECTIONS: '5' }, args: ['--max-connections', '9'] });
    const client = await RawClient.connect(server.address);
    await client.hello();
    expect(expectReply(await client.call({ type: 'GetClusterMap' }, 0), 'ClusterMap').containerCount).toBe(7);
    client.close();
    expect(await server.stop()).toBe(0);
  });

  it('logs human-readable lines with --log-pretty', async () => {
    const child = spawn(process.execPath, [SERVER_CLI, '--log-pretty', '--port', '0', '--fsync', 'none', '--data-dir', makeTempDir()], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no listening line')), 15_000);
      createInterface({ input: child.stdout }).on('line', (text) => {
        if (!text.includes('listening')) return;
        clearTimeout(timer);
        resolve(text);
      });
    });
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening host=127\.0\.0\.1 port=\d+/);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

function secretFile(): string {
  const file = path.join(makeTempDir(), 'secret');
  writeFileSync(file, 'a-test-secret-of-enough-bytes-1234567890\n');
  return file;
}

describe('auth', () => {
  it('sluice-server token prints a token; bad input exits non-zero', async () => {
    const file = secretFile();
    const { code, stdout } = await runCli(['token', '--auth-secret-file', file, '--streams', 'shop/*', '--rights', 'rw', '--ttl', '1h']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^sl1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const missing = await runCli(['token', '--auth-secret-file', file]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('--streams');
    const badRights = await runCli(['token', '--auth-secret-file', file, '--streams', '*', '--rights', 'rx']);
    expect(badRights.code).not.toBe(0);
    expect(badRights.stderr).toContain('x');
  });

  it('refuses requests without a valid token (that request only) and serves those with one', async () => {
    const file = secretFile();
    const token = async (streams: string, rights: string): Promise<string> =>
      (await runCli(['token', '--auth-secret-file', file, '--streams', streams, '--rights', rights])).stdout.trim();
    const admin = await token('shop/*', 'rwa');
    const readOnly = await token('shop/orders', 'r');
    const otherScope = await token('bank/*', 'rwa');
    const server = await startServer({ args: ['--auth-secret-file', file] });
    expect(server.listening?.auth).toBe(true);
    const client = await RawClient.connect(server.address);
    await client.hello();
    const segment = 'shop/orders/0';

    const noToken = expectReply(await client.call({ type: 'CreateSegment', segment, token: null }), 'AuthTokenCheckFailed');
    expect(noToken).toMatchObject({ segment });
    expect(noToken.message).toContain('missing');
    expectReply(await client.call({ type: 'CreateSegment', segment, token: otherScope }), 'AuthTokenCheckFailed');
    expectReply(await client.call({ type: 'CreateSegment', segment, token: readOnly }), 'AuthTokenCheckFailed');
    expectReply(await client.call({ type: 'CreateSegment', segment, token: 'sl1.forged.token' }), 'AuthTokenCheckFailed');
    expectReply(await client.call({ type: 'CreateSegment', segment, token: admin }), 'SegmentCreated');
    expectReply(await client.call({ type: 'GetSegmentInfo', segment, token: readOnly }), 'SegmentInfo');
    expectReply(await client.call({ type: 'SetupAppend', segment, writerId: 'w', token: readOnly }), 'AuthTokenCheckFailed');
    // Connection commands need no token, and the connection stayed usable throughout.
    expectReply(await client.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
    client.close();
    expect(await server.stop()).toBe(0);
  });
});

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!haveOpenssl())('TLS', () => {
  it('serves over TLS with --tls-cert/--tls-key', async () => {
    const dir = makeTempDir();
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], {
      stdio: 'ignore',
    });
    const server = await startServer({ args: ['--tls-cert', cert, '--tls-key', key] });
    expect(server.listening?.tls).toBe(true);
    const client = await RawClient.connect(server.address, { tls: { rejectUnauthorized: false } });
    expectReply(await client.hello(), 'Hello');
    expectReply(await client.call({ type: 'CreateSegment', segment: 'tls/s/0', token: null }), 'SegmentCreated');
    client.close();
    expect(await server.stop()).toBe(0);
  });
});
