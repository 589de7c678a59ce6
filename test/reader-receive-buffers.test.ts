import { describe, expect, it } from 'vitest';
import type { EventReader, ReadEvent } from '@sluice/client';
import { useServerWithClient } from './helpers/server-with-client.js';

/** Events large enough that each 1 MiB read reply spans many socket chunks (assembled, not a view of one chunk). */
const EVENT_BYTES = 200 * 1024;
const EVENTS = 40;
const eventData = (index: number): Buffer => Buffer.alloc(EVENT_BYTES, index + 1);

async function readAll(reader: EventReader, count: number): Promise<ReadEvent[]> {
  const events: ReadEvent[] = [];
  const timer = setTimeout(() => reader.close(), 60_000);
  try {
    for await (const event of reader) {
      events.push(event);
      if (events.length === count) break;
    }
  } finally {
    clearTimeout(timer);
    await reader.close();
  }
  return events;
}

describe('read replies assembled in reused buffers (real server)', () => {
  const running = useServerWithClient();

  it('kept events keep their bytes: copies (copyEventData) while reply buffers are reused, views when they are not', async () => {
    const { client } = running;
    await client.createStream('e2e/receive-buffers', { segments: 1 });
    const writer = client.createWriter('e2e/receive-buffers');
    await Promise.all(Array.from({ length: EVENTS }, (_, index) => writer.write('k', eventData(index))));
    await writer.close();
    const frameBuffers = client.context.frameBuffers;

    // Copies: each finished reply's buffer goes back and takes a later reply, so a kept event that
    // pointed into it would show that reply's bytes by the end.
    const copied = await readAll(client.createReader('e2e/receive-buffers', { from: 'head', copyEventData: true, maxBufferedBytes: 2 * 1024 * 1024 }), EVENTS);
    expect(frameBuffers.pooledBytes).toBeGreaterThan(0);
    expect(copied.map((event, index) => event.data.equals(eventData(index)))).toEqual(copied.map(() => true));

    // Views (the default): their replies' buffers are never handed back, whatever the pool holds.
    const viewed = await readAll(client.createReader('e2e/receive-buffers', { from: 'head', maxBufferedBytes: 2 * 1024 * 1024 }), EVENTS);
    const again = await readAll(client.createReader('e2e/receive-buffers', { from: 'head', copyEventData: true, maxBufferedBytes: 2 * 1024 * 1024 }), EVENTS);
    expect(again).toHaveLength(EVENTS);
    expect(viewed.map((event, index) => event.data.equals(eventData(index)))).toEqual(viewed.map(() => true));
  });

  it('kept events of small replies keep their bytes: the socket read buffer, reused for every read, never reaches an event', async () => {
    const { client } = running;
    const small = (index: number): Buffer => Buffer.from(`event ${index} `.padEnd(100, String.fromCharCode(97 + (index % 26))));
    const count = 300;
    await client.createStream('e2e/receive-small', { segments: 1 });
    // A reader at the tail gets each event in a reply of its own: small frames, each read into the
    // connection's one reused read buffer, over the bytes of the replies before it.
    const reader = client.createReader('e2e/receive-small', { from: 'tail' });
    const reading = readAll(reader, count);
    const writer = client.createWriter('e2e/receive-small');
    for (let index = 0; index < count; index++) await writer.write('k', small(index));
    await writer.close();
    const kept = await reading;
    expect(kept.filter((event, index) => !event.data.equals(small(index)))).toEqual([]);
  });
});
