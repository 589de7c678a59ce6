// A reader-group member in its own process, for tests that kill readers for real.
// argv[2]: JSON { endpoints, stream, group, readerId, sessionTimeoutMs, commitIntervalMs, counts }.
// stdout: one JSON line per event delivered ({ type: 'event', data, segment, offset }), or with
// counts: true (for the bench) only { type: 'count', n } every 20 ms while n grows; then
// { type: 'closed' } after a graceful close, or { type: 'error', code, message }.
// stdin: a line "close" closes the reader gracefully (commit, leave) and exits 0.
import { createInterface } from 'node:readline';
import { setInterval } from 'node:timers';
import { SluiceClient } from '@sluice/client';

const config = JSON.parse(process.argv[2]);
const client = new SluiceClient({ endpoints: config.endpoints });
const reader = client.createReader(config.stream, {
  group: config.group,
  readerId: config.readerId,
  sessionTimeoutMs: config.sessionTimeoutMs,
  commitIntervalMs: config.commitIntervalMs,
});
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'close') {
    reader.close().then(async () => {
      say({ type: 'closed' });
      await client.close();
      process.exit(0);
    });
  }
});

let count = 0;
let told = 0;
if (config.counts) {
  setInterval(() => {
    if (count !== told) say({ type: 'count', n: (told = count) });
  }, 20);
}

try {
  for await (const event of reader) {
    if (config.counts) count += 1;
    else say({ type: 'event', data: event.data.toString(), segment: event.segment, offset: event.offset });
  }
} catch (error) {
  say({ type: 'error', code: error.code, message: error.message });
  await client.close();
  process.exit(1);
}
