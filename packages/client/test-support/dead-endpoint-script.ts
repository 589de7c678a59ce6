/**
 * Run as its own process by connection-lifecycle.test.ts: createStream against a port where nothing
 * listens must fail within the acquire timeout, and after client.close() nothing may keep the
 * process alive. Prints one JSON line with the error.
 */
import net from 'node:net';
import { SluiceClient } from '../src/index.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const client = new SluiceClient({ endpoints: [`127.0.0.1:${await freePort()}`], connectTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
const started = Date.now();
try {
  await client.createStream('shop/orders', { segments: 2 });
  console.log(JSON.stringify({ code: 'none', message: 'createStream succeeded', ms: Date.now() - started }));
} catch (error) {
  const { code, message } = error as { code: string; message: string };
  console.log(JSON.stringify({ code, message, ms: Date.now() - started }));
}
await client.close();
