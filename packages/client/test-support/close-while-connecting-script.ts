/**
 * Run as its own process by connection-lifecycle.test.ts: a node that answered once goes away, flows wait
 * for a connection to it, and the client is closed meanwhile. Their requests must reject, close()
 * must resolve, and timers must still fire afterwards (a pool that kept re-creating in a microtask
 * loop starved them, and the process never exited). Prints one JSON line.
 * The node's port then accepts and drops every connection (a node half up): a refused connection
 * fails a flow at once, a dropped one is retried by the pool until the connect timeout.
 */
import net from 'node:net';

import { FakeServer } from './fake-server.js';
import { SluiceClient } from '../src/index.js';

const server = await FakeServer.start();
const endpoint = server.endpoint;
const client = new SluiceClient({
  endpoints: [endpoint],
  connectTimeoutMs: 5_000,
  maxConnectionsPerEndpoint: 8,
  maxDedicatedConnectionsPerEndpoint: 8,
});
const request = { type: 'GetSegmentInfo', segment: 's/a/0', token: null } as const;
await client.context.openFlow(endpoint).request(request);
await server.close();
const dropping = net.createServer((socket) => socket.destroy());
await new Promise<void>((resolve) => dropping.listen(Number(endpoint.split(':')[1]), '127.0.0.1', resolve));
const flows = Array.from({ length: 8 }, (_, index) => client.context.openFlow(endpoint, { pooled: index % 2 === 0 }));
const settled = flows.map((flow) =>
  flow.request(request).then(
    () => 'none',
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  ),
);
// Let the flows' connection attempts fail a few times and wait in their backoff.
await new Promise((resolve) => setTimeout(resolve, 300));
await client.close();
const codes = await Promise.all(settled);
const timerFired = await new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 20));
dropping.close();
console.log(JSON.stringify({ codes, timerFired }));
