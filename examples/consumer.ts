/**
 * A consumer: reads every order of `shop/orders` and waits at the tail for new ones. It saves its
 * position to a file after processing, so a restart resumes right after the last order it processed
 * (at-least-once: an order processed but not yet saved when the process dies is processed again).
 *
 *   npx tsx examples/consumer.ts           # Ctrl-C to stop; run it again to resume
 *   SLUICE_ENDPOINTS=host:port,... POSITION_FILE=./consumer.position.json
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { SluiceClient, type ReaderPosition } from '@sluice/client';

const endpoints = (process.env.SLUICE_ENDPOINTS ?? '127.0.0.1:9090').split(',');
const positionFile = process.env.POSITION_FILE ?? './consumer.position.json';

function loadPosition(): ReaderPosition | null {
  return existsSync(positionFile) ? (JSON.parse(readFileSync(positionFile, 'utf8')) as ReaderPosition) : null;
}

function savePosition(position: ReaderPosition): void {
  // Write then rename: a crash never leaves a half-written position.
  writeFileSync(`${positionFile}.tmp`, JSON.stringify(position));
  renameSync(`${positionFile}.tmp`, positionFile);
}

const client = new SluiceClient({ endpoints });
await client.createStream('shop/orders', { segments: 8 });

const saved = loadPosition();
const reader = client.createReader('shop/orders', {
  from: saved ?? 'head',
  // Events older than the stream's retention were truncated: say what was skipped, go on.
  onTruncated: ({ segment, from, to }) => console.warn(`skipped truncated events of ${segment}: offsets ${from}..${to}`),
});
console.log(saved ? 'resuming from the saved position' : 'reading from the head');

// Ctrl-C ends the for-await loop below (a waiting read returns at once).
process.once('SIGINT', () => reader.close());

const totals = new Map<string, number>();
let processed = 0;
let lastSaved = Date.now();
// Progress once a second from a timer, so a run that reads everything in under a second, then
// waits at the tail, still reports (and saves) what it did.
let reported = 0;
const progress = setInterval(() => {
  if (processed === reported) return;
  reported = processed;
  savePosition(reader.position);
  console.log(`${processed} orders processed; ${totals.size} customers`);
}, 1_000);
for await (const event of reader) {
  const order = JSON.parse(event.data.toString()) as { orderId: number; customer: string; amount: number };
  totals.set(order.customer, (totals.get(order.customer) ?? 0) + order.amount);
  processed++;
  // Save now and then, not per event: a restart then replays at most a second of orders.
  if (Date.now() - lastSaved > 1_000) {
    savePosition(event.position);
    lastSaved = Date.now();
  }
}
clearInterval(progress);
savePosition(reader.position);
console.log(`stopped after ${processed} orders; position saved to ${positionFile}`);
await client.close();
