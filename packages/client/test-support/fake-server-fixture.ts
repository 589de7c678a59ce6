import { afterEach, beforeEach } from 'vitest';
import { SluiceClient } from '../src/sluice-client.js';
import type { SluiceClientOptions } from '../src/options.js';
import { FakeServer } from './fake-server.js';

export interface FakeServerFixture {
  /** The fake server of the running test: a fresh one per test. */
  readonly server: FakeServer;
  /** A client of that server, closed after the test. */
  client(options?: Partial<SluiceClientOptions>): SluiceClient;
}

/** Registers a fresh FakeServer per test and closes it, and the client made for it, afterwards. */
export function useFakeServer(): FakeServerFixture {
  let server: FakeServer | null = null;
  let client: SluiceClient | null = null;
  beforeEach(async () => {
    server = await FakeServer.start();
  });
  afterEach(async () => {
    await client?.close();
    client = null;
    await server?.close();
    server = null;
  });
  return {
    get server() {
      if (!server) throw new Error('the fake server exists only while a test runs');
      return server;
    },
    client(options = {}) {
      client = new SluiceClient({ endpoints: [this.server.endpoint], ...options });
      return client;
    },
  };
}

export const infoRequest = (segment: string) => ({ type: 'GetSegmentInfo', segment, token: null }) as const;
