import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeBody } from './body-codec.js';
import { COMMAND_ENTRIES, entryByName, type Command, type CommandEntry, type CommandOf, type FieldKind } from './commands.js';
import { ProtocolError } from './errors.js';
import { expectProtocolError } from '../test-support/expect-protocol-error.js';
import { encodeEventBlock, eventsOf } from './event-block.js';
import {
  decodeFrame,
  decodeFrameBody,
  encodeFrame,
  encodeFrameParts,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  type DecodedFrame,
  type RawFrame,
} from './frame.js';
import { DEFAULT_LIMITS } from './limits.js';
import { MAX_FLOW_ID, MAX_SEQUENCE } from './request-id.js';

// ---- helpers ---------------------------------------------------------------------------------------

interface Sent {
  flowId: number;
  sequence: number;
  command: Command;
}

function encodeAll(frames: readonly Sent[]): Buffer {
  return Buffer.concat(frames.map((frame) => encodeFrame(frame.flowId, frame.sequence, frame.command)));
}

/** Splits bytes at the given cut positions (any order, duplicates allowed, taken modulo the length + 1). */
function cut(bytes: Buffer, positions: readonly number[]): Buffer[] {
  const cuts = [...new Set(positions.map((position) => position % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, bytes.byteLength]) {
    chunks.push(bytes.subarray(from, to)); // empty chunks included on purpose
    from = to;
  }
  return chunks;
}

function decodeChunks(chunks: readonly Buffer[], decoder = new FrameDecoder()): DecodedFrame[] {
  const decoded: DecodedFrame[] = [];
  for (const chunk of chunks) decoder.push(chunk, (raw) => decoded.push(decodeFrameBody(raw)));
  return decoded;
}

/** A frame with a correct length prefix around any type code and body bytes. */
function rawFrame(type: number, body: Uint8Array, flowId = 1, sequence = 1): Buffer {
  const frame = Buffer.alloc(FRAME_HEADER_SIZE + body.byteLength);
  frame.writeUInt32BE(frame.byteLength - 4, 0);
  frame.writeUInt16BE(type, 4);
  frame.writeUInt32BE(flowId, 8);
  frame.writeUInt32BE(sequence, 12);
  frame.set(body, FRAME_HEADER_SIZE);
  return frame;
}

// ---- arbitraries, generated from the command table --------------------------------------------------

const fieldArbitraries: Record<FieldKind, fc.Arbitrary<unknown>> = {
  uint: fc.oneof(fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat()),
  int: fc.oneof(fc.constantFrom(-1, 0, Number.MAX_SAFE_INTEGER), fc.integer({ min: -1, max: 2 ** 40 })),
  string: fc.string({ unit: 'binary', maxLength: 40 }),
  'string?': fc.option(fc.string({ unit: 'binary', maxLength: 20 }), { nil: null }),
  bytes: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  bool: fc.boolean(),
  strings: fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }),
  stringLists: fc.array(fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), { maxLength: 4 }),
  attr: fc.oneof(fc.constant(null), fc.maxSafeNat(), fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes))),
};

function commandArbitrary(entry: CommandEntry): fc.Arbitrary<Command> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  entry.fieldNames.forEach((name, index) => (fields[name] = fieldArbitraries[entry.fieldKinds[index]!]));
  return fc.record(fields).map((values) => ({ type: entry.name, ...values }) as Command);
}

const anyCommand = fc.oneof(...COMMAND_ENTRIES.map(commandArbitrary));
const anySent: fc.Arbitrary<Sent> = fc.record({
  flowId: fc.oneof(fc.constantFrom(0, 1, MAX_FLOW_ID), fc.integer({ min: 0, max: MAX_FLOW_ID })),
  sequence: fc.oneof(fc.constantFrom(0, 0x8000_0000, MAX_SEQUENCE), fc.integer({ min: 0, max: MAX_SEQUENCE })),
  command: anyCommand,
});

afterEach(() => {
  vi.restoreAllMocks();
});

// ---- header -----------------------------------------------------------------------------------------

