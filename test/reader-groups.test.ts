import { describe, expect, it } from 'vitest';
import { NoSuchReaderGroupError, NoSuchStreamError, ReaderIdInUseError, SluiceClient, type ReaderGroupDescription } from '@sluice/client';
import { startGroupReader, type DeliveredEvent, type GroupReaderProcess } from './helpers/group-reader-process.js';
import { useServerWithClient } from './helpers/server-with-client.js';

const SEGMENTS = 12;
const SESSION_TIMEOUT_MS = 3_000;

async function waitFor<T>(what: string, check: () => Promise<T | null | false> | T | null | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The group's description, or null while no reader has created it yet. */
async function describeGroup(client: SluiceClient, stream: string, group: string): Promise<ReaderGroupDescription | null> {
  try {
    return await client.describeReaderGroup(stream, group);
  } catch (error) {
    if (error instanceof NoSuchReaderGroupError) return null;
    throw error;
  }
}

const counts = (description: ReaderGroupDescription): number[] =>
  Object.values(description.readers)
    .map((segments) => segments.length)
    .sort((a, b) => a - b);

function delivered(readers: GroupReaderProcess[]): DeliveredEvent[] {
  return readers.flatMap((reader) => reader.events);
}

/** How often each written event was delivered, over all readers. */
function deliveries(readers: GroupReaderProcess[], written: number): number[] {
  const times = new Array<number>(written).fill(0);
  for (const event of delivered(readers)) times[Number(event.data.slice(1))]! += 1;
  return times;
}

describe('reader groups (real server, reader processes)', () => {
  const running = useServerWithClient();
  let streamNumber = 0;

  /** A fresh stream of 12 segments and a writer that writes e<n> events spread over every segment. */
  async function freshStream(): Promise<{ stream: string; write: (count: number) => Promise<void>; written: () => number }> {
    const stream = `groups/s${++streamNumber}`;
    await running.client.createStream(stream, { segments: SEGMENTS });
    const writer = running.client.createWriter(stream);
    let next = 0;
    return {
      stream,
      written: () => next,
      write: async (count) => {
        const writes: Array<Promise<void>> = [];
        for (let index = 0; index < count; index++, next++) writes.push(writer.write(`key-${next}`, Buffer.from(`e${next}`)));
        await Promise.all(writes);
      },
    };
  }

  function reader(stream: string, readerId: string): GroupReaderProcess {
    return startGroupReader({ endpoints: [running.server.address], stream, group: 'g', readerId, sessionTimeoutMs: SESSION_TIMEOUT_MS, commitIntervalMs: 200 });
  }

  const allDelivered = (readers: GroupReaderProcess[], written: number) => () => delivered(readers).length >= written && deliveries(readers, written).every((n) => n >= 1);

  it('three readers balance 4/4/4 and get each event exactly once; a fourth joins and one leaves without duplicates', async () => {
    const { stream, write, written } = await freshStream();
    await write(600);
    const readers = ['r1', 'r2', 'r3'].map((id) => reader(stream, id));
    const balanced = (shape: number[]) => async () => {
      const description = await describeGroup(running.client, stream, 'g');
      return description !== null && description.unassigned.length === 0 && JSON.stringify(counts(description)) === JSON.stringify(shape) ? description : null;
    };
    const description = await waitFor('4/4/4', balanced([4, 4, 4]));
    expect(Object.keys(description.readers).sort()).toEqual(['r1', 'r2', 'r3']);
    await write(300);
    await waitFor('every event', allDelivered(readers, written()));

    // A fourth joins while events keep coming: 3/3/3/3, nothing twice.
    readers.push(reader(stream, 'r4'));
    await write(300);
    await waitFor('3/3/3/3', balanced([3, 3, 3, 3]));
    await write(300);
    await waitFor('every event after the join', allDelivered(readers, written()));
    expect(readers[3]!.events.length).toBeGreaterThan(0);

    // A graceful leave while events keep coming: back to 4/4/4, still nothing twice.
    const leaving = write(600);
    await readers[0]!.close();
    await waitFor('4/4/4 after the leave', balanced([4, 4, 4]));
    await leaving;
    await write(300);
    await waitFor('every event after the leave', allDelivered(readers, written()));
    expect(deliveries(readers, written()).filter((times) => times !== 1)).toEqual([]);
    // Within a segment, events arrive in offset order across hand-overs.
    for (const segment of new Set(delivered(readers).map((event) => event.segment))) {
      const offsets = delivered(readers)
        .filter((event) => event.segment === segment)
        .map((event) => event.offset);
      expect(new Set(offsets).size).toBe(offsets.length);
    }
    await Promise.all(readers.slice(1).map((each) => each.close()));
    const after = await running.client.describeReaderGroup(stream, 'g');
    expect(after.readers).toEqual({});
    expect(Object.values(after.lag).every((lag) => lag.bytes === 0)).toBe(true);
  });

  it('after kill -9 of a reader, the others take its segments within sessionTimeoutMs + 2 s and every event is delivered', async () => {
    const { stream, write, written } = await freshStream();
    await write(600);
    const readers = ['k1', 'k2', 'k3'].map((id) => reader(stream, id));
    await waitFor('4/4/4', async () => {
      const description = await describeGroup(running.client, stream, 'g');
      return description !== null && description.unassigned.length === 0 && JSON.stringify(counts(description)) === '[4,4,4]';
    });
    await waitFor('every event', allDelivered(readers, written()));
    const victim = readers[1]!;
    const victimSegments = (await running.client.describeReaderGroup(stream, 'g')).readers[victim.readerId]!;
    await victim.kill();
    const killedAt = Date.now();
    await write(600);
    const survivors = readers.filter((each) => each !== victim);
    // Taken over: the survivors hold all 12 and read events of the victim's segments again.
    await waitFor(
      "the victim's segments read again",
      async () => {
        const description = await running.client.describeReaderGroup(stream, 'g');
        const taken = description.readers[victim.readerId] === undefined && JSON.stringify(counts(description)) === '[6,6]';
        const reading = survivors.some((each) => each.events.some((event) => victimSegments.includes(event.segment)));
        return taken && reading;
      },
      SESSION_TIMEOUT_MS + 2_000,
    );
    expect(Date.now() - killedAt).toBeGreaterThan(0);
    await waitFor('every event after the kill', allDelivered(readers, written()));
    await Promise.all(survivors.map((each) => each.close()));
  });

  it('50 readers in one process share one pool within maxConnectionsPerEndpoint', async () => {
    const { stream, write, written } = await freshStream();
    const pooled = new SluiceClient({ endpoints: [running.server.address], maxConnectionsPerEndpoint: 2 });
    try {
      const readers = Array.from({ length: 50 }, (_, index) => pooled.createReader(stream, { group: 'many', readerId: `m${index}`, sessionTimeoutMs: 10_000 }));
      const seen = new Map<string, number>();
      const loops = readers.map(async (reader) => {
        for await (const event of reader) seen.set(event.data.toString(), (seen.get(event.data.toString()) ?? 0) + 1);
      });
      await waitFor('50 members, 12 segments held', async () => {
        const description = await describeGroup(pooled, stream, 'many');
        return description !== null && Object.keys(description.readers).length === 50 && description.unassigned.length === 0;
      });
      await write(600);
      await waitFor('every event', () => seen.size === written());
      expect([...seen.values()].every((times) => times === 1)).toBe(true);
      const held = Object.values((await pooled.describeReaderGroup(stream, 'many')).readers).map((segments) => segments.length);
      expect(Math.max(...held) - Math.min(...held)).toBeLessThanOrEqual(1);
      for (const endpoint of Object.values(pooled.stats().endpoints)) expect(endpoint.connections).toBeLessThanOrEqual(2);
      await Promise.all(readers.map((reader) => reader.close()));
      await Promise.all(loops);
    } finally {
      await pooled.close();
    }
  });

  it('reads the successors of a scaled stream after their predecessors, and ends when the sealed stream is read', async () => {
    const { stream, write, written } = await freshStream();
    await write(240);
    await running.client.scaleStream(stream, { segments: 5 });
    await running.client.sealStream(stream);
    const readers = ['a', 'b'].map((readerId) => running.client.createReader(stream, { group: 'scaled', readerId, sessionTimeoutMs: 10_000 }));
    const seen: string[] = [];
    // Both loops end by themselves: every segment, successors included, is read to its end.
    await Promise.all(
      readers.map(async (reader) => {
        for await (const event of reader) seen.push(event.data.toString());
      }),
    );
    expect(seen.sort()).toEqual(Array.from({ length: written() }, (_, index) => `e${index}`).sort());
    const description = await running.client.describeReaderGroup(stream, 'scaled');
    expect(description.readers).toEqual({});
    expect(description.positions).toEqual({});
  });

  it('refuses a second live process under one readerId, unknown streams and groups; keeps the group start', async () => {
    const { stream, write } = await freshStream();
    await write(24);
    const first = reader(stream, 'same');
    await waitFor('first reader joined', async () => Object.keys((await describeGroup(running.client, stream, 'g'))?.readers ?? {}).length === 1);
    const second = running.client.createReader(stream, { group: 'g', readerId: 'same', sessionTimeoutMs: SESSION_TIMEOUT_MS, from: 'tail' });
    await expect(second.next()).rejects.toBeInstanceOf(ReaderIdInUseError);
    expect((await running.client.describeReaderGroup(stream, 'g')).readers).toEqual({ same: expect.any(Array) });
    expect((await running.client.describeReaderGroup(stream, 'g')).from).toBe('head');
    await first.close();

    await expect(running.client.describeReaderGroup('groups/none', 'g')).rejects.toBeInstanceOf(NoSuchStreamError);
    await expect(running.client.describeReaderGroup(stream, 'nobody')).rejects.toBeInstanceOf(NoSuchReaderGroupError);
    expect(() => running.client.createReader(stream, { group: 'bad group!' })).toThrow(/group/);
    const orphan = running.client.createReader('groups/none', { group: 'g' });
    await expect(orphan.next()).rejects.toBeInstanceOf(NoSuchStreamError);
  });
});
