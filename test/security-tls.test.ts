/**
 * TLS end to end through the client SDK: a node started with --tls-cert/--tls-key and a throwaway
 * CA made at test time (test/helpers/certificates.ts). A client trusting the CA works; one that
 * does not, or that speaks plain TCP to a TLS node (or TLS to a plain node), fails fast with an
 * error that says what is wrong.
 */
import { ConnectFailedError, ServerError, SluiceClient, type SluiceClientOptions } from '@sluice/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { haveOpenssl, makeTestCertificates, type TestCertificates } from './helpers/certificates.js';
import { RawClient, expectReply } from './helpers/raw-client.js';
import path from 'node:path';

import { REPO_ROOT, runNodeScript, startServer, type ServerProcess } from './helpers/server-process.js';

let certs: TestCertificates;
let tlsNode: ServerProcess;
let plainNode: ServerProcess;
const clients: SluiceClient[] = [];

function client(endpoint: string, options: Partial<SluiceClientOptions> = {}): SluiceClient {
  const made = new SluiceClient({ endpoints: [endpoint], connectTimeoutMs: 1_000, requestTimeoutMs: 5_000, ...options });
  clients.push(made);
  return made;
}

/** Rejects within ms or fails the test: a misconfigured client must never hang. */
async function failsWithin<T>(promise: Promise<T>, ms: number): Promise<unknown> {
  const started = Date.now();
  const outcome = await Promise.race([
    promise.then(
      () => ({ resolved: true as const }),
      (error: unknown) => ({ resolved: false as const, error }),
    ),
    new Promise<{ hung: true }>((resolve) => setTimeout(() => resolve({ hung: true }), ms)),
  ]);
  if ('hung' in outcome) throw new Error(`still pending after ${ms} ms`);
  if (outcome.resolved) throw new Error('expected a failure, but it succeeded');
  expect(Date.now() - started).toBeLessThan(ms);
  return outcome.error;
}

describe.skipIf(!haveOpenssl())('TLS through the client (openssl makes a throwaway CA)', () => {
  beforeAll(async () => {
    certs = makeTestCertificates();
    [tlsNode, plainNode] = await Promise.all([
      startServer({ args: ['--tls-cert', certs.certFile, '--tls-key', certs.keyFile] }),
      startServer(),
    ]);
    expect(tlsNode.listening?.tls).toBe(true);
  });

  afterAll(async () => {
    await Promise.all(clients.map((each) => each.close()));
  });

  it('serves createStream, write and read to a client trusting the CA', async () => {
    const sdk = client(tlsNode.address, { tls: { ca: certs.ca } });
    await sdk.createStream('tls/orders', { segments: 2 });
    const writer = sdk.createWriter('tls/orders');
    await Promise.all(Array.from({ length: 10 }, (_, index) => writer.write(`key-${index}`, `event-${index}`)));
    await writer.close();
    const reader = sdk.createReader('tls/orders');
    const seen: string[] = [];
    for await (const event of reader) {
      seen.push(event.data.toString());
      if (seen.length === 10) break;
    }
    expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, index) => `event-${index}`).sort());
  });

  it('checks the host name: localhost is in the certificate, servername is honoured', async () => {
    const sdk = client(`localhost:${tlsNode.port}`, { tls: { ca: certs.ca } });
    await sdk.createStream('tls/by-name', { segments: 1 });
    const wrongName = client(tlsNode.address, { tls: { ca: certs.ca, servername: 'not-this-host.example' } });
    const error = await failsWithin(wrongName.createStream('tls/wrong-name', { segments: 1 }), 4_000);
    expect(error).toBeInstanceOf(ConnectFailedError);
    expect((error as Error).message).toMatch(/certificate/i);
    expect((error as Error).message).toContain('not-this-host.example');
  });

  it('refuses a client that does not trust the CA, with an error about the certificate', async () => {
    const sdk = client(tlsNode.address, { tls: {} });
    const error = await failsWithin(sdk.createStream('tls/untrusted', { segments: 1 }), 4_000);
    expect(error).toBeInstanceOf(ConnectFailedError);
    const message = (error as Error).message;
    expect(message).toMatch(/certificate/i);
    expect(message).toContain('tls.ca'); // says what to do
    expect(message).not.toContain('Is a sluice-server listening there?');
  });

  it('a plain-TCP client to a TLS node fails fast: the node answers TLS_REQUIRED in the plain protocol', async () => {
    const sdk = client(tlsNode.address);
    const error = await failsWithin(sdk.createStream('tls/plain', { segments: 1 }), 4_000);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).serverCode).toBe('TLS_REQUIRED');
    expect((error as Error).message).toContain("set the client's `tls` option");
    // The same at the raw-protocol level: the refusal carries the Hello's request id, then the node closes.
    const raw = await RawClient.connect(tlsNode.address);
    const reply = expectReply(await raw.hello(), 'ErrorMessage');
    expect(reply.code).toBe('TLS_REQUIRED');
    expect(await raw.closesWithin(3_000)).toBe(true);
  });

  it('a TLS client to a plain node fails fast, saying the node does not speak TLS', async () => {
    const sdk = client(plainNode.address, { tls: { ca: certs.ca } });
    const error = await failsWithin(sdk.createStream('tls/mismatch', { segments: 1 }), 4_000);
    expect(error).toBeInstanceOf(ConnectFailedError);
    expect((error as Error).message).toContain('the node did not answer in TLS');
    expect((error as Error).message).toContain('--tls-cert');
  });

  it('the sluice bin connects with --tls-ca, and without it fails in one line saying what to do', async () => {
    const bin = path.join(REPO_ROOT, 'packages/client/bin/sluice.mjs');
    const env = { SLUICE_ENDPOINTS: '', SLUICE_TOKEN: '' };
    const at = ['--endpoints', `localhost:${tlsNode.port}`];
    const created = await runNodeScript(bin, [...at, '--tls-ca', certs.caFile, 'stream', 'create', 'tls/cli', '--segments', '1'], { env, timeoutMs: 30_000 });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const listed = await runNodeScript(bin, [...at, '--tls-ca', certs.caFile, '--json', 'stream', 'list'], { env, timeoutMs: 30_000 });
    expect(listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { stream: string }).map((row) => row.stream)).toContain('tls/cli');

    const untrusted = await runNodeScript(bin, [...at, 'stream', 'list'], { env, timeoutMs: 30_000 });
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr.trim().split('\n')).toHaveLength(1);
    expect(untrusted.stderr).toContain('TLS_REQUIRED');
    expect(untrusted.stderr).toContain('--tls-ca');
  });

  it('the node keeps serving TLS clients after all of that', async () => {
    const raw = await RawClient.connect(tlsNode.address, { tls: { ca: certs.ca } });
    expectReply(await raw.hello(), 'Hello');
    expectReply(await raw.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
    raw.close();
    expect(tlsNode.isRunning).toBe(true);
  });
});
