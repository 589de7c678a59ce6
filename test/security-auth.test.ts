/**
 * Auth end to end through the client SDK against a real node started with an auth secret: tokens
 * minted by `sluice-server token` and by mintToken, rights and stream patterns, expiry, rotation
 * with a token function, and secrets kept out of the logs.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { AuthTokenCheckFailedError, SluiceClient, type EventReader, type ReadEvent, type TokenSource } from '@sluice/client';
import type { Command } from '@sluice/protocol';
import { mintToken } from '@sluice/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RawClient, block, expectReply, storedSize } from './helpers/raw-client.js';
import { makeTempDir, runCli, startServer, type ServerProcess } from './helpers/server-process.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Distinctive, so a grep of the node's output finds it if it leaked anywhere. */
const SECRET = 'sluice-test-secret-Zq7v9KpW3mXr2LbN';
const HOUR = 60 * 60 * 1000;

let server: ServerProcess;
let secretFile: string;
const clients: SluiceClient[] = [];

function client(token?: TokenSource): SluiceClient {
  const made = new SluiceClient({ endpoints: [server.address], token, requestTimeoutMs: 5_000, retryWindowMs: 5_000 });
  clients.push(made);
  return made;
}

async function cliToken(streams: string, rights: string, ttl = '1h'): Promise<string> {
  const { code, stdout, stderr } = await runCli(['token', '--auth-secret-file', secretFile, '--streams', streams, '--rights', rights, '--ttl', ttl]);
  expect(code, stderr).toBe(0);
  return stdout.trim();
}

