/**
 * What a newcomer meets first: a node that is not there fails at once (not after connectTimeoutMs),
 * a DNS failure says so, endpoints and options are checked at construction with messages that say
 * what was wrong (a scheme, a string for a number, a misspelt option name), and
 * `await using client = new SluiceClient(…)` closes the client. A node that answered before and went
 * away is retried by the writer's own backoff, each refused attempt at once (a replicated cluster's
 * client finds the new primary in milliseconds), so the retry window bounds the wait.
 */
import { ClientClosedError, ConnectFailedError, InvalidOptionError, RetryWindowExceededError, SluiceClient } from '@sluice/client';
import { describe, expect, it } from 'vitest';

import { freePorts, startServer } from './helpers/server-process.js';

/** Long enough that waiting it out would fail these tests by their own timeout. */
const CONNECT_TIMEOUT_MS = 60_000;

function thrownBy(make: () => unknown): Error {
  try {
    make();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('a client on its first connection', () => {
  it('fails at once with ConnectFailedError when every endpoint refuses', { timeout: 20_000 }, async () => {
    const [a, b] = await freePorts(2);
    const client = new SluiceClient({ endpoints: [`127.0.0.1:${a}`, `127.0.0.1:${b}`], connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const error = await client.createStream('first/refused', { segments: 1 }).then(() => null, (failure: unknown) => failure);
    expect(error).toBeInstanceOf(ConnectFailedError);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).toContain('Is a sluice-server listening there?');
    await client.close();
  });

  it('names DNS, not a missing server, when the host name does not resolve', { timeout: 20_000 }, async () => {
    const client = new SluiceClient({ endpoints: ['no-such-host.invalid:9090'], connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const error = await client.createStream('first/dns', { segments: 1 }).then(() => null, (failure: unknown) => failure);
    expect(error).toBeInstanceOf(ConnectFailedError);
    expect((error as Error).message).toContain('does not resolve');
    expect((error as Error).message).not.toContain('listening');
    await client.close();
  });
});

describe('options are checked at construction', () => {
  it('refuses an endpoint with a scheme', () => {
    const error = thrownBy(() => new SluiceClient({ endpoints: ['sluice://127.0.0.1:9090'] }));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toContain('drop "sluice://"');
  });

  it('shows the type of a wrong value', () => {
    const error = thrownBy(() => new SluiceClient({ endpoints: ['127.0.0.1:9090'], maxConnectionsPerEndpoint: '4' as unknown as number }));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toContain('maxConnectionsPerEndpoint');
    expect(error.message).toContain('the string "4"');
  });

  it('refuses option names that do not exist, for the client, writers and readers', async () => {
    const misspelt = { endpoints: ['127.0.0.1:9090'], maxConnectionPerEndpoint: 2 } as unknown as ConstructorParameters<typeof SluiceClient>[0];
    const error = thrownBy(() => new SluiceClient(misspelt));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toContain('maxConnectionPerEndpoint');
    expect(error.message).toContain('did you mean maxConnectionsPerEndpoint?');
    const client = new SluiceClient({ endpoints: ['127.0.0.1:9090'] });
    expect(thrownBy(() => client.createWriter('a/b', { lingerMS: 5 } as never)).message).toContain('lingerMS');
    expect(thrownBy(() => client.createReader('a/b', { form: 'tail' } as never)).message).toContain('form');
    await client.close();
  });
});

describe('a node that answered before and went away', () => {
  it('is tried again at once on each backoff step, so a writer gives up at its retry window, not after connectTimeoutMs', { timeout: 20_000 }, async () => {
    const server = await startServer();
    const client = new SluiceClient({ endpoints: [server.address], connectTimeoutMs: CONNECT_TIMEOUT_MS, retryWindowMs: 2_000 });
    await client.createStream('first/gone', { segments: 1 });
    const writer = client.createWriter('first/gone');
    await writer.write('k', 'before');
    const reasons: string[] = [];
    client.on('reconnecting', (detail: { reason: string }) => reasons.push(detail.reason));
    await server.kill();
    const error = await writer.write('k', 'after').then(() => null, (failure: unknown) => failure);
    expect(error).toBeInstanceOf(RetryWindowExceededError);
    expect(reasons.filter((reason) => reason.includes('ECONNREFUSED')).length).toBeGreaterThan(1);
    await client.close();
  });
});

describe('await using', () => {
  it('closes the client at the end of the block (Symbol.asyncDispose)', async () => {
    const server = await startServer();
    const client = new SluiceClient({ endpoints: [server.address] });
    await client.createStream('first/dispose', { segments: 1 });
    const writer = client.createWriter('first/dispose');
    const written = writer.write('k', 'flushed on dispose');
    await client[Symbol.asyncDispose]();
    await written;
    expect(() => client.createWriter('first/dispose')).toThrow(ClientClosedError);
    await server.stop();
  });
});
