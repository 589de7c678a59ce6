/**
 * Fuzzing a real node over real sockets with fast-check: connections that send random bytes, frames
 * built from the command table with wrong field types, wrong field counts, huge counts and lengths,
 * negative and out-of-range numbers, unknown types, and valid frames mutated byte by byte, before
 * or after a valid Hello. Every connection must end in a reply or a close (never a hang), every frame
 * the node sends must decode, and afterwards the node serves a normal client with its memory back
 * near where it started. Bounded in runs and time (about 15 s).
 */
import { SluiceClient } from '@sluice/client';
import {
  COMMAND_ENTRIES,
  FRAME_HEADER_SIZE,
  LOCAL_VERSION_RANGE,
  SEGMENT_REQUESTS,
  encodeEventBlock,
  encodeFrame,
  type Command,
  type CommandEntry,
  type FieldKind,
} from '@sluice/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { MiB, canReadProcessMemory, processMemory, rssSettlesBelow } from './helpers/process-memory.js';
import { RawClient, expectReply } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const FRAME_TIMEOUT_MS = 300;
/** fast-check stops starting new runs after this; the run in progress finishes. */
const FUZZ_TIME_MS = Number(process.env.FUZZ_TIME_MS ?? 15_000);
/** Longer local runs: FUZZ_RUNS=20000 FUZZ_TIME_MS=300000 npx vitest run test/fuzz-protocol.test.ts */
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 600);

// --- a minimal msgpack writer, so bodies can hold what the protocol's own encoder refuses ----------

/** A msgpack value, or a container header that declares more items/bytes than follow. */
type Packable = null | boolean | number | string | Uint8Array | Packable[] | { declares: 'array' | 'map' | 'str' | 'bin'; count: number };

function pack(value: Packable, out: number[] = []): number[] {
  const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  if (value === null) out.push(0xc0);
  else if (typeof value === 'boolean') out.push(value ? 0xc3 : 0xc2);
  else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value < 128) out.push(value);
    else if (Number.isInteger(value) && value < 0 && value >= -32) out.push(0x100 + value);
    else if (Number.isSafeInteger(value)) {
      const bytes = Buffer.alloc(9);
      bytes[0] = value >= 0 ? 0xcf : 0xd3;
      if (value >= 0) bytes.writeBigUInt64BE(BigInt(value), 1);
      else bytes.writeBigInt64BE(BigInt(value), 1);
      out.push(...bytes);
    } else {
      const bytes = Buffer.alloc(9);
      bytes[0] = 0xcb;
      bytes.writeDoubleBE(value, 1);
      out.push(...bytes);
    }
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value);
    out.push(0xdb, ...u32(bytes.length), ...bytes);
  } else if (value instanceof Uint8Array) {
    out.push(0xc6, ...u32(value.length));
    for (const byte of value) out.push(byte);
  } else if (Array.isArray(value)) {
    out.push(0xdd, ...u32(value.length));
    for (const item of value) pack(item, out);
  } else {
    out.push({ array: 0xdd, map: 0xdf, str: 0xdb, bin: 0xc6 }[value.declares], ...u32(value.count));
  }
  return out;
}

function frameOf(type: number, flags: number, flowId: number, sequence: number, body: Uint8Array): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_SIZE);
  header.writeUInt32BE(FRAME_HEADER_SIZE - 4 + body.length, 0);
  header.writeUInt16BE(type, 4);
  header.writeUInt16BE(flags, 6);
  header.writeUInt32BE(flowId >>> 0, 8);
  header.writeUInt32BE(sequence >>> 0, 12);
  return Buffer.concat([header, body]);
}

// --- arbitraries ---------------------------------------------------------------------------------

const SEGMENTS = ['fuzz/s/0', 'fuzz/s/1', 'fuzz/s/#meta', 'fuzz/new/0', 'fuzz/s', 'nope', '', '../../etc/passwd', 'a/b/c/d/e'];

const anyValue: fc.Arbitrary<Packable> = fc.letrec<{ value: Packable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
    fc.constantFrom(-1, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53), 0.5, NaN, Infinity, -Infinity, 2 ** 64),
    fc.string({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.record({ declares: fc.constantFrom('array', 'map', 'str', 'bin'), count: fc.constantFrom(2 ** 32 - 1, 2 ** 31, 1 << 24, 100) }) as fc.Arbitrary<Packable>,
  ),
})).value;

/** A block of events: well framed, or claiming more bytes than it has. */
const eventBlock: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 5 }).map((events) => encodeEventBlock(events.map((event) => Buffer.from(event)))),
  fc.constantFrom(0xffff_ffff, 2 ** 31, 600 * 1024, 5).map((claimed) => {
    const bytes = Buffer.alloc(12, 0x61);
    bytes.writeUInt32BE(claimed, 0);
    return bytes;
  }),
  fc.uint8Array({ maxLength: 300 }),
);