describe('frame header', () => {
  it('is 16 bytes big-endian: length of the rest, type, flags, flowId, sequence', () => {
    const frame = encodeFrame(MAX_FLOW_ID, MAX_SEQUENCE, { type: 'SegmentCreated', segment: 'shop/orders/0' });
    expect(FRAME_HEADER_SIZE).toBe(16);
    expect(frame.readUInt32BE(0)).toBe(frame.byteLength - 4);
    expect(frame.readUInt16BE(4)).toBe(entryByName('SegmentCreated').code);
    expect(frame.readUInt16BE(6)).toBe(0);
    expect(frame.readUInt32BE(8)).toBe(MAX_FLOW_ID);
    expect(frame.readUInt32BE(12)).toBe(MAX_SEQUENCE);
    expect(decodeBody(frame.readUInt16BE(4), frame.subarray(16))).toEqual({ type: 'SegmentCreated', segment: 'shop/orders/0' });
  });

  it('is delivered with its flags by the decoder', () => {
    const frame = encodeFrame(3, 4, { type: 'KeepAlive' });
    frame.writeUInt16BE(0xbeef, 6);
    const raw: RawFrame[] = [];
    new FrameDecoder().push(frame, (f) => raw.push(f));
    expect(raw[0]).toMatchObject({ type: entryByName('KeepAlive').code, flags: 0xbeef, flowId: 3, sequence: 4 });
  });
});

// ---- incremental decoder ----------------------------------------------------------------------------

const SAMPLE: Sent[] = [
  { flowId: 0, sequence: 0, command: { type: 'Hello', minVersion: 1, maxVersion: 1, clusterFingerprint: null, node: '127.0.0.1:9090' } },
  { flowId: 5, sequence: MAX_SEQUENCE, command: { type: 'KeepAlive' } },
  {
    flowId: MAX_FLOW_ID,
    sequence: 0x8000_0000,
    command: {
      type: 'AppendBlock',
      segment: 'shop/orders/1',
      writerId: 'w',
      lastEventNumber: 9,
      eventCount: 2,
      data: encodeEventBlock([Buffer.from('e1'), Buffer.from('second event')]),
    },
  },
  { flowId: 2, sequence: 7, command: { type: 'SegmentIsTruncated', segment: 'shop/orders/1', startOffset: Number.MAX_SAFE_INTEGER } },
];