/** The first n events of a reader, failing the test instead of waiting forever. */
async function take(reader: EventReader, n: number, timeoutMs = 5_000): Promise<ReadEvent[]> {
  const events: ReadEvent[] = [];
  const deadline = setTimeout(() => reader.close(), timeoutMs);
  try {
    for await (const event of reader) {
      events.push({ ...event, data: Buffer.from(event.data) });
      if (events.length === n) break;
    }
  } finally {
    clearTimeout(deadline);
    reader.close();
  }
  return events;
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

beforeAll(async () => {
  secretFile = path.join(makeTempDir(), 'auth-secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  // trace: every log line the node can print is printed, so the secret check below sees them all.
  server = await startServer({ args: ['--auth-secret-file', secretFile, '--log-level', 'trace'] });
  expect(server.listening?.auth).toBe(true);
});

afterAll(async () => {
  await Promise.all(clients.map((each) => each.close()));
});

describe('a node with --auth-secret-file', () => {
  it('refuses a client without a token, saying how to get one', async () => {
    const anonymous = client();
    const error = await rejectionOf(anonymous.createStream('shop/anon', { segments: 1 }));
    expect(error).toBeInstanceOf(AuthTokenCheckFailedError);
    expect((error as AuthTokenCheckFailedError).code).toBe('AUTH_TOKEN_CHECK_FAILED');
    const message = (error as Error).message;
    expect(message).toContain('missing auth token');
    expect(message).toMatch(/client's `token` option/);
    expect(message).toMatch(/sluice-server token|mintToken/);
  });

  it('serves createStream, write and read with a token from `sluice-server token`', async () => {
    const token = await cliToken('shop/*', 'rwa');
    expect(token).toMatch(/^sl1\./);
    const sdk = client(token);
    await sdk.createStream('shop/cli', { segments: 2 });
    const writer = sdk.createWriter('shop/cli');
    await Promise.all(['a', 'b', 'c'].map((event) => writer.write(`key-${event}`, event)));
    await writer.close();
    const events = await take(sdk.createReader('shop/cli'), 3);
    expect(events.map((event) => event.data.toString()).sort()).toEqual(['a', 'b', 'c']);
  });

  it('serves a token minted with mintToken from @sluice/server', async () => {
    const token = mintToken(SECRET, { streams: ['shop/minted'], rights: ['read', 'write', 'admin'], ttlMs: HOUR });
    const sdk = client(token);
    await sdk.createStream('shop/minted', { segments: 1 });
    const writer = sdk.createWriter('shop/minted');
    await writer.write('k', 'minted-event');
    await writer.close();
    const [event] = await take(sdk.createReader('shop/minted'), 1);
    expect(event!.data.toString()).toBe('minted-event');
  });

  it('a read-only token reads, but its writes fail with AuthTokenCheckFailedError (every pending one, none hanging)', async () => {
    const admin = client(mintToken(SECRET, { streams: ['shop/*'], rights: ['read', 'write', 'admin'] }));
    await admin.createStream('shop/readonly', { segments: 2 });
    const seed = admin.createWriter('shop/readonly');
    await seed.write('k', 'seeded');
    await seed.close();

    const reader = client(await cliToken('shop/readonly', 'r'));
    const [event] = await take(reader.createReader('shop/readonly'), 1);
    expect(event!.data.toString()).toBe('seeded');

    const writer = reader.createWriter('shop/readonly');
    const writes = Array.from({ length: 20 }, (_, index) => writer.write(`key-${index}`, `event-${index}`));
    const settled = await Promise.race([
      Promise.allSettled(writes),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('pending writes did not settle within 5 s')), 5_000)),
    ]);
    expect(settled.every((result) => result.status === 'rejected')).toBe(true);
    for (const result of settled) {
      const reason = (result as PromiseRejectedResult).reason as AuthTokenCheckFailedError;
      expect(reason).toBeInstanceOf(AuthTokenCheckFailedError);
      expect(reason.message).toContain('write');
    }
    await writer.close();
    // Nothing was stored by the refused writer.
    const info = await admin.getStreamInfo('shop/readonly');
    expect(info.segmentInfos.reduce((sum, segment) => sum + segment.length, 0)).toBe(storedSize('seeded', 'k'));
  });

  it('a token for shop/* cannot touch other/x', async () => {
    const sdk = client(await cliToken('shop/*', 'rwa'));
    const error = await rejectionOf(sdk.createStream('other/x', { segments: 1 }));
    expect(error).toBeInstanceOf(AuthTokenCheckFailedError);
    expect((error as Error).message).toContain('does not cover stream "other/x"');

    const otherAdmin = client(mintToken(SECRET, { streams: ['other/x'], rights: ['read', 'write', 'admin'] }));
    await otherAdmin.createStream('other/x', { segments: 1 });
    const writeError = await rejectionOf(sdk.createWriter('other/x').write('k', 'nope'));
    expect(writeError).toBeInstanceOf(AuthTokenCheckFailedError);
    await expect(take(sdk.createReader('other/x'), 1)).rejects.toBeInstanceOf(AuthTokenCheckFailedError);
  });

  it('refuses an expired token and a forged one', async () => {
    const expired = mintToken(SECRET, { streams: ['*'], rights: ['read', 'write', 'admin'], ttlMs: HOUR, now: Date.now() - 2 * HOUR });
    const error = await rejectionOf(client(expired).createStream('shop/expired', { segments: 1 }));
    expect(error).toBeInstanceOf(AuthTokenCheckFailedError);
    expect((error as Error).message).toContain('expired');

    const forged = mintToken('another-secret-of-enough-bytes!!', { streams: ['*'], rights: ['read', 'write', 'admin'] });
    const forgedError = await rejectionOf(client(forged).createStream('shop/forged', { segments: 1 }));
    expect(forgedError).toBeInstanceOf(AuthTokenCheckFailedError);
    expect((forgedError as Error).message).toContain('signature');
  });

  it('calls an async token function per use: rotating from an expired token to a good one', async () => {
    let current = mintToken(SECRET, { streams: ['shop/*'], rights: ['read', 'write', 'admin'], ttlMs: HOUR, now: Date.now() - 2 * HOUR });
    let calls = 0;
    const sdk = client(async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 1));
      return current;
    });
    await expect(sdk.createStream('shop/rotated', { segments: 1 })).rejects.toBeInstanceOf(AuthTokenCheckFailedError);
    expect(calls).toBeGreaterThan(0);

    current = mintToken(SECRET, { streams: ['shop/*'], rights: ['read', 'write', 'admin'], ttlMs: HOUR });
    const callsBefore = calls;
    await sdk.createStream('shop/rotated', { segments: 1 });
    const writer = sdk.createWriter('shop/rotated');
    await writer.write('k', 'after-rotation');
    await writer.close();
    const [event] = await take(sdk.createReader('shop/rotated'), 1);
    expect(event!.data.toString()).toBe('after-rotation');
    expect(calls).toBeGreaterThan(callsBefore);
    // The refusal cost no connection.
    expect(sdk.stats().endpoints[server.address]!.connectionsLost).toBe(0);
  });

  it('an append setup lasts only as long as its token: appends after the expiry are refused (APPEND_SETUP_EXPIRED)', async () => {
    const admin = client(mintToken(SECRET, { streams: ['shop/expiry'], rights: ['read', 'write', 'admin'], ttlMs: HOUR }));
    await admin.createStream('shop/expiry', { segments: 1 });
    const raw = await RawClient.connect(server.address);
    await raw.hello();
    const segment = 'shop/expiry/0';
    const shortLived = mintToken(SECRET, { streams: ['shop/expiry'], rights: ['write'], ttlMs: 1_000 });
    expectReply(await raw.call({ type: 'SetupAppend', segment, writerId: 'w', token: shortLived }), 'AppendSetup');
    const append = (lastEventNumber: number): Promise<Command> =>
      raw.call({ type: 'AppendBlock', segment, writerId: 'w', lastEventNumber, eventCount: 1, data: block(['x']) });
    expectReply(await append(0), 'DataAppended');
    await sleep(1_200);
    const refused = expectReply(await append(1), 'ErrorMessage');
    expect(refused.code).toBe('APPEND_SETUP_EXPIRED');
    expect(refused.message).toContain('fresh token');
    raw.close();
  });

  it('a writer sets up again with a fresh token from its token function when the one it set up with expires', async () => {
    const streams = ['shop/rotating'];
    let minted = 0;
    const rotating = client(() => {
      minted += 1;
      return mintToken(SECRET, { streams, rights: ['read', 'write', 'admin'], ttlMs: 1_000 });
    });
    await rotating.createStream('shop/rotating', { segments: 1 });
    const writer = rotating.createWriter('shop/rotating');
    await writer.write('k', 'before the expiry');
    const mintedBefore = minted;
    await sleep(1_200);
    await writer.write('k', 'after the expiry');
    expect(minted).toBeGreaterThan(mintedBefore);
    await writer.close();
    const events = await take(rotating.createReader('shop/rotating'), 2);
    expect(events.map((event) => event.data.toString())).toEqual(['before the expiry', 'after the expiry']);

    // A fixed token that expired cannot set up again: the write fails, typed.
    const fixed = client(mintToken(SECRET, { streams, rights: ['read', 'write'], ttlMs: 1_000 }));
    const stuck = fixed.createWriter('shop/rotating');
    await stuck.write('k', 'in time');
    await sleep(1_200);
    expect(await rejectionOf(stuck.write('k', 'too late'))).toBeInstanceOf(AuthTokenCheckFailedError);
  });

  it('keeps a connection usable for other flows after an auth failure on one of them', async () => {
    // One token good for shop/*, used on a stream it covers and on one it does not, over one connection.
    const sdk = new SluiceClient({
      endpoints: [server.address],
      token: mintToken(SECRET, { streams: ['shop/*'], rights: ['read', 'write', 'admin'] }),
      maxConnectionsPerEndpoint: 1,
      requestTimeoutMs: 5_000,
    });
    clients.push(sdk);
    await sdk.createStream('shop/shared', { segments: 1 });
    const good = sdk.createWriter('shop/shared');
    const bad = sdk.createWriter('other/x');
    const [goodWrite, badWrite] = await Promise.allSettled([good.write('k', 'kept'), bad.write('k', 'refused')]);
    expect(goodWrite.status).toBe('fulfilled');
    expect((badWrite as PromiseRejectedResult).reason).toBeInstanceOf(AuthTokenCheckFailedError);
    await good.write('k', 'still-kept');
    const events = await take(sdk.createReader('shop/shared'), 2);
    expect(events.map((event) => event.data.toString())).toEqual(['kept', 'still-kept']);
    const stats = sdk.stats().endpoints[server.address]!;
    expect(stats.connections).toBe(1);
    expect(stats.connectionsLost).toBe(0);
    await good.close();
    await bad.close();
  });

  it('never prints the secret (or a token) in its logs', async () => {
    const token = mintToken(SECRET, { streams: ['shop/*'], rights: ['read'] });
    // A request that fails the check, to make the node log about tokens at every level it has.
    await expect(client(token).createStream('shop/logged', { segments: 1 })).rejects.toBeInstanceOf(AuthTokenCheckFailedError);
    await new Promise((resolve) => setTimeout(resolve, 200)); // log lines arrive through a pipe
    const output = server.output();
    expect(output.length).toBeGreaterThan(0);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain(token.split('.')[2]!);
  });

  it('never prints a secret given with --auth-secret, even at trace level and on shutdown', async () => {
    const secret = 'flag-secret-Hq4tY8nB2cV6xZ0p';
    const node = await startServer({ args: ['--auth-secret', secret, '--log-level', 'trace'] });
    const sdk = new SluiceClient({ endpoints: [node.address], token: 'sl1.not.valid', requestTimeoutMs: 5_000 });
    await expect(sdk.createStream('a/b', { segments: 1 })).rejects.toBeInstanceOf(AuthTokenCheckFailedError);
    await sdk.close();
    expect(await node.stop()).toBe(0);
    expect(node.output()).not.toContain(secret);
    // A refused start names the flag, not the value.
    const refused = await runCli(['--auth-secret', 'short-secret', '--port', '0']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--auth-secret');
    expect(refused.stderr).not.toContain('short-secret');
  });
});
