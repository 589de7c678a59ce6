// The clients of the `hol` scenario, in a process of their own (sluiceHeadOfLine in
// sluice-workloads.mjs says why). argv[2]: JSON { endpoint, durationMs, warmupMs }.
// stdout: { type: 'progress', fraction } lines, then one { type: 'result', alone, shared, own,
// readerBytes, readBytes, rounds, holdMB, held, copyEventData, heapUsedMB } line (alone/shared/own:
// LatencyRecorder summaries of the writer; the rest says what the knobs below set).
//
// Diagnostic knobs (environment, inherited through `node bench/run.mjs`; the scenario sets neither,
// so the row is a process that does only this): SLUICE_HOL_HOLD_MB=<n> keeps about n MB of small
// live objects for the whole run, the heap of an application around the client (docs/benchmarks.md,
// "Session 9: hol with an application's heap": n = 2 puts this process at ~9 MB live, where the
// reader's replies bring a major GC every 8-32 MB read); SLUICE_HOL_COPY_EVENT_DATA=1 gives the readers
// `copyEventData: true`. heapUsedMB is the heap in use once the objects were made.
import { getHeapStatistics } from 'node:v8';
import { SluiceClient } from '@sluice/client';
import { LatencyRecorder, payloads, sequentialLoop } from './measure.mjs';

/** Reads of 1 MiB: a segment reader reads at most half its buffer at once (segment-reader.ts). */
const READ_BYTES = 1024 * 1024;
const ROUNDS = 3;

const { endpoint, durationMs, warmupMs } = JSON.parse(process.argv[2]);
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const holdMB = Number(process.env.SLUICE_HOL_HOLD_MB ?? 0);
const copyEventData = process.env.SLUICE_HOL_COPY_EVENT_DATA === '1';

/**
 * About mb MB of live objects shaped like an application's own (records with a number, a short
 * string and a small array: ~155 bytes each in V8, measured with --expose-gc), kept until the
 * process ends. They outlive the setup's scavenges, so they sit in the old generation when the
 * measurement starts. The process holds ~7 MB live without them.
 */
function holdObjects(mb) {
  return Array.from({ length: Math.round((mb * 1e6) / 155) }, (_, i) => ({ id: i, name: `record-${i}`, tags: [i, i + 1] }));
}
const held = holdObjects(holdMB);
const heapUsedMB = Math.round(getHeapStatistics().used_heap_size / 1e5) / 10;

/** Reads bench/hol-reads from the head over and over (1 MiB reads) until stop() is awaited. */
function readContinuously(client, read) {
  let reading = true;
  const loop = (async () => {
    while (reading) {
      const reader = client.createReader('bench/hol-reads', { from: 'head', maxBufferedBytes: 2 * READ_BYTES, copyEventData });
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
  const knobs = { holdMB, held: held.length, copyEventData, heapUsedMB };
  say({ type: 'result', alone, shared, own, readerBytes: read.bytes, readBytes: READ_BYTES, rounds: ROUNDS, ...knobs });
} finally {
  await ownSocket.close();
  await client.close();
}
