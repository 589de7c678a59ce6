import { SluiceClient, type SluiceClientOptions } from '@sluice/client';
import { afterAll, beforeAll } from 'vitest';

import { startServer, type ServerProcess, type StartServerOptions } from './server-process.js';

export interface ServerWithClient {
  readonly server: ServerProcess;
  readonly client: SluiceClient;
}

/**
 * One sluice-server and one client of it, shared by the tests of the calling file or describe block:
 * started before them, the client closed and the server stopped after them.
 */
export function useServerWithClient(
  clientOptions: Partial<Omit<SluiceClientOptions, 'endpoints'>> = {},
  serverOptions: StartServerOptions = {},
): ServerWithClient {
  let server: ServerProcess | null = null;
  let client: SluiceClient | null = null;
  beforeAll(async () => {
    server = await startServer(serverOptions);
    client = new SluiceClient({ endpoints: [server.address], ...clientOptions });
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });
  return {
    get server() {
      if (server === null) throw new Error('the server runs only while the tests run');
      return server;
    },
    get client() {
      if (client === null) throw new Error('the client exists only while the tests run');
      return client;
    },
  };
}
