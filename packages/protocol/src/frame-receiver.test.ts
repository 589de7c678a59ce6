import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';
import type { Command, CommandOf } from './commands.js';
import { expectProtocolError } from '../test-support/expect-protocol-error.js';
import { decodeFrameCommand, encodeFrame, type RawFrame } from './frame.js';
import { FrameReceiver } from './frame-receiver.js';

// ---- helpers ---------------------------------------------------------------------------------------

interface Received {
  sequence: number;
  command: Command;
  /** The memory the frame's bytes were in when it was emitted. */
  memory: ArrayBufferLike;
}

/**
 * Delivers one arrival of bytes as a socket with `onread` does: each read fills as much of target()
 * as the arrival still has, then says how much landed. Frames are decoded inside onFrame, as the
 * client's flows do; only the decoded commands are kept.
 */
function arrive(receiver: FrameReceiver, arrival: Buffer, into: Received[]): void {
  let at = 0;
  while (at < arrival.byteLength) {
    const target = receiver.target();
    const landed = arrival.copy(target, 0, at);
    if (landed === 0) throw new Error('target() gave no room');
    at += landed;
    receiver.received(landed, (frame: RawFrame) => into.push({ sequence: frame.sequence, command: decodeFrameCommand(frame), memory: frame.bytes.buffer }));
  }
}

function receiveAll(receiver: FrameReceiver, arrivals: readonly Buffer[]): Received[] {
  const received: Received[] = [];
  for (const arrival of arrivals) arrive(receiver, arrival, received);
  return received;
}

