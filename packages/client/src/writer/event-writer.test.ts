import { describe, expect, it } from 'vitest';
import { EventTooLargeError, InvalidEventNumberError, InvalidOptionError, RetryWindowExceededError, SegmentIsSealedError } from '../errors.js';
import { commitPlan, initialLayout, KeyRouter, planScale, withPlan } from '../stream/stream-layout.js';
import { EventWriter } from './event-writer.js';
import { FakeNode } from '../../test-support/fake-node.js';

const STREAM = 'unit/stream';
const SEGMENT = 'unit/stream/0';
const payload = (index: number): Buffer => Buffer.from(String(index).padStart(100, '0'));

/** A 1000-byte event whose text is its index: 16 of them fill a 16 KiB block. */
const event = (index: number): Buffer => Buffer.from(String(index).padStart(1000, '0'));

/** Event 0 stored, then events 1–100 written while the node stores nothing: resolves once 5 blocks were lost in flight. */
async function writeWhileBlocksAreLost(node: FakeNode, writer: EventWriter): Promise<Array<Promise<void>>> {
  await writer.write('k', event(0));
  node.storing = false;
  const inFlight = Array.from({ length: 100 }, (_, index) => writer.write('k', event(1 + index)));
  while (node.lost.length < 5) await new Promise((resolve) => setTimeout(resolve, 1));
  return inFlight;
}

function setup(options: ConstructorParameters<typeof EventWriter>[2] = {}, settings = {}): { node: FakeNode; writer: EventWriter } {
  const node = new FakeNode();
  const writer = new EventWriter(node.context(settings), STREAM, options);
  return { node, writer };
}

describe('EventWriter batching', () => {
  it('sends a single awaited write at once, alone in its block, without waiting for the linger', async () => {
    const { node, writer } = setup({ lingerMs: 1_000 });
    const started = performance.now();
    await writer.write('k', 'one');
    await writer.write('k', 'two');
    expect(performance.now() - started).toBeLessThan(500);
    expect(node.appends.map((append) => append.eventCount)).toEqual([1, 1]);
    expect(node.events(SEGMENT)).toEqual(['one', 'two']);
  });

  it('puts writes of one tick into one block', async () => {
    const { node, writer } = setup();
    await Promise.all(Array.from({ length: 30 }, (_, index) => writer.write('k', payload(index))));
    expect(node.appends).toHaveLength(1);
    expect(node.appends[0]!.eventCount).toBe(30);
  });

  it('under load, lets 100-byte events gather into blocks of hundreds and pipelines them', async () => {
    const { node, writer } = setup();
    node.ackDelayMs = 3;
    const writes: Promise<void>[] = [];
    for (let round = 0; round < 40; round++) {
      for (let index = 0; index < 500; index++) writes.push(writer.write(`key-${index % 7}`, payload(round * 500 + index)));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(writes);
    const sizes = node.appends.map((append) => append.eventCount);
    const mean = sizes.reduce((sum, size) => sum + size, 0) / sizes.length;
    expect(mean).toBeGreaterThan(200);
    expect(node.maxPendingAppends).toBeGreaterThan(1);
    expect(node.events(SEGMENT)).toHaveLength(20_000);
  });

  it('keeps the order of one routing key', async () => {
    const { node, writer } = setup();
    node.segmentCount = 1;
    node.ackDelayMs = 1;
    const writes = Array.from({ length: 3_000 }, (_, index) => writer.write('k', String(index)));
    await Promise.all(writes);
    expect(node.events(SEGMENT)).toEqual(Array.from({ length: 3_000 }, (_, index) => String(index)));
  });
});

describe('EventWriter block buffers', () => {
  it('reuses the buffer of an acknowledged block for later blocks, never one still in flight', async () => {
    const { node, writer } = setup({ maxBlockBytes: 16 * 1024 });
    node.ackDelayMs = 2;
    const writes: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      for (let index = 0; index < 300; index++) writes.push(writer.write('k', payload(round * 300 + index)));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(writes);

    expect(node.maxPendingAppends).toBeGreaterThan(1);
    // Bytes a block was sent with stayed as they were until its reply came.
    expect(node.changedBeforeSettled).toBe(0);
    expect(node.events(SEGMENT)).toEqual(Array.from({ length: 6_000 }, (_, index) => payload(index).toString()));
    const buffers = new Set(node.appends.map((append) => append.sent.buffer));
    expect(buffers.size).toBeLessThan(node.appends.length);
  });

  it('keeps the buffer of a block that may be resent: resends carry the bytes first sent, and no later block takes its buffer', async () => {
    const { node, writer } = setup({ maxBlockBytes: 16 * 1024 }, { retryWindowMs: 10_000 });
    const inFlight = await writeWhileBlocksAreLost(node, writer);
    node.dropConnections();
    node.storing = true;
    await Promise.all(inFlight);
    // Written once the resent blocks were acknowledged, in rounds, so later blocks come after acks.
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 20 }, (_, index) => writer.write('k', event(101 + round * 20 + index))));
    }

    expect(node.events(SEGMENT)).toEqual(Array.from({ length: 301 }, (_, index) => event(index).toString()));
    expect(node.changedBeforeSettled).toBe(0);
    for (const lost of node.lost) {
      const resent = node.appends.find((append) => append.lastEventNumber === lost.lastEventNumber);
      expect(resent?.data.equals(lost.data)).toBe(true);
    }
    const resentBuffers = new Set(node.lost.map((append) => append.sent.buffer));
    const lastResent = Math.max(...node.lost.map((append) => append.lastEventNumber));
    const later = node.appends.filter((append) => append.lastEventNumber > lastResent);
    expect(later.length).toBeGreaterThan(5);
    expect(later.filter((append) => resentBuffers.has(append.sent.buffer))).toEqual([]);
  });
});

