import { describe, expect, it } from 'vitest';
import type { EventReader } from '@sluice/client';
import { useServerWithClient } from './helpers/server-with-client.js';

const WRITERS = 4;
const EVENTS_PER_WRITER = 40;
const READERS = 3;

/** Every event the reader delivers until its stream ends (it is closed after timeoutMs). */
async function readToEnd(reader: EventReader, timeoutMs = 60_000): Promise<string[]> {
  const seen: string[] = [];
  const timer = setTimeout(() => reader.close(), timeoutMs);
  try {
    for await (const event of reader) seen.push(event.data.toString());
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

const written = (writer: number): string[] => Array.from({ length: EVENTS_PER_WRITER }, (_, index) => `w${writer}-${index}`);

// A read waiting at the tail is answered when the appends that pass its offset are durable, from
// the block cache those appends filled (segment-requests.ts, wokenRead); without the cache it reads the log.
describe.each([
  { name: 'blocks cached', args: [] },
  { name: 'no block cache', args: ['--cache-bytes', '0'] },
])('readers waiting at the tail ($name)', ({ args }) => {
  const running = useServerWithClient({ maxConnectionsPerEndpoint: 2 }, { args });

  it("get every event once, in each writer's order, from groups of appends and across a scale that ends segments", async () => {
    const { client } = running;
    const stream = 'e2e/woken-reads';
    await client.createStream(stream, { segments: 2 });
    const readers = Array.from({ length: READERS }, () => client.createReader(stream, { from: 'tail' }));
    const reading = readers.map((reader) => readToEnd(reader));
    // Parked: one read per segment per reader waits on the server.
    const inFlight = (): number => client.stats().endpoints[running.server.address]?.inFlightRequests ?? 0;
    const deadline = Date.now() + 30_000;
    while (inFlight() < 2 * READERS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(inFlight()).toBeGreaterThanOrEqual(2 * READERS);

    // Several writers awaiting one event at a time: the readers are at the tail for most events,
    // and an fsync group often holds appends of several writers (a woken read gets several records).
    const writers = Array.from({ length: WRITERS }, () => client.createWriter(stream));
    await Promise.all(
      writers.map(async (writer, w) => {
        for (const [index, text] of written(w).entries()) {
          await writer.write(`key-${w}`, text);
          if (w === 0 && index === EVENTS_PER_WRITER / 2) await client.scaleStream(stream, { segments: 3 });
        }
        await writer.close();
      }),
    );
    await client.sealStream(stream);

    for (const seen of await Promise.all(reading)) {
      expect(seen).toHaveLength(WRITERS * EVENTS_PER_WRITER);
      for (let w = 0; w < WRITERS; w++) expect(seen.filter((text) => text.startsWith(`w${w}-`))).toEqual(written(w));
    }
  });
});
