/**
 * The event envelope end to end: routing keys, timestamps and headers written by the real writer,
 * stored by a real node and read back by the real reader and revisioned client; bounds refused with
 * typed errors before anything is sent; a node refusing malformed envelopes from a raw peer while it
 * keeps serving; and fuzzed envelopes, valid and broken, against that node.
 */
import {
  HeadersTooLargeError,
  InvalidOptionError,
  type EventReader,
  type ReadEvent,
} from '@sluice/client';
import { encodeEventBlock, encodeEvents, ENVELOPE_FIXED_SIZE, MAX_HEADERS_BYTES, type EventHeaders } from '@sluice/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { RawClient, expectReply } from './helpers/raw-client.js';
import { useServerWithClient } from './helpers/server-with-client.js';

const running = useServerWithClient();
let streams = 0;

async function freshStream(segments = 1): Promise<string> {
  const stream = `envelope/s${++streams}`;
  await running.client.createStream(stream, { segments });
  return stream;
}

/** The first n events of a reader (headers read while the event is current), or a failure after timeoutMs. */
async function take(reader: EventReader, n: number, timeoutMs = 10_000): Promise<ReadEvent[]> {
  const events: ReadEvent[] = [];
  const deadline = setTimeout(() => reader.close(), timeoutMs);
  try {
    for await (const event of reader) {
      events.push({ ...event, headers: event.headers, data: Buffer.from(event.data) });
      if (events.length === n) break;
    }
  } finally {
    clearTimeout(deadline);
    reader.close();
  }
  expect(events).toHaveLength(n);
  return events;
}

/** Headers of exactly `size` encoded bytes. */
function headersOfSize(size: number): EventHeaders {
  return { big: 'v'.repeat(size - 3 - 'big'.length) };
}

describe('writer -> node -> reader', () => {
  it('delivers routing key, timestamp and headers with every event', async () => {
    const stream = await freshStream(4);
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`h-${i}`, `value ${i}`]));
    const written: Array<{ routingKey: string; headers: EventHeaders; data: string }> = [
      { routingKey: '', headers: {}, data: 'empty key, no headers' },
      { routingKey: 'customer-42', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, data: 'trace' },
      { routingKey: 'ключ-🔑-鍵', headers: { 'état': 'ünïcødé ✓', '名前': '値' }, data: 'unicode' },
      { routingKey: 'k'.repeat(1024), headers: many, data: '1 KiB key, 100 headers' },
      { routingKey: 'bound', headers: headersOfSize(MAX_HEADERS_BYTES), data: 'headers at the bound' },
    ];
    const writer = running.client.createWriter(stream);
    const before = Date.now();
    await Promise.all(written.map(({ routingKey, headers, data }) => writer.write(routingKey, data, { headers })));
    const after = Date.now();
    await writer.write('no-options', 'written without options');
    await writer.close();

    const read = await take(running.client.createReader(stream, { from: 'head' }), written.length + 1);
    const byData = new Map(read.map((event) => [event.data.toString(), event]));
    for (const { routingKey, headers, data } of written) {
      const event = byData.get(data)!;
      expect(event.routingKey).toBe(routingKey);
      expect(event.headers).toEqual(headers);
      expect(event.timestamp).toBeGreaterThanOrEqual(before);
      expect(event.timestamp).toBeLessThanOrEqual(after);
    }
    expect(byData.get('written without options')).toMatchObject({ routingKey: 'no-options', headers: {} });
  });

  it('refuses out-of-bound headers and keys at write() with typed errors naming the fix', async () => {
    const stream = await freshStream();
    const writer = running.client.createWriter(stream);
    const pastBound = await writer.write('k', 'x', { headers: headersOfSize(MAX_HEADERS_BYTES + 1) }).catch((error: unknown) => error);
    expect(pastBound).toBeInstanceOf(HeadersTooLargeError);
    expect(pastBound).toMatchObject({ code: 'HEADERS_TOO_LARGE', size: MAX_HEADERS_BYTES + 1, limit: MAX_HEADERS_BYTES });
    expect((pastBound as Error).message).toContain('move large values into the event data');
    const longName = await writer.write('k', 'x', { headers: { ['n'.repeat(256)]: 'v' } }).catch((error: unknown) => error);
    expect(longName).toMatchObject({ code: 'HEADERS_TOO_LARGE', size: 256, limit: 255 });
    const notString = await writer.write('k', 'x', { headers: { count: 3 as unknown as string } }).catch((error: unknown) => error);
    expect(notString).toBeInstanceOf(InvalidOptionError);
    expect((notString as Error).message).toContain('header "count" must be a string');
    const hugeKey = await writer.write('k'.repeat(65_536), 'x').catch((error: unknown) => error);
    expect(hugeKey).toMatchObject({ code: 'INVALID_OPTION', option: 'routingKey' });
    // Nothing was sent; the writer still works.
    await writer.write('k', 'fine', { headers: { ok: 'yes' } });
    await writer.close();
    expect((await running.client.getStreamInfo(stream)).segmentInfos[0]!.length).toBe(4 + ENVELOPE_FIXED_SIZE + 1 + 4 + 3 + 2 + 3);
  });

  it('gives revisioned entries their timestamp and headers', async () => {
    const stream = await freshStream();
    const rev = running.client.createRevisionedClient(stream);
    const start = await rev.fetchLatestRevision();
    const before = Date.now();
    const first = await rev.writeConditionally(start, 'v1', { headers: { author: 'ana' } });
    await rev.writeConditionally(first!, 'v2');
    const entries = [];
    for await (const entry of rev.readFrom(start)) entries.push(entry);
    expect(entries.map(({ data, headers }) => [data.toString(), headers])).toEqual([
      ['v1', { author: 'ana' }],
      ['v2', {}],
    ]);
    expect(entries[0]!.timestamp).toBeGreaterThanOrEqual(before);
    expect(entries[0]!.timestamp).toBeLessThanOrEqual(Date.now());
    rev.close();
  });
});