describe('FrameDecoder', () => {
  it('decodes frames fed one byte at a time', () => {
    const bytes = encodeAll(SAMPLE);
    const decoder = new FrameDecoder();
    const decoded = decodeChunks(cut(bytes, Array.from({ length: bytes.byteLength }, (_, i) => i)), decoder);
    expect(decoded).toEqual(SAMPLE);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes a stream split in two at every byte boundary', () => {
    const bytes = encodeAll(SAMPLE);
    for (let at = 0; at <= bytes.byteLength; at++) {
      expect(decodeChunks([bytes.subarray(0, at), bytes.subarray(at)]), `split at ${at}`).toEqual(SAMPLE);
    }
  });

  it('decodes a stream split in three at every pair of boundaries', () => {
    const bytes = encodeAll(SAMPLE.slice(0, 2));
    for (let first = 0; first <= bytes.byteLength; first++) {
      for (let second = first; second <= bytes.byteLength; second++) {
        expect(decodeChunks(cut(bytes, [first, second]))).toEqual(SAMPLE.slice(0, 2));
      }
    }
  });

  it('decodes many frames in one chunk, in order', () => {
    const sent: Sent[] = Array.from({ length: 1000 }, (_, i) => ({
      flowId: 1 + (i % 7),
      sequence: i,
      command: { type: 'ReadSegment', segment: `s/${i}`, offset: i * 100, maxBytes: 65536, waitMs: 0, token: null },
    }));
    expect(decodeChunks([encodeAll(sent)])).toEqual(sent);
  });

  it('reports the bytes it holds for a frame still arriving', () => {
    const frame = encodeAll(SAMPLE.slice(2, 3));
    const decoder = new FrameDecoder();
    const seen: RawFrame[] = [];
    decoder.push(frame.subarray(0, 2), (f) => seen.push(f));
    expect(decoder.bufferedBytes).toBe(2);
    decoder.push(frame.subarray(2, 20), (f) => seen.push(f));
    expect(decoder.bufferedBytes).toBe(20);
    decoder.push(frame.subarray(20), (f) => seen.push(f));
    expect(seen).toHaveLength(1);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes any sequence of frames re-chunked at random boundaries (property)', () => {
    fc.assert(
      fc.property(fc.array(anySent, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (sent, positions) => {
        const bytes = encodeAll(sent);
        const decoder = new FrameDecoder();
        expect(decodeChunks(cut(bytes, positions), decoder)).toEqual(sent);
        expect(decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 250 },
    );
  });

  it('delivers a frame lying inside one chunk as a view of that chunk, down to the event payloads', () => {
    const bytes = encodeAll(SAMPLE);
    const chunk = Buffer.alloc(bytes.byteLength); // its own ArrayBuffer, not the shared pool
    bytes.copy(chunk);
    const raw: RawFrame[] = [];
    new FrameDecoder().push(chunk, (f) => raw.push(f));
    expect(raw).toHaveLength(SAMPLE.length);
    for (const frame of raw) expect(frame.body.buffer).toBe(chunk.buffer);

    const append = decodeFrameBody(raw[2]!).command;
    if (append.type !== 'AppendBlock') throw new Error(`unexpected ${append.type}`);
    expect(append.data.buffer).toBe(chunk.buffer);
    const [first] = eventsOf(append.data);
    expect(first!.buffer).toBe(chunk.buffer);
    chunk[first!.byteOffset] = 'E'.charCodeAt(0);
    expect(first!.toString()).toBe('E1');
  });

  it('assembles a frame spanning chunks by copying each byte a bounded number of times', () => {
    // A length prefix cut after 2 bytes, then the rest in 64 KiB chunks, as TCP may deliver it.
    const data = Buffer.alloc(4 * 1024 * 1024, 7);
    const command: Command = { type: 'SegmentRead', segment: 's', offset: 0, data, length: data.byteLength, endOfSegment: false };
    const frame = encodeFrame(1, 1, command);
    const chunks = [frame.subarray(0, 2)];
    for (let at = 2; at < frame.byteLength; at += 65536) chunks.push(frame.subarray(at, at + 65536));

    const concat = vi.spyOn(Buffer, 'concat');
    const decoded = decodeChunks(chunks);
    const copied = concat.mock.results.reduce((sum, result) => sum + (result.value as Buffer).byteLength, 0);
    expect(decoded).toHaveLength(1);
    const got = decoded[0]!.command;
    if (got.type !== 'SegmentRead') throw new Error(`unexpected ${got.type}`);
    expect(got.data.equals(data)).toBe(true);
    expect(copied).toBeLessThanOrEqual(2 * frame.byteLength);
  });
});

// ---- limits -----------------------------------------------------------------------------------------

describe('FrameDecoder limits', () => {
  it('refuses a 4 GB length prefix as soon as its 4 bytes arrive, without buffering', () => {
    const prefix = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    const decoder = new FrameDecoder();
    for (let i = 0; i < 3; i++) decoder.push(prefix.subarray(i, i + 1), () => expect.fail('no frame'));
    expect(decoder.bufferedBytes).toBe(3);
    expectProtocolError(() => decoder.push(prefix.subarray(3), () => expect.fail('no frame')), 'FRAME_TOO_LARGE');
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(4);
    // A failed decoder stays failed: it takes no more bytes.
    expectProtocolError(() => decoder.push(Buffer.alloc(1024), () => expect.fail('no frame')), 'FRAME_TOO_LARGE');
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(4);
  });

  it('refuses a 4 GB length prefix arriving whole with more data behind it', () => {
    const chunk = Buffer.alloc(65536, 0xab);
    chunk.writeUInt32BE(0xffff_ffff, 0);
    const decoder = new FrameDecoder();
    const error = expectProtocolError(() => decoder.push(chunk, () => expect.fail('no frame')), 'FRAME_TOO_LARGE');
    expect(error.message).toMatch(/exceeds the maximum frame size/);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('refuses a too-large frame behind a good one in the same chunk, after delivering the good one', () => {
    const good = encodeFrame(1, 1, { type: 'KeepAlive' });
    const bad = Buffer.from([0x7f, 0, 0, 0]);
    const seen: RawFrame[] = [];
    expectProtocolError(() => new FrameDecoder().push(Buffer.concat([good, bad]), (f) => seen.push(f)), 'FRAME_TOO_LARGE');
    expect(seen).toHaveLength(1);
  });

  it('accepts a frame of exactly maxFrameSize and refuses one byte more', () => {
    const frame = encodeFrame(1, 1, { type: 'SegmentRead', segment: 's', offset: 0, data: Buffer.alloc(1000), length: 0, endOfSegment: true });
    expect(decodeChunks([frame], new FrameDecoder({ maxFrameSize: frame.byteLength }))).toHaveLength(1);
    expectProtocolError(() => decodeChunks([frame], new FrameDecoder({ maxFrameSize: frame.byteLength - 1 })), 'FRAME_TOO_LARGE');
    expect(decodeFrame(frame, frame.byteLength).command.type).toBe('SegmentRead');
    expectProtocolError(() => decodeFrame(frame, frame.byteLength - 1), 'FRAME_TOO_LARGE');
  });

  it('uses a 16 MiB maximum frame size by default', () => {
    expect(DEFAULT_LIMITS.maxFrameSize).toBe(16 * 1024 * 1024);
    expect(DEFAULT_LIMITS.maxEventSize).toBe(8 * 1024 * 1024);
    const atLimit = Buffer.alloc(4);
    atLimit.writeUInt32BE(DEFAULT_LIMITS.maxFrameSize - 4, 0);
    const decoder = new FrameDecoder();
    decoder.push(atLimit, () => expect.fail('not whole yet'));
    expect(decoder.bufferedBytes).toBe(4);
    const overLimit = Buffer.alloc(4);
    overLimit.writeUInt32BE(DEFAULT_LIMITS.maxFrameSize - 3, 0);
    expectProtocolError(() => new FrameDecoder().push(overLimit, () => expect.fail('no frame')), 'FRAME_TOO_LARGE');
  });

  it.each([0, 1, 11])('refuses a length %i shorter than the header (FRAME_TOO_SHORT)', (length) => {
    const bytes = Buffer.alloc(32);
    bytes.writeUInt32BE(length, 0);
    expectProtocolError(() => new FrameDecoder().push(bytes, () => expect.fail('no frame')), 'FRAME_TOO_SHORT');
  });

  it('accepts a header with an empty body as a frame, whose body then fails to decode', () => {
    const frame = rawFrame(entryByName('KeepAlive').code, new Uint8Array(0));
    const raw: RawFrame[] = [];
    new FrameDecoder().push(frame, (f) => raw.push(f));
    expect(raw).toHaveLength(1);
    expect(raw[0]!.body.byteLength).toBe(0);
    expectProtocolError(() => decodeFrameBody(raw[0]!), 'MALFORMED_BODY');
  });

  it('refuses an unknown command type (UNKNOWN_COMMAND), with the request id still readable', () => {
    const frame = rawFrame(0xfffe, Buffer.from([0x90]), 9, 10);
    const raw: RawFrame[] = [];
    new FrameDecoder().push(frame, (f) => raw.push(f));
    expect(raw[0]).toMatchObject({ flowId: 9, sequence: 10 });
    expectProtocolError(() => decodeFrameBody(raw[0]!), 'UNKNOWN_COMMAND');
    expectProtocolError(() => decodeFrame(rawFrame(0, Buffer.from([0x90]))), 'UNKNOWN_COMMAND');
  });

  it('decodeFrame wants exactly one whole frame', () => {
    const frame = encodeFrame(1, 1, { type: 'KeepAlive' });
    expectProtocolError(() => decodeFrame(frame.subarray(0, frame.byteLength - 1)), 'MALFORMED_BODY');
    expectProtocolError(() => decodeFrame(Buffer.concat([frame, frame])), 'MALFORMED_BODY');
    expectProtocolError(() => decodeFrame(Buffer.concat([frame, Buffer.from([0])])), 'MALFORMED_BODY');
    expectProtocolError(() => decodeFrame(Buffer.alloc(0)), 'MALFORMED_BODY');
  });
});

// ---- hostile input ----------------------------------------------------------------------------------

/** Feeds bytes through the decoder and decodes every frame's body; only ProtocolError may escape. */
function feedHostile(chunks: readonly Buffer[], maxFrameSize?: number): void {
  const decoder = new FrameDecoder(maxFrameSize === undefined ? {} : { maxFrameSize });
  try {
    for (const chunk of chunks) decoder.push(chunk, (raw) => decodeFrameBody(raw));
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
  }
  // Whatever happened, nothing beyond one legal frame (plus the rest of the last chunk) is held.
  const largestChunk = Math.max(0, ...chunks.map((chunk) => chunk.byteLength));
  expect(decoder.bufferedBytes).toBeLessThanOrEqual((maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize) + largestChunk);
}

const KNOWN_CODES = COMMAND_ENTRIES.map((entry) => entry.code);

describe('hostile input never throws anything but ProtocolError', () => {
  it('random bytes, randomly chunked (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom(undefined, 64, 1024),
        (bytes, positions, maxFrameSize) => feedHostile(cut(Buffer.from(bytes), positions), maxFrameSize),
      ),
      { numRuns: 1000 },
    );
  });

  it('well-framed random bodies under known and unknown type codes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.oneof(fc.constantFrom(...KNOWN_CODES), fc.integer({ min: 0, max: 0xffff })),
            body: fc.uint8Array({ maxLength: 200 }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        (frames) => feedHostile([Buffer.concat(frames.map(({ type, body }) => rawFrame(type, body)))]),
      ),
      { numRuns: 1000 },
    );
  });

  it('valid frames with flipped bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(anySent, { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (sent, flips, positions) => {
          const bytes = encodeAll(sent);
          for (const { at, xor } of flips) bytes[at % bytes.byteLength]! ^= xor;
          feedHostile(cut(bytes, positions), 1 << 20);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('valid frames truncated anywhere leave a partial frame, never an exception', () => {
    const bytes = encodeAll(SAMPLE);
    for (let length = 0; length < bytes.byteLength; length++) feedHostile([bytes.subarray(0, length)]);
  });
});

// ---- keep the generated arbitraries honest -----------------------------------------------------------

it('the command arbitrary reaches every command in the table', () => {
  const seen = new Set(fc.sample(anyCommand, { numRuns: 2000, seed: 42 }).map((command) => command.type));
  expect([...seen].sort()).toEqual(COMMAND_ENTRIES.map((entry) => entry.name).sort());
});

describe('encodeFrameParts', () => {
  const MiB = 1024 * 1024;
  const readReply = (data: Buffer): CommandOf<'SegmentRead'> => ({
    type: 'SegmentRead',
    segment: 'hol/reads/0',
    offset: 4096,
    length: 1 << 30,
    endOfSegment: false,
    data,
  });

  it('gives the bytes encodeFrame gives, with trailing bytes as their own part, not copied', () => {
    const data = Buffer.from('\u0000\u0000\u0000\u0005hello\u0000\u0000\u0000\u0002hi');
    const reply = readReply(data);
    const parts = encodeFrameParts(7, 42, reply, 1);
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(data);
    expect(Buffer.concat(parts)).toEqual(encodeFrame(7, 42, reply));
    expect(decodeFrame(Buffer.concat(parts))).toMatchObject({ flowId: 7, sequence: 42, command: { ...reply, data } });
  });

  it('splits an append block and large reads alike, and keeps small or byte-less frames whole', () => {
    const append: CommandOf<'AppendBlock'> = { type: 'AppendBlock', segment: 's/a/0', writerId: 'w', lastEventNumber: 9, eventCount: 10, data: Buffer.alloc(70_000, 2) };
    const appendParts = encodeFrameParts(3, 4, append, 16 * 1024);
    expect(appendParts[1]).toBe(append.data);
    expect(Buffer.concat(appendParts).equals(encodeFrame(3, 4, append))).toBe(true);
    for (const bytes of [0, 1, 70_000, 3 * MiB]) {
      const reply = readReply(Buffer.alloc(bytes, 1));
      const parts = encodeFrameParts(1, 1, reply, 16 * 1024);
      expect(parts).toHaveLength(bytes >= 16 * 1024 ? 2 : 1);
      // Buffer.equals: vitest's deep equality walks megabytes byte by byte.
      expect(Buffer.concat(parts).equals(encodeFrame(1, 1, reply))).toBe(true);
    }
    const keepAlive = encodeFrameParts(0, 1, { type: 'KeepAlive' }, 0);
    expect(keepAlive).toEqual([encodeFrame(0, 1, { type: 'KeepAlive' })]);
  });
});