/** Splits bytes at the given positions (sorted, deduplicated, modulo the length + 1). */
function cut(bytes: Buffer, positions: readonly number[]): Buffer[] {
  const cuts = [...new Set(positions.map((position) => position % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, bytes.byteLength]) {
    pieces.push(bytes.subarray(from, to));
    from = to;
  }
  return pieces;
}

const read = (fill: number, bytes: number): CommandOf<'SegmentRead'> => ({
  type: 'SegmentRead',
  segment: 's',
  offset: fill,
  length: bytes,
  endOfSegment: false,
  data: Buffer.alloc(bytes, fill),
});
const appended = (length: number): CommandOf<'DataAppended'> => ({ type: 'DataAppended', segment: 's', writerId: 'w', lastEventNumber: length, length });
/** A large frame whose command carries no bytes (only strings). */
const streamList = (count: number): CommandOf<'StreamList'> => ({ type: 'StreamList', streams: Array.from({ length: count }, (_, i) => `scope/stream-${i}`) });

/** Small and large frames interleaved, with and without bytes: acks, small reads, 1 MiB-class reads, a large map. */
const MIXED: readonly Command[] = [
  appended(1),
  read(1, 100),
  read(2, 300 * 1024),
  appended(2),
  read(3, 20 * 1024),
  streamList(3000),
  read(4, 40 * 1024),
  appended(3),
  read(5, 70 * 1024),
];

const encodeAll = (commands: readonly Command[]): Buffer => Buffer.concat(commands.map((command, index) => encodeFrame(1, index, command)));
/** Commands with their bytes fields as digests: comparing large buffers field by field (toEqual) is slow. */
const digested = (commands: readonly Command[]): unknown[] =>
  commands.map((command) =>
    Object.fromEntries(
      Object.entries(command).map(([name, value]) => [name, Buffer.isBuffer(value) ? createHash('sha1').update(value).digest('hex') : value]),
    ),
  );
const commandsOf = (received: readonly Received[]): unknown[] => digested(received.map((frame) => frame.command));

// ---- decoding ----------------------------------------------------------------------------------------

describe('FrameReceiver', () => {
  it('decodes small and large frames interleaved, delivered in one arrival', () => {
    expect(commandsOf(receiveAll(new FrameReceiver(), [encodeAll(MIXED)]))).toEqual(digested(MIXED));
  });

  it('decodes them split in two at every byte boundary around each frame edge', () => {
    const bytes = encodeAll(MIXED);
    const edges: number[] = [];
    let at = 0;
    for (const [index, command] of MIXED.entries()) {
      at += encodeFrame(1, index, command).byteLength;
      edges.push(at);
    }
    for (const edge of edges) {
      for (let cutAt = Math.max(0, edge - 20); cutAt <= Math.min(bytes.byteLength, edge + 20); cutAt++) {
        expect(commandsOf(receiveAll(new FrameReceiver(), cut(bytes, [cutAt])))).toEqual(digested(MIXED));
      }
    }
  });

  it('decodes a stream of small frames split in two and three at every byte', () => {
    const small = [appended(1), read(1, 10), appended(2), read(2, 3), appended(3)];
    const bytes = encodeAll(small);
    for (let a = 0; a <= bytes.byteLength; a++) {
      expect(commandsOf(receiveAll(new FrameReceiver(), cut(bytes, [a])))).toEqual(digested(small));
      for (let b = a; b <= bytes.byteLength; b += 7) expect(commandsOf(receiveAll(new FrameReceiver(), cut(bytes, [a, b])))).toEqual(digested(small));
    }
  });

  it('decodes any mix of small and large frames, arriving in pieces of any size (property)', () => {
    const anyCommand = fc.oneof(
      fc.nat({ max: 1000 }).map(appended),
      fc.tuple(fc.integer({ min: 1, max: 250 }), fc.nat({ max: 200 * 1024 })).map(([fill, bytes]) => read(fill, bytes)),
      fc.integer({ min: 1, max: 4000 }).map(streamList),
    );
    fc.assert(
      fc.property(fc.array(anyCommand, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 30 }), (commands, cuts) => {
        const receiver = new FrameReceiver({ buffers: new BufferPool(8 * 1024 * 1024, 64 * 1024) });
        expect(commandsOf(receiveAll(receiver, cut(encodeAll(commands), cuts)))).toEqual(digested(commands));
        expect(receiver.bufferedBytes).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('reports the bytes it holds for a frame still arriving', () => {
    const receiver = new FrameReceiver();
    const small = encodeFrame(1, 1, appended(1));
    const large = encodeFrame(1, 2, read(1, 100 * 1024));
    receiveAll(receiver, [small.subarray(0, 3)]);
    expect(receiver.bufferedBytes).toBe(3);
    receiveAll(receiver, [small.subarray(3), large.subarray(0, 40_000)]);
    expect(receiver.bufferedBytes).toBe(40_000);
    receiveAll(receiver, [large.subarray(40_000)]);
    expect(receiver.bufferedBytes).toBe(0);
  });
});

// ---- memory ------------------------------------------------------------------------------------------

describe('FrameReceiver memory', () => {
  it('reads the rest of a large frame straight into the buffer the frame is emitted in', () => {
    const receiver = new FrameReceiver();
    const frame = encodeFrame(1, 1, read(9, 300 * 1024));
    const received: Received[] = [];
    arrive(receiver, frame.subarray(0, 1000), received);
    const target = receiver.target();
    expect(target.byteLength).toBe(frame.byteLength - 1000);
    arrive(receiver, frame.subarray(1000), received);
    expect(received).toHaveLength(1);
    expect(received[0]!.memory).toBe(target.buffer);
  });

  it('reuses one read buffer for small frames, and copies out those whose command carries bytes', () => {
    const receiver = new FrameReceiver();
    const chunk = receiver.target().buffer;
    const received = receiveAll(receiver, [encodeAll([appended(1), read(1, 100)]), encodeAll([appended(2), read(2, 100)])]);
    expect(receiver.target().buffer).toBe(chunk);
    expect(received.map((frame) => frame.memory === chunk)).toEqual([true, false, true, false]);
  });

  it('a small read kept after later reads keeps its bytes (the reused read buffer never reaches a decoded command)', () => {
    const receiver = new FrameReceiver();
    const kept = receiveAll(receiver, [encodeAll([read(1, 5000), appended(1)])]);
    // Later arrivals land in the same read buffer, over the bytes the first read came in.
    receiveAll(receiver, [encodeAll([read(2, 5000), read(3, 5000), appended(2)])]);
    const first = kept[0]!.command as CommandOf<'SegmentRead'>;
    expect(first.data.equals(Buffer.alloc(5000, 1))).toBe(true);
  });

  it('takes large frames from its pool: one without bytes goes back at once, one with bytes only when its consumer hands it back', () => {
    const buffers = new BufferPool(8 * 1024 * 1024, 64 * 1024);
    const receiver = new FrameReceiver({ buffers });
    const [map] = receiveAll(receiver, [encodeFrame(1, 1, streamList(5000))]);
    expect(buffers.pooledBytes).toBeGreaterThan(0); // decoded and handed back by the receiver
    const [first] = receiveAll(receiver, [encodeFrame(1, 2, read(1, 300 * 1024))]);
    const [kept] = receiveAll(receiver, [encodeFrame(1, 3, read(2, 300 * 1024))]);
    expect(kept!.memory).not.toBe(first!.memory);
    buffers.giveBack((first!.command as CommandOf<'SegmentRead'>).data);
    const [third] = receiveAll(receiver, [encodeFrame(1, 4, read(3, 300 * 1024))]);
    expect(third!.memory).toBe(first!.memory);
    expect((kept!.command as CommandOf<'SegmentRead'>).data.every((byte) => byte === 2)).toBe(true);
    expect((third!.command as CommandOf<'SegmentRead'>).data.every((byte) => byte === 3)).toBe(true);
    expect(map!.command).toEqual(streamList(5000));
  });
});

// ---- limits ------------------------------------------------------------------------------------------

describe('FrameReceiver limits', () => {
  const prefix = (length: number): Buffer => {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(length);
    return bytes;
  };

  it('refuses a length prefix over maxFrameSize as soon as it arrives, and stays failed', () => {
    const receiver = new FrameReceiver({ maxFrameSize: 1024 * 1024 });
    expectProtocolError(() => receiveAll(receiver, [prefix(0xffff_ffff)]), 'FRAME_TOO_LARGE');
    expectProtocolError(() => receiveAll(receiver, [encodeFrame(1, 1, appended(1))]), 'FRAME_TOO_LARGE');
  });

  it('refuses a length shorter than the header, after delivering the good frame before it', () => {
    const receiver = new FrameReceiver();
    const received: Received[] = [];
    expectProtocolError(() => arrive(receiver, Buffer.concat([encodeFrame(1, 1, appended(1)), prefix(3)]), received), 'FRAME_TOO_SHORT');
    expect(commandsOf(received)).toEqual(digested([appended(1)]));
  });

  it('accepts a frame of exactly maxFrameSize and refuses one byte more', () => {
    const frame = encodeFrame(1, 1, read(1, 200 * 1024));
    expect(commandsOf(receiveAll(new FrameReceiver({ maxFrameSize: frame.byteLength }), [frame]))).toEqual(digested([read(1, 200 * 1024)]));
    expectProtocolError(() => receiveAll(new FrameReceiver({ maxFrameSize: frame.byteLength - 1 }), [frame]), 'FRAME_TOO_LARGE');
  });
});
