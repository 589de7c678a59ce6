/**
 * The `sluice` bin, run as a user runs it (a child process, stdin and stdout pipes) against real
 * nodes: stream administration, writing lines from stdin, cat, --json, errors and exit codes.
 */
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

import { SluiceClient } from '@sluice/client';
import { mintToken } from '@sluice/server';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT, runNodeScript, startServer, type ScriptRun, type ServerProcess } from './helpers/server-process.js';

import { runCli } from '../packages/client/src/cli/main.js';

const BIN = path.join(REPO_ROOT, 'packages/client/bin/sluice.mjs');

type Run = Pick<ScriptRun, 'code' | 'stdout' | 'stderr'>;

function sluice(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return runNodeScript(BIN, args, {
    ...options,
    env: { SLUICE_ENDPOINTS: '', SLUICE_TOKEN: '', ...options.env },
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

/** The same CLI in this process (no process start): for checks that are about output, not the bin. */
async function sluiceHere(args: string[], input = ''): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => (stdout += text),
    stderr: new Writable({
      write(chunk: Buffer, _encoding, done) {
        stderr += chunk.toString();
        done();
      },
    }),
    stdin: Readable.from([input]),
    env: {},
    stopped: new Promise(() => {}),
  });
  return { code, stdout, stderr };
}

