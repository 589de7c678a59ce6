/**
 * A producer: writes order events to the stream `shop/orders`, keyed by customer, so each customer's
 * orders stay in order. Every write resolves once the event is durable on the server.
 *
 *   npm start                              # a sluice-server on 127.0.0.1:9090 (another terminal)
 *   npx tsx examples/producer.ts [count]   # SLUICE_ENDPOINTS=host:port,... to point elsewhere
 */
import { SluiceClient, type SluiceError } from '@sluice/client';

const endpoints = (process.env.SLUICE_ENDPOINTS ?? '127.0.0.1:9090').split(',');
const count = Number(process.argv[2] ?? 10_000);

const client = new SluiceClient({ endpoints });
client.on('reconnecting', (detail) => console.warn('reconnecting', detail));

// Idempotent: safe to run on every start.
await client.createStream('shop/orders', { segments: 8 });
const writer = client.createWriter('shop/orders');

let stopping = false;
process.once('SIGINT', () => (stopping = true));

const started = performance.now();
let written = 0;
let failed = 0;
const inFlight = new Set<Promise<void>>();
for (let index = 0; index < count && !stopping; index++) {
  const customer = `customer-${index % 100}`;
  const order = { orderId: index, customer, amount: Math.round(Math.random() * 10_000) / 100, at: new Date().toISOString() };
  // Don't await each write: keep many in flight and let the writer batch them. It applies
  // back-pressure itself (a write waits while maxInflightBytes are unacknowledged).
  const write = writer.write(customer, JSON.stringify(order)).then(
    () => void written++,
    (error: SluiceError) => {
      failed++;
      console.error(`order ${index} not written: ${error.code}: ${error.message}`);
    },
  );
  inFlight.add(write);
  void write.finally(() => inFlight.delete(write));
  // Bound the promises this loop holds, too.
  if (inFlight.size >= 10_000) await Promise.race(inFlight);
}
await Promise.all(inFlight);

// close() flushes what is still batched, then frees the writer's flows; client.close() the sockets.
await writer.close();
const seconds = (performance.now() - started) / 1000;
const { blocksSent, eventsSent, blocksResent } = writer.stats();
console.log(
  `${written} orders durable in ${seconds.toFixed(2)} s (${Math.round(written / seconds)}/s), ${failed} failed, ` +
    `${(eventsSent / Math.max(1, blocksSent - blocksResent)).toFixed(0)} events per block`,
);
await client.close();