function valueOfKind(kind: FieldKind): fc.Arbitrary<Packable> {
  switch (kind) {
    case 'uint':
    case 'int':
      return fc.oneof(fc.nat(4096), fc.constantFrom(0, 1, -1, -5, 2 ** 32, 2 ** 53 - 1, 1.5));
    case 'string':
    case 'string?':
      return fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 20 }), fc.constant(null), fc.constant('x'.repeat(20_000)));
    case 'bytes':
      return eventBlock;
    case 'bool':
      return fc.boolean();
    case 'strings':
      return fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 });
    case 'stringLists':
      return fc.array(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), { maxLength: 4 });
    case 'attr':
      return fc.oneof(fc.constant(null), fc.nat(), fc.uint8Array({ maxLength: 16 }));
  }
}

/** A body for entry: mostly fields of the right kinds, sometimes anything, sometimes a field too many or few. */
function bodyFor(entry: CommandEntry): fc.Arbitrary<Packable> {
  const field = (kind: FieldKind): fc.Arbitrary<Packable> => fc.oneof({ weight: 4, arbitrary: valueOfKind(kind) }, { weight: 1, arbitrary: anyValue });
  const fields = fc.tuple(...entry.fieldKinds.map(field)) as fc.Arbitrary<Packable[]>;
  return fc.oneof(
    { weight: 6, arbitrary: fields },
    { weight: 1, arbitrary: fields.map((values) => values.slice(0, -1)) },
    { weight: 1, arbitrary: fc.tuple(fields, anyValue).map(([values, extra]) => [...values, extra]) },
    { weight: 1, arbitrary: anyValue },
  );
}

const REQUEST_NAMES: ReadonlySet<string> = new Set(['KeepAlive', 'GetClusterMap', ...SEGMENT_REQUESTS]);
const REQUESTS = COMMAND_ENTRIES.filter((entry) => REQUEST_NAMES.has(entry.name));

const builtFrame: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...REQUESTS) }, { weight: 2, arbitrary: fc.constantFrom(...COMMAND_ENTRIES) }),
    fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.oneof(fc.constantFrom(0, 1, 2), fc.nat()),
    fc.nat(),
  )
  .chain(([entry, typeOverride, flags, flowId, sequence]) =>
    bodyFor(entry).map((body) => frameOf(typeOverride ?? entry.code, flags % 3 === 0 ? flags : 0, flowId, sequence, Uint8Array.from(pack(body)))),
  );

/** Values a field of that kind accepts, from the ordinary to the extreme. */
function validValueOfKind(kind: FieldKind): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'uint':
      return fc.oneof(fc.nat(5_000), fc.constantFrom(0, 2 ** 32, 2 ** 53 - 1));
    case 'int':
      return fc.oneof(fc.integer({ min: -1, max: 5_000 }), fc.constant(2 ** 53 - 1));
    case 'string':
      return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) });
    case 'string?':
      return fc.oneof(fc.constant(null), fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 300 }));
    case 'bytes':
      return eventBlock.map((bytes) => Buffer.from(bytes));
    case 'bool':
      return fc.boolean();
    case 'strings':
      return fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 });
    case 'stringLists':
      return fc.array(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), { maxLength: 4 });
    case 'attr':
      return fc.oneof(fc.constant(null), fc.nat(), fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)));
  }
}

/** A well-formed request (the node decodes it and serves it), by the protocol's own encoder. */
const validFrame: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(...REQUESTS), fc.integer({ min: 0, max: 3 }), fc.nat())
  .chain(([entry, flowId, sequence]) =>
    fc.tuple(...entry.fieldKinds.map(validValueOfKind)).map((values) => {
      const command = Object.fromEntries([['type', entry.name], ...entry.fieldNames.map((name, index) => [name, values[index]])]) as Command;
      return encodeFrame(flowId, sequence, command);
    }),
  );

/** A valid frame mutated: bytes flipped, cut short, or its length prefix replaced. */
const mutatedFrame: fc.Arbitrary<Buffer> = fc
  .tuple(builtFrame, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.constantFrom('flip', 'cut', 'length'))
  .map(([frame, flips, where, how]) => {
    const bytes = Buffer.from(frame);
    if (how === 'flip') for (const [at, value] of flips) bytes[at % bytes.length] = value;
    if (how === 'cut') return bytes.subarray(0, where % bytes.length);
    if (how === 'length') bytes.writeUInt32BE([0, 3, 11, 12, bytes.length + 64, 2 ** 20, 0xffff_ffff][where % 7]!, 0);
    return bytes;
  });

const chunk: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: validFrame },
  { weight: 3, arbitrary: builtFrame },
  { weight: 3, arbitrary: mutatedFrame },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 512 }).map((bytes) => Buffer.from(bytes)) },
);

/** One connection: a valid Hello first (most of the time), then a few chunks. */
const session = fc.record({
  hello: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
  chunks: fc.array(chunk, { minLength: 1, maxLength: 6 }),
});

// --- the run ---------------------------------------------------------------------------------------

let node: ServerProcess;
let bystander: RawClient;

