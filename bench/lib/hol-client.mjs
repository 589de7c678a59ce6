// The clients of the `hol` scenario, in a process of their own (sluiceHeadOfLine in
// sluice-workloads.mjs says why). argv[2]: JSON { endpoint, durationMs, warmupMs }.
// stdout: { type: 'progress', fraction } lines, then one { type: 'result', alone, shared, own,
// readerBytes, readBytes, rounds } line (alone/shared/own: LatencyRecorder summaries of the writer).
import { SluiceClient } from '@sluice/client';
import { LatencyRecorder, payloads, sequentialLoop } from './measure.mjs';

/** Reads of 1 MiB: a segment reader reads at most half its buffer at once (segment-reader.ts). */
const READ_BYTES = 1024 * 1024;
const ROUNDS = 3;

const { endpoint, durationMs, warmupMs } = JSON.parse(process.argv[2]);
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** Reads bench/hol-reads from the head over and over (1 MiB reads) until stop() is awaited. */
function readContinuously(client, read) {
  let reading = true;
  const loop = (async () => {
    while (reading) {
      const reader = client.createReader('bench/hol-reads', { from: 'head', maxBufferedBytes: 2 * READ_BYTES });
      let seen = 0;
      for await (const event of reader) {
        read.bytes += event.data.byteLength;
        if (++seen === 128 || !reading) break;
      }
      await reader.close();
    }
  })();
  return {
    stop: async () => {
      reading = false;
      await loop;
    },
  };
}

const client = new SluiceClient({ endpoints: [endpoint], maxConnectionsPerEndpoint: 1 });
const ownSocket = new SluiceClient({ endpoints: [endpoint], maxConnectionsPerEndpoint: 1 });
try {
  await client.createStream('bench/hol-writes', { segments: 1 });
  await client.createStream('bench/hol-reads', { segments: 1 });
  const filler = client.createWriter('bench/hol-reads');
  const big = Buffer.alloc(256 * 1024, 7);
  await Promise.all(Array.from({ length: 128 }, () => filler.write('k', big)));
  await filler.close();
  const writer = client.createWriter('bench/hol-writes');
  const payload = payloads(100)[0];
  const write = () => writer.write('k', payload).then(() => 1);
  await sequentialLoop({ durationMs: warmupMs, maxOps: 10_000 }, write);

  const conditions = [
    { name: 'alone', readerClient: null },
    { name: 'shared', readerClient: client },
    { name: 'own', readerClient: ownSocket },
  ];
  const latency = new Map(conditions.map(({ name }) => [name, new LatencyRecorder()]));
  const read = { bytes: 0 };
  const slices = ROUNDS * conditions.length;
  let step = 0;
  let reported = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const { name, readerClient } of conditions) {
      const reading = readerClient === null ? null : readContinuously(readerClient, read);
      const onProgress = (f) => {
        const fraction = Math.round(((step + f) / slices) * 100) / 100;
        if (fraction > reported) say({ type: 'progress', fraction: (reported = fraction) });
      };
      await sequentialLoop({ durationMs: durationMs / slices, maxOps: 200_000, onProgress, latency: latency.get(name) }, write);
      await reading?.stop();
      step += 1;
    }
  }
  const [alone, shared, own] = conditions.map(({ name }) => latency.get(name).summary());
  say({ type: 'result', alone, shared, own, readerBytes: read.bytes, readBytes: READ_BYTES, rounds: ROUNDS });
} finally {
  await ownSocket.close();
  await client.close();
}
