/**
 * User errors on the client against a real node: each is a typed SluiceError with a stable code, and
 * its message says what to do (unknown stream, bad option, use after close). An event over the size
 * limit is in security-limits.test.ts.
 */
import {
  ClientClosedError,
  InvalidOptionError,
  NoSuchStreamError,
  SluiceClient,
  SluiceError,
  type SluiceClientOptions,
} from '@sluice/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { storedSize } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

let node: ServerProcess;
let client: SluiceClient;

beforeAll(async () => {
  node = await startServer();
  client = new SluiceClient({ endpoints: [node.address], requestTimeoutMs: 5_000 });
});

afterAll(async () => {
  await client.close();
});

async function rejectionOf(promise: Promise<unknown>): Promise<SluiceError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SluiceError);
    return error as SluiceError;
  }
  throw new Error('expected a rejection, but it resolved');
}

function thrownBy(action: () => unknown): SluiceError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(SluiceError);
    return error as SluiceError;
  }
  throw new Error('expected an error, but none was thrown');
}

describe('an unknown stream', () => {
  it('a writer: the write rejects with NoSuchStreamError telling to createStream', async () => {
    const error = await rejectionOf(client.createWriter('nowhere/writer').write('k', 'x'));
    expect(error).toBeInstanceOf(NoSuchStreamError);
    expect(error).toMatchObject({ code: 'NO_SUCH_STREAM', stream: 'nowhere/writer' });
    expect(error.message).toContain("client.createStream('nowhere/writer', { segments: N })");
  });

  it('a reader: iterating throws NoSuchStreamError telling to createStream', async () => {
    const reader = client.createReader('nowhere/reader');
    const error = await rejectionOf(reader.next());
    expect(error).toBeInstanceOf(NoSuchStreamError);
    expect(error.message).toContain('createStream');
    expect(reader.closed).toBe(true);
  });

  it('stream info and the revisioned client: NoSuchStreamError', async () => {
    expect(await rejectionOf(client.getStreamInfo('nowhere/info'))).toBeInstanceOf(NoSuchStreamError);
    const revisioned = client.createRevisionedClient('nowhere/revisions');
    expect(await rejectionOf(revisioned.fetchLatestRevision())).toMatchObject({ code: 'NO_SUCH_STREAM' });
  });

  it('works once the stream is created, with the same writer', async () => {
    const writer = client.createWriter('nowhere/later');
    await rejectionOf(writer.write('k', 'too early'));
    await client.createStream('nowhere/later', { segments: 1 });
    await writer.write('k', 'now');
    await writer.close();
  });
});

describe('bad options name the option and what it accepts', () => {
  const clientCases: Array<[string, Partial<SluiceClientOptions> & Record<string, unknown>, string]> = [
    ['no endpoints', { endpoints: [] }, 'endpoints'],
    ['an endpoint without a port', { endpoints: ['localhost'] }, 'endpoints'],
    ['a port out of range', { endpoints: ['127.0.0.1:70000'] }, 'endpoints'],
    ['zero connections', { maxConnectionsPerEndpoint: 0 }, 'maxConnectionsPerEndpoint'],
    ['a fractional timeout', { requestTimeoutMs: 1.5 }, 'requestTimeoutMs'],
    ['a token of the wrong type', { token: 42 as unknown as string }, 'token'],
    ['tls that is not an object', { tls: 'yes' as unknown as object }, 'tls'],
    ['a frame limit too small for a read', { maxFrameSize: 1024 }, 'maxFrameSize'],
  ];
  it.each(clientCases)('new SluiceClient with %s: InvalidOptionError naming %s', (_, options, option) => {
    const error = thrownBy(() => new SluiceClient({ endpoints: [node.address], ...options } as SluiceClientOptions));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: 'INVALID_OPTION', option });
    expect(error.message).toContain(option);
    expect(error.message.length).toBeGreaterThan(`invalid ${option}: `.length + 10); // says what is allowed
  });

  it('no options at all', () => {
    const error = thrownBy(() => new SluiceClient(undefined as unknown as SluiceClientOptions));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toContain('endpoints');
  });

  it('writer, reader, stream and revisioned-client options', async () => {
    const cases: Array<[() => unknown, string]> = [
      [() => client.createWriter('ok/stream', { maxInflightBytes: -1 }), 'maxInflightBytes'],
      [() => client.createWriter('ok/stream', { enableConnectionPooling: 'yes' as unknown as boolean }), 'enableConnectionPooling'],
      [() => client.createWriter('ok/stream', { maxBlockBytes: 10 }), 'maxBlockBytes'],
      [() => client.createWriter('ok/stream', { writerId: '' }), 'writerId'],
      [() => client.createWriter('not a stream name'), 'stream'],
      [() => client.createReader('ok/stream', { from: 'middle' as unknown as 'head' }), 'from'],
      [() => client.createReader('ok/stream', { maxBufferedBytes: 10 }), 'maxBufferedBytes'],
      [() => client.createRevisionedClient('bad//name'), 'stream'],
    ];
    for (const [action, option] of cases) {
      const error = thrownBy(action);
      expect(error, option).toBeInstanceOf(InvalidOptionError);
      expect(error.message, option).toContain(option);
    }
    for (const segments of [0, 1.5, 100_000]) {
      const error = await rejectionOf(client.createStream('ok/stream', { segments }));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error.message).toContain('segments');
    }
    const badWrite = await rejectionOf(client.createWriter('ok/stream').write('k', 42 as unknown as string));
    expect(badWrite).toBeInstanceOf(InvalidOptionError);
    expect(badWrite.message).toContain('Uint8Array');
  });
});

describe('use after close', () => {
  it('a closed writer rejects writes with ClientClosedError saying to create a new one', async () => {
    await client.createStream('closed/writer', { segments: 1 });
    const writer = client.createWriter('closed/writer');
    await writer.write('k', 'before');
    await writer.close();
    const error = await rejectionOf(writer.write('k', 'after'));
    expect(error).toBeInstanceOf(ClientClosedError);
    expect(error).toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(error.message).toContain('writer is closed');
    expect(error.message).toContain('create a new one');
  });

  it('a closed client refuses every call with ClientClosedError; its writers were flushed first', async () => {
    const own = new SluiceClient({ endpoints: [node.address] });
    await own.createStream('closed/client', { segments: 1 });
    const writer = own.createWriter('closed/client');
    const pending = writer.write('k', 'flushed by close');
    await own.close();
    await pending; // close() flushed it rather than dropping it
    expect(await rejectionOf(own.createStream('closed/client', { segments: 1 }))).toBeInstanceOf(ClientClosedError);
    expect(await rejectionOf(own.getStreamInfo('closed/client'))).toBeInstanceOf(ClientClosedError);
    for (const action of [
      () => own.createWriter('closed/client'),
      () => own.createReader('closed/client'),
      () => own.createRevisionedClient('closed/client'),
      () => own.segments,
    ]) {
      const error = thrownBy(action);
      expect(error).toBeInstanceOf(ClientClosedError);
      expect(error.message).toContain('client is closed; create a new one');
    }
    expect(await rejectionOf(writer.write('k', 'after close'))).toBeInstanceOf(ClientClosedError);
    await own.close(); // twice is fine
    const info = await client.getStreamInfo('closed/client');
    expect(info.segmentInfos[0]!.length).toBe(storedSize('flushed by close', 'k'));
  });
});