beforeAll(async () => {
  node = await startServer({
    args: [
      '--hello-timeout', '500ms',
      '--frame-timeout', `${FRAME_TIMEOUT_MS}ms`,
      '--max-read-wait', '100ms',
      '--max-frame-size', '1MiB',
      '--max-event-size', '512KiB',
      '--max-unacked-bytes', '1MiB',
    ],
  });
  bystander = await RawClient.connect(node.address);
  await bystander.hello();
});

afterAll(() => {
  bystander?.close();
});

/** Sends one session; resolves how it ended. A sentinel KeepAlive at the end tells "still open" from "hung". */
async function play(chunks: Buffer[], hello: boolean): Promise<'answered' | 'closed'> {
  const client = await RawClient.connect(node.address, { timeoutMs: 5_000 });
  try {
    if (hello) {
      client.sendFrame(0, 0xffff_fff0, { type: 'Hello', ...LOCAL_VERSION_RANGE, clusterFingerprint: null, node: null });
    }
    for (const bytes of chunks) client.sendRaw(bytes);
    // Rejected when the connection closes first (fine), or on timeout: the node hung on this peer.
    const outcome = await client.request(0, 0xffff_fff1, { type: 'KeepAlive' }, FRAME_TIMEOUT_MS + 2_000).then(
      () => 'answered' as const,
      () => (client.closedYet ? ('closed' as const) : ('hung' as const)),
    );
    if (outcome === 'hung') throw new Error('the node neither answered nor closed the connection');
    expect(client.decodeError, 'the node sent a frame that does not decode').toBeNull();
    return outcome;
  } finally {
    client.close();
  }
}

it(
  'random and mutated frames never crash, hang or bloat the node',
  async () => {
    // Warm up the code paths a normal client uses, then take the baseline.
    const warm = new SluiceClient({ endpoints: [node.address] });
    await warm.createStream('fuzz/s', { segments: 2 });
    const warmWriter = warm.createWriter('fuzz/s');
    await Promise.all(Array.from({ length: 100 }, (_, n) => warmWriter.write(`k${n}`, `event-${n}`)));
    await warm.close();
    const start = processMemory(node.pid!).rss;

    const outcomes = { answered: 0, closed: 0 };
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(session, async ({ hello, chunks }) => {
        runs += 1;
        outcomes[await play(chunks, hello)] += 1;
        expect(node.isRunning).toBe(true);
        if (runs % 50 === 0) expectReply(await bystander.call({ type: 'KeepAlive' }, 0, 5_000), 'KeepAlive');
      }),
      {
        numRuns: FUZZ_RUNS,
        interruptAfterTimeLimit: FUZZ_TIME_MS,
        markInterruptAsFailure: false,
        // A failure prints its seed; FUZZ_SEED=<seed> replays it.
        seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31),
        verbose: 1,
      },
    );
    expect(runs).toBeGreaterThan(50);
    // Both kinds of outcome happened: the fuzz reached past the decoder and into the handlers.
    expect(outcomes.answered).toBeGreaterThan(0);
    expect(outcomes.closed).toBeGreaterThan(0);

    // The node is alive, never logged a crash, and serves a normal client.
    expect(node.isRunning).toBe(true);
    expect(node.output()).not.toMatch(/uncaught exception|unhandled rejection|"level":60/);
    // Every failure was the peer's and answered as such: no handler threw something unexpected.
    for (const msg of ['request failed', 'could not encode reply', 'could not send a reply']) expect(node.logCount(msg), msg).toBe(0);
    expectReply(await bystander.call({ type: 'KeepAlive' }, 0, 5_000), 'KeepAlive');
    const client = new SluiceClient({ endpoints: [node.address] });
    try {
      await client.createStream('fuzz/after', { segments: 2 });
      const writer = client.createWriter('fuzz/after');
      await Promise.all(['a', 'b', 'c'].map((event) => writer.write(event, event)));
      await writer.close();
      const reader = client.createReader('fuzz/after');
      const seen: string[] = [];
      for await (const event of reader) {
        seen.push(event.data.toString());
        if (seen.length === 3) break;
      }
      expect(seen.sort()).toEqual(['a', 'b', 'c']);
    } finally {
      await client.close();
    }
    if (canReadProcessMemory) {
      const limit = start + 200 * MiB;
      expect(await rssSettlesBelow(node.pid!, limit)).toBeLessThan(limit);
    }
  },
  FUZZ_TIME_MS + 30_000,
);

it('a valid Hello followed by garbage closes that connection only', async () => {
  const client = await RawClient.connect(node.address);
  expectReply(await client.hello(), 'Hello');
  client.sendRaw(Buffer.from(encodeFrame(1, 1, { type: 'KeepAlive' }).subarray(0, 6)));
  client.sendRaw(Buffer.alloc(64, 0xee));
  expect(await client.closesWithin(FRAME_TIMEOUT_MS + 3_000)).toBe(true);
  expectReply(await bystander.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
});