describe('EventWriter back-pressure', () => {
  it('bounds the bytes in flight and admits waiting writes in order as acknowledgements come', async () => {
    const { node, writer } = setup({ maxInflightBytes: 64 * 1024 });
    node.hold = true;
    const writes = Array.from({ length: 5_000 }, (_, index) => writer.write('k', payload(index)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const held = writer.stats();
    expect(held.inflightBytes).toBeLessThanOrEqual(64 * 1024);
    expect(held.queuedWrites).toBeGreaterThan(4_000);
    const release = setInterval(() => node.release(), 2);
    await Promise.all(writes);
    clearInterval(release);
    expect(writer.stats().peakInflightBytes).toBeLessThanOrEqual(64 * 1024);
    expect(node.events(SEGMENT)).toEqual(Array.from({ length: 5_000 }, (_, index) => payload(index).toString()));
  });

  it('lets an event larger than the whole budget go alone', async () => {
    const { writer } = setup({ maxInflightBytes: 1_000 });
    await Promise.all([writer.write('k', Buffer.alloc(5_000)), writer.write('k', Buffer.alloc(5_000))]);
    expect(writer.stats().peakInflightBytes).toBe(4 + 13 + 'k'.length + 5_000); // length, envelope, key, data
  });
});

describe('EventWriter exactly once', () => {
  it('after a connection loss, sets up again, skips what the node stored and resends the rest in order', async () => {
    const { node, writer } = setup();
    node.ackDelayMs = 2;
    const writes: Promise<void>[] = [];
    for (let round = 0; round < 30; round++) {
      for (let index = 0; index < 100; index++) writes.push(writer.write('k', String(round * 100 + index)));
      if (round % 5 === 4) node.dropConnections();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(writes);
    expect(node.events(SEGMENT)).toEqual(Array.from({ length: 3_000 }, (_, index) => String(index)));
    const stats = writer.stats();
    expect(stats.reconnects).toBeGreaterThan(0);
    expect(node.emitted.some(({ event }) => event === 'reconnecting')).toBe(true);
  });

  it('after an outage that lost full blocks in flight, resends them in order before any new block', async () => {
    const { node, writer } = setup({ maxBlockBytes: 16 * 1024 }, { retryWindowMs: 10_000 });
    const inFlight = await writeWhileBlocksAreLost(node, writer);
    node.down = true;
    node.dropConnections();
    // Written during the outage: new blocks, numbered after the lost ones.
    const during = Array.from({ length: 50 }, (_, index) => writer.write('k', event(101 + index)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const sentBefore = node.appends.length;
    node.storing = true;
    node.down = false;
    await Promise.all([...inFlight, ...during]);

    expect(node.events(SEGMENT)).toEqual(Array.from({ length: 151 }, (_, index) => event(index).toString()));
    // The lost blocks go again first, whole and in order; new blocks follow, each once.
    const lostNumbers = node.lost.map((append) => append.lastEventNumber);
    const after = node.appends.slice(sentBefore).map((append) => append.lastEventNumber);
    expect(after.slice(0, lostNumbers.length)).toEqual(lostNumbers);
    expect(after).toEqual([...after].sort((a, b) => a - b));
    expect(new Set(after).size).toBe(after.length);
    expect(writer.stats().blocksResent).toBe(lostNumbers.length);
  });

  it('after acks were lost with the connection, settles what the node stored from its setup and resends only the rest', async () => {
    const { node, writer } = setup({ maxBlockBytes: 16 * 1024 }, { retryWindowMs: 10_000 });
    const until = async (done: () => boolean): Promise<void> => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 1));
    };
    await writer.write('k', event(0));
    // Stored but never acknowledged, then neither stored nor acknowledged.
    node.answering = false;
    const stored = Array.from({ length: 40 }, (_, index) => writer.write('k', event(1 + index)));
    await until(() => node.events(SEGMENT).length === 41);
    node.storing = false;
    const lost = Array.from({ length: 40 }, (_, index) => writer.write('k', event(41 + index)));
    await until(() => node.lost.length >= 2);
    let lostResolved = 0;
    for (const write of lost) void write.then(() => (lostResolved += 1));

    // Back, but still storing nothing: what was stored resolves from the setup; the rest may not.
    const lostBefore = node.lost.length;
    node.answering = true;
    node.dropConnections();
    await Promise.all(stored);
    await until(() => node.lost.length > lostBefore);
    expect(node.lost.slice(lostBefore).every((append) => append.lastEventNumber > 40)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lostResolved).toBe(0);

    node.storing = true;
    node.dropConnections();
    await Promise.all(lost);
    expect(node.events(SEGMENT)).toEqual(Array.from({ length: 81 }, (_, index) => event(index).toString()));
  });

  it('stops with InvalidEventNumberError when the node holds events of its writer id past what it sent (another writer uses the id)', async () => {
    const { node, writer } = setup({}, { retryWindowMs: 10_000 });
    await writer.write('k', 'mine-0');
    await writer.write('k', 'mine-1');
    // Another process wrote event 2 under the same writer id (the very number we would send next); our connection drops.
    const [key] = [...node.writers.keys()];
    node.writers.set(key!, 2);
    node.dropConnections();
    const error = await writer.write('k', 'mine-2').then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(InvalidEventNumberError);
    expect((error as InvalidEventNumberError).lastEventNumber).toBe(2);
    expect(node.events(SEGMENT)).toEqual(['mine-0', 'mine-1']);
  });

  it('fails its writes with the node\'s non-retriable error (a gap in its event numbers) instead of retrying or moving on', async () => {
    const { node, writer } = setup({}, { retryWindowMs: 10_000 });
    await writer.write('k', 'e0');
    await writer.write('k', 'e1');
    // The node no longer knows this writer's events: the next block leaves a gap, which it refuses.
    const [key] = [...node.writers.keys()];
    node.writers.set(key!, -1);
    const failures = await Promise.all(['e2', 'e3'].map((data) => writer.write('k', data).then(() => null, (error: unknown) => error)));
    for (const failure of failures) expect(failure).toBeInstanceOf(InvalidEventNumberError);
    expect(node.events(SEGMENT)).toEqual(['e0', 'e1']);
    expect(node.setupsServed).toBe(1); // not retried: a gap stays a gap
  });

  it('sets up once after losing a connection with many blocks in flight, not once per failed block', async () => {
    const { node, writer } = setup({ maxBlockBytes: 16 * 1024 }, { retryWindowMs: 10_000 });
    await writer.write('k', 'first');
    expect(node.setupsServed).toBe(1);
    node.answering = false;
    const writes = Array.from({ length: 200 }, (_, index) => writer.write('k', event(index)));
    while (node.events(SEGMENT).length < 201) await new Promise((resolve) => setTimeout(resolve, 1));
    const inFlight = node.appends.length - 1;
    expect(inFlight).toBeGreaterThan(5);
    node.answering = true;
    node.dropConnections();
    await Promise.all(writes);
    expect(node.setupsServed).toBe(2);
  });

  it('keeps pending writes while the node is down and completes them when it is back', async () => {
    const { node, writer } = setup({}, { retryWindowMs: 10_000 });
    await writer.write('k', 'before');
    node.down = true;
    node.dropConnections();
    const pending = Array.from({ length: 10 }, (_, index) => writer.write('k', `during-${index}`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    node.down = false;
    await Promise.all(pending);
    expect(node.events(SEGMENT)).toEqual(['before', ...Array.from({ length: 10 }, (_, index) => `during-${index}`)]);
  });

  it('rejects pending writes with RetryWindowExceededError when the node stays away past the window', async () => {
    const { node, writer } = setup({ retryWindowMs: 150 });
    await writer.write('k', 'before');
    node.down = true;
    node.dropConnections();
    const started = Date.now();
    await expect(writer.write('k', 'lost')).rejects.toBeInstanceOf(RetryWindowExceededError);
    expect(Date.now() - started).toBeLessThan(2_000);
    // The writer is usable again once the node is back.
    node.down = false;
    await writer.write('k', 'after');
    expect(node.events(SEGMENT)).toEqual(['before', 'after']);
  });
});

describe('EventWriter redirects', () => {
  it('follows WrongHost to the owner it names, on setup and in the middle of a stream, keeping every event once', async () => {
    const { node, writer } = setup();
    node.owner = 'fake:2';
    await writer.write('k', 'first');
    const writes: Promise<void>[] = [];
    for (let index = 0; index < 500; index++) {
      writes.push(writer.write('k', String(index)));
      if (index === 250) node.owner = 'fake:3';
      if (index % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(writes);
    expect(node.events(SEGMENT)).toEqual(['first', ...Array.from({ length: 500 }, (_, index) => String(index))]);
    expect(node.routedOwner).toBe('fake:3');
    expect(node.flows.filter((flow) => !flow.closed).map((flow) => flow.endpoint)).toEqual(['fake:3']);
  });
});

describe('EventWriter across a scale', () => {
  it('moves what the sealed segment does not hold to the successors, each key in order, nothing twice', async () => {
    const { node, writer } = setup();
    node.ackDelayMs = 2;
    const keys = Array.from({ length: 12 }, (_, index) => `key-${index}`);
    const written = new Map(keys.map((key) => [key, [] as string[]]));
    const writes: Promise<void>[] = [];
    const write = (round: number): void => {
      for (const key of keys) {
        const event = `${key}:${round}`;
        written.get(key)!.push(event);
        writes.push(writer.write(key, event));
      }
    };
    for (let round = 0; round < 30; round++) {
      write(round);
      if (round === 15) {
        // A scale lands while blocks are in flight: some stored before the seal, the rest refused.
        const one = initialLayout(1);
        node.layout = commitPlan(withPlan(one, planScale(one, 3, 1)!));
        node.sealed.add(SEGMENT);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(writes);
    await writer.flush();

    const router = new KeyRouter(node.layout!);
    const before = node.events(SEGMENT);
    expect(before.length).toBeGreaterThan(0);
    for (const key of keys) {
      const successor = node.events(`${STREAM}/${router.segmentFor(key)}`).filter((event) => event.startsWith(`${key}:`));
      expect([...before.filter((event) => event.startsWith(`${key}:`)), ...successor]).toEqual(written.get(key));
    }
    expect(new Set(keys.map((key) => router.segmentFor(key))).size).toBeGreaterThan(1);
    expect(writer.stats().inflightBytes).toBe(0);
  });

  it('hands over once when every block in flight is refused by the seal: each event once, each key in order', async () => {
    const { node, writer } = setup({ maxBlockBytes: 16 * 1024 });
    const keys = Array.from({ length: 6 }, (_, index) => `key-${index}`);
    const written = new Map(keys.map((key) => [key, [] as string[]]));
    await writer.write(keys[0]!, `${keys[0]}:before`);
    written.get(keys[0]!)!.push(`${keys[0]}:before`);
    node.hold = true; // replies wait: many blocks are in flight when the seal lands
    const writes: Promise<void>[] = [];
    for (let round = 0; round < 40; round++) {
      for (const key of keys) {
        const event = `${key}:${round}:${'x'.repeat(400)}`;
        written.get(key)!.push(event);
        writes.push(writer.write(key, event));
      }
    }
    while (node.appends.length < 6) await new Promise((resolve) => setTimeout(resolve, 1));
    const one = initialLayout(1);
    node.layout = commitPlan(withPlan(one, planScale(one, 2, 1)!));
    node.sealed.add(SEGMENT);
    node.release();
    await Promise.all(writes);
    await writer.flush();

    const router = new KeyRouter(node.layout);
    const before = node.events(SEGMENT);
    for (const key of keys) {
      const successor = node.events(`${STREAM}/${router.segmentFor(key)}`).filter((event) => event.startsWith(`${key}:`));
      expect([...before.filter((event) => event.startsWith(`${key}:`)), ...successor]).toEqual(written.get(key));
    }
  });

  it('fails writes with SegmentIsSealedError when the stream itself was sealed', async () => {
    const { node, writer } = setup();
    await writer.write('k', 'before');
    node.sealed.add(SEGMENT);
    await expect(writer.write('k', 'after')).rejects.toBeInstanceOf(SegmentIsSealedError);
    expect(writer.stats().inflightBytes).toBe(0);
  });
});

describe('EventWriter errors and options', () => {
  it('rejects an event over maxEventSize at once', async () => {
    const { node, writer } = setup({ maxEventSize: 10 });
    await expect(writer.write('k', Buffer.alloc(11))).rejects.toBeInstanceOf(EventTooLargeError);
    expect(node.appends).toHaveLength(0);
  });

  it('fails pending writes with SegmentIsSealedError', async () => {
    const { node, writer } = setup();
    node.sealed.add(SEGMENT);
    const writes = [writer.write('k', 'a'), writer.write('k', 'b')];
    for (const write of writes) await expect(write).rejects.toBeInstanceOf(SegmentIsSealedError);
  });

  it('flush waits for everything written before it; close refuses later writes', async () => {
    const { node, writer } = setup({ lingerMs: 1_000 });
    node.ackDelayMs = 5;
    void writer.write('k', 'a');
    void writer.write('k', 'b');
    await writer.flush();
    expect(node.events(SEGMENT)).toEqual(['a', 'b']);
    await writer.close();
    await expect(writer.write('k', 'c')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(node.flows.every((flow) => flow.closed)).toBe(true);
  });

  it.each([
    ['maxInflightBytes', { maxInflightBytes: 0 }],
    ['maxBlockBytes', { maxBlockBytes: 10 }],
    ['lingerMs', { lingerMs: -1 }],
    ['retryWindowMs', { retryWindowMs: 1.5 }],
    ['enableConnectionPooling', { enableConnectionPooling: 'yes' as unknown as boolean }],
    ['writerId', { writerId: '' }],
  ])('validates %s', (option, options) => {
    const node = new FakeNode();
    expect(() => new EventWriter(node.context(), STREAM, options)).toThrow(InvalidOptionError);
    expect(() => new EventWriter(node.context(), STREAM, options)).toThrow(option);
  });

  it('validates the stream name', () => {
    expect(() => new EventWriter(new FakeNode().context(), 'no-scope', {})).toThrow(InvalidOptionError);
  });

  it('waits for segment writers to settle before resolving: writes resolve in order', async () => {
    const { node, writer } = setup();
    node.ackDelayMs = 1;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 200 }, (_, index) => writer.write('k', String(index)).then(() => order.push(index))));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});