describe('a node and envelopes from a raw peer', () => {
  async function rawWriter(segment: string): Promise<{ raw: RawClient; append: (data: Buffer, eventCount?: number) => Promise<string> }> {
    const raw = await RawClient.connect(running.server.address);
    await raw.hello();
    expectReply(await raw.call({ type: 'SetupAppend', segment, writerId: 'raw', token: null }), 'AppendSetup');
    let lastEventNumber = -1;
    const append = async (data: Buffer, eventCount = 1): Promise<string> => {
      const reply = await raw.call({ type: 'AppendBlock', segment, writerId: 'raw', lastEventNumber: lastEventNumber + eventCount, eventCount, data });
      if (reply.type === 'DataAppended') lastEventNumber += eventCount;
      return reply.type === 'ErrorMessage' ? reply.code : reply.type;
    };
    return { raw, append };
  }

  it('refuses headers past the bound and broken envelopes with an error reply, and keeps the connection', async () => {
    const segment = `${await freshStream()}/0`;
    const { raw, append } = await rawWriter(segment);
    expect(await append(encodeEvents([{ headers: headersOfSize(MAX_HEADERS_BYTES + 1), data: 'x' }]))).toBe('HEADERS_TOO_LARGE');
    expect(await append(encodeEventBlock([Buffer.from('no envelope at all')]))).toBe('MALFORMED_ENVELOPE');
    expect(await append(encodeEvents([{ routingKey: 'ok', data: 'stored' }]))).toBe('DataAppended');
    raw.close();
  });

  it('stores every fuzzed envelope it accepts so that readers decode it, and refuses the rest', async () => {
    const stream = await freshStream();
    const { raw, append } = await rawWriter(`${stream}/0`);
    const unit = fc.constantFrom('a', 'é', '鍵', '🔑', '\u0000', '-');
    const event = fc.record({
      routingKey: fc.string({ maxLength: 40, unit }),
      timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 12, unit }), fc.string({ maxLength: 20, unit }), { maxKeys: 4 }),
      data: fc.uint8Array({ maxLength: 64 }),
    });
    /** A valid block, or one with a byte changed (a mutation may still leave it valid). */
    const block = fc.tuple(fc.array(event, { minLength: 1, maxLength: 4 }), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))));
    const accepted: string[] = [];
    await fc.assert(
      fc.asyncProperty(block, async ([events, mutation]) => {
        const data = encodeEvents(events);
        if (mutation !== null) {
          const at = mutation[0] % data.byteLength;
          data[at] = data[at]! ^ mutation[1];
        }
        const outcome = await append(data, events.length);
        if (mutation === null) expect(outcome).toBe('DataAppended');
        else expect(['DataAppended', 'MALFORMED_ENVELOPE', 'MALFORMED_BLOCK', 'EVENT_COUNT_MISMATCH', 'HEADERS_TOO_LARGE', 'EVENT_TOO_LARGE']).toContain(outcome);
        if (outcome === 'DataAppended' && mutation === null) accepted.push(...events.map((e) => Buffer.from(e.data).toString('hex')));
      }),
      { numRuns: 150, interruptAfterTimeLimit: 15_000 },
    );
    raw.close();
    // Whatever was stored decodes in a real reader; the unmutated events come back as written.
    const stored = await readToEnd(stream);
    const read = stored.map((e) => e.data.toString('hex'));
    for (const data of accepted) expect(read).toContain(data);
    for (const e of stored) expect(typeof e.headers).toBe('object');
  });
});

/** Every event of a one-segment stream, up to its length now. */
async function readToEnd(stream: string): Promise<ReadEvent[]> {
  const length = (await running.client.getStreamInfo(stream)).segmentInfos[0]!.length;
  const events: ReadEvent[] = [];
  const reader = running.client.createReader(stream, { from: 'head' });
  const deadline = setTimeout(() => reader.close(), 10_000);
  try {
    for await (const event of reader) {
      events.push({ ...event, headers: event.headers });
      if (event.position.offsets[0] === length) break;
    }
  } finally {
    clearTimeout(deadline);
    reader.close();
  }
  expect(events.at(-1)?.position.offsets[0]).toBe(length);
  return events;
}