describe('sluice against one node', () => {
  let server: ServerProcess;
  let at: string[];

  beforeAll(async () => {
    server = await startServer();
    at = ['--endpoints', server.address];
  });
  afterAll(() => server.stop());

  it('is linked as a bin of the workspace at npm ci', () => {
    const linked = path.join(REPO_ROOT, 'node_modules/.bin/sluice');
    expect(existsSync(linked)).toBe(true);
    expect(realpathSync(linked)).toBe(realpathSync(BIN));
  });

  it('creates, lists, describes and deletes streams', async () => {
    const sluice = sluiceHere;
    expect((await sluice([...at, 'stream', 'create', 'cli/a', '--segments', '3'])).code).toBe(0);
    expect((await sluice([...at, 'stream', 'create', 'cli/b', '--segments', '1'])).code).toBe(0);
    expect((await sluice([...at, 'stream', 'create', 'other/c', '--segments', '2'])).code).toBe(0);

    const all = await sluice([...at, 'stream', 'list']);
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n').filter(Boolean)).toEqual(['cli/a', 'cli/b', 'other/c']);
    const scoped = await sluice([...at, '--json', 'stream', 'list', 'cli']);
    expect(scoped.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([{ stream: 'cli/a' }, { stream: 'cli/b' }]);

    const info = await sluice([...at, 'stream', 'info', 'cli/a']);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain('cli/a: 3 segments');
    for (const segment of ['cli/a/0', 'cli/a/1', 'cli/a/2']) expect(info.stdout).toContain(segment);
    expect(info.stdout).toContain(server.address);

    await sluice([...at, 'stream', 'seal', 'cli/b']);
    const sealed = JSON.parse((await sluice([...at, '--json', 'stream', 'info', 'cli/b'])).stdout) as { sealed: boolean };
    expect(sealed.sealed).toBe(true);

    expect((await sluice([...at, 'stream', 'delete', 'cli/b'])).code).toBe(0);
    expect((await sluice([...at, 'stream', 'list'])).stdout.split('\n').filter(Boolean)).toEqual(['cli/a', 'other/c']);
  });

  it('writes 10,000 lines from a pipe durably and cat prints each once, in key order', async () => {
    await sluice([...at, 'stream', 'create', 'cli/lines', '--segments', '4']);
    const lines = Array.from({ length: 10_000 }, (_, index) => `event ${index}`);
    const written = await sluice([...at, '--json', 'write', 'cli/lines', '--key', 'one-key'], { input: `${lines.join('\n')}\n` });
    expect(written.code).toBe(0);
    expect(JSON.parse(written.stdout)).toMatchObject({ stream: 'cli/lines', written: 10_000, failed: 0 });

    const read = await sluice([...at, 'cat', 'cli/lines', '--from', 'head']);
    expect(read.code).toBe(0);
    expect(read.stdout.split('\n').filter(Boolean)).toEqual(lines);
  });

  it('prints --json events one parseable object per line, and escapes control bytes in text', async () => {
    const sluice = (args: string[], options: { input?: string } = {}): Promise<Run> => sluiceHere(args, options.input);
    await sluice([...at, 'stream', 'create', 'cli/bytes', '--segments', '1']);
    await sluice([...at, 'write', 'cli/bytes', '--key', 'k'], { input: 'plain\nbell\u0007 and esc\u001b[2J\n' });
    const text = await sluice([...at, 'cat', 'cli/bytes']);
    expect(text.stdout).toBe('plain\nbell\\x07 and esc\\x1b[2J\n');
    expect([...text.stdout].filter((char) => char < ' ' && char !== '\n')).toEqual([]);
    const json = await sluice([...at, '--json', '--format', 'base64', 'cat', 'cli/bytes']);
    const events = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { data: string; segment: string });
    expect(events.map((event) => Buffer.from(event.data, 'base64').toString())).toEqual(['plain', 'bell\u0007 and esc\u001b[2J']);
    expect(events[0]!.segment).toBe('cli/bytes/0');
    expect(events[0]).toMatchObject({ routingKey: 'k', headers: {}, timestamp: expect.any(Number) });
  });

  it('write --header puts name=value headers on every event, and refuses a header without a name', async () => {
    await sluice([...at, 'stream', 'create', 'cli/headers', '--segments', '1']);
    const written = await sluice([...at, 'write', 'cli/headers', '--key', 'k', '--header', 'source=cli', '--header', 'query=a=b'], { input: 'one\ntwo\n' });
    expect(written.code).toBe(0);
    const json = await sluice([...at, '--json', 'cat', 'cli/headers']);
    const events = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { data: string; headers: Record<string, string> });
    expect(events.map((event) => [event.data, event.headers])).toEqual([
      ['one', { source: 'cli', query: 'a=b' }],
      ['two', { source: 'cli', query: 'a=b' }],
    ]);
    const refused = await sluice([...at, 'write', 'cli/headers', '--header', '=x'], { input: 'three\n' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--header must be name=value, got "=x"');
  });

  it('cat --from tail stops at once without --follow, and --follow prints new events until SIGTERM', async () => {
    await sluice([...at, 'stream', 'create', 'cli/follow', '--segments', '2']);
    await sluice([...at, 'write', 'cli/follow'], { input: 'old\n' });
    expect((await sluice([...at, 'cat', 'cli/follow', '--from', 'tail'])).stdout).toBe('');

    const child = spawn(process.execPath, [BIN, ...at, 'cat', 'cli/follow', '--from', 'tail', '--follow'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The reader fixes the tail once it has started: write until the follower has printed one event.
    const deadline = Date.now() + 20_000;
    while (!stdout.includes('new') && Date.now() < deadline) {
      await sluice([...at, 'write', 'cli/follow', '--key', 'k'], { input: 'new\n' });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(stdout).toContain('new');
    expect(stdout).not.toContain('old');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('fails with one line and a non-zero exit for an unknown stream, a bad name and a bad flag', async () => {
    const unknown = await sluice([...at, 'stream', 'info', 'cli/nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('cli/nope does not exist');
    expect(unknown.stderr).toContain('sluice stream create');

    const cat = await sluice([...at, 'cat', 'cli/nope']);
    expect(cat.code).toBe(1);
    expect(cat.stderr).toContain('NO_SUCH_STREAM');

    const badName = await sluice([...at, 'stream', 'create', 'no-scope', '--segments', '2']);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toContain('"scope/name"');

    const badFlag = await sluice([...at, 'stream', 'create', 'cli/x', '--segments', 'many']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--segments must be a whole number');

    const unknownCommand = await sluice([...at, 'stream', 'frobnicate']);
    expect(unknownCommand.code).toBe(2);
  });

  it('answers --help for every command and --version', async () => {
    const sluice = sluiceHere;
    const help = await sluice(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['stream create', 'stream list', 'stream info', 'stream scale', 'stream seal', 'stream delete', 'write', 'cat', 'group describe', 'cluster']) {
      expect(help.stdout).toContain(command);
      const own = await sluice([...command.split(' '), '--help']);
      expect(own.code).toBe(0);
      expect(own.stdout).toContain(`usage: sluice ${command}`);
    }
    expect((await sluice(['--version'])).stdout).toMatch(/^sluice \d+\.\d+\.\d+/);
  });

  it('scales a stream, and cat still prints every event once in key order across the scale', async () => {
    const sluice = sluiceHere;
    await sluice([...at, 'stream', 'create', 'cli/scaled', '--segments', '2']);
    await sluice([...at, 'write', 'cli/scaled', '--key', 'k'], 'a\nb\n');
    const scaled = await sluice([...at, '--json', 'stream', 'scale', 'cli/scaled', '--segments', '3']);
    expect(scaled.code).toBe(0);
    expect(JSON.parse(scaled.stdout)).toMatchObject({ stream: 'cli/scaled', segments: 3, epoch: 1 });
    // Nothing written since the scale: every event is in the sealed predecessors, the successors are empty.
    expect((await sluice([...at, 'cat', 'cli/scaled'])).stdout).toBe('a\nb\n');
    await sluice([...at, 'write', 'cli/scaled', '--key', 'k'], 'c\nd\n');
    expect((await sluice([...at, 'stream', 'info', 'cli/scaled'])).stdout).toContain('3 segments, epoch 1');
    const client = new SluiceClient({ endpoints: [server.address] });
    await client.setScalingPolicy('cli/scaled', { minSegments: 1, maxSegments: 4, targetEventsPerSecond: 5000 });
    await client.close();
    expect((await sluice([...at, 'stream', 'info', 'cli/scaled'])).stdout).toContain('auto-scaling 1-4 segments at 5000 events/s each');
    expect((await sluice([...at, 'cat', 'cli/scaled'])).stdout).toBe('a\nb\nc\nd\n');
  });

  it('reads as a reader group member and describes the group', async () => {
    await sluiceHere([...at, 'stream', 'create', 'cli/grouped', '--segments', '3']);
    await sluiceHere([...at, 'write', 'cli/grouped'], 'one\ntwo\nthree\n');
    const read = await sluice([...at, 'cat', 'cli/grouped', '--group', 'g1']);
    expect(read.code).toBe(0);
    expect(read.stdout.split('\n').filter(Boolean).sort()).toEqual(['one', 'three', 'two']);

    const described = await sluiceHere([...at, '--json', 'group', 'describe', 'cli/grouped', 'g1']);
    expect(described.code).toBe(0);
    const group = JSON.parse(described.stdout) as { positions: Record<string, number>; lag: Record<string, { bytes: number }> };
    expect(Object.keys(group.positions).sort()).toEqual(['cli/grouped/0', 'cli/grouped/1', 'cli/grouped/2']);
    expect(Object.values(group.lag).every((lag) => lag.bytes === 0)).toBe(true);
    const table = await sluiceHere([...at, 'group', 'describe', 'cli/grouped', 'g1']);
    expect(table.stdout).toContain('cli/grouped/0');

    const unknown = await sluiceHere([...at, 'group', 'describe', 'cli/grouped', 'nope']);
    expect(unknown.code).toBe(1);
  });

  it('describes the cluster with each node health', async () => {
    const sluice = sluiceHere;
    const cluster = await sluice([...at, '--json', 'cluster']);
    expect(cluster.code).toBe(0);
    const [member] = cluster.stdout.trim().split('\n').map((line) => JSON.parse(line) as { node: string; reachable: boolean; containers: number[] });
    expect(member).toMatchObject({ node: server.address, reachable: true });
    expect(member!.containers).toHaveLength(16);
  });
});

describe('sluice errors that reach the user', () => {
  it('says no node is listening, quickly, naming the endpoint and the flag to change', async () => {
    const started = Date.now();
    const run = await sluice(['--endpoints', '127.0.0.1:1', 'stream', 'list']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('127.0.0.1:1');
    expect(run.stderr).toContain('--endpoints');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('reports an auth refusal, and works with a token from --token or SLUICE_TOKEN', async () => {
    const secret = 'cli-test-secret-0123456789abcdef';
    const server = await startServer({ args: ['--auth-secret', secret] });
    try {
      const at = ['--endpoints', server.address];
      const refused = await sluice([...at, 'stream', 'create', 'sec/s', '--segments', '1']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('AUTH_TOKEN_CHECK_FAILED');
      expect(refused.stderr).toContain('--token');

      const token = mintToken(secret, { streams: ['sec/*'], rights: ['read', 'write', 'admin'], ttlMs: 60_000 });
      expect((await sluice([...at, '--token', token, 'stream', 'create', 'sec/s', '--segments', '1'])).code).toBe(0);
      const listed = await sluice([...at, 'stream', 'list'], { env: { SLUICE_TOKEN: token } });
      expect(listed.stdout.trim()).toBe('sec/s');
      expect((await sluice([...at, 'stream', 'list'])).stderr).toContain('missing auth token');
    } finally {
      await server.stop();
    }
  });
});
