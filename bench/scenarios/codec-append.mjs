// codec-append: encode + decode of append blocks of 100-byte events, in one process, no I/O.
//   sluice          EventBlockBuilder fills a 64 KiB block with enveloped events (key, time, no headers);
//                   encodeFrame(AppendBlock); the other side FrameDecoder.push + decodeFrameBody +
//                   validateEventBlock.
//   msgpackr-plain  msgpackr pack/unpack of the same command with the events as an array of Buffers.
//   raw-copy        copying the same framed events into one 64 KiB buffer: the physical limit.
import { pack, unpack } from 'msgpackr';
import { EVENT_SIZE, EVENTS_PER_WRITE, FRAMED_EVENT_SIZE, WRITE_SIZE } from '../lib/limits.mjs';
import { cpuLoop, payloads, sig3 } from '../lib/measure.mjs';
import { row, runInterleaved, skippedRow, timesOf } from '../lib/rows.mjs';
import { PROTOCOL_NOT_BUILT, loadProtocol } from '../lib/sluice-packages.mjs';

const UNIT = 'events/s';
const SEGMENT = 'bench/codec/0';
const WRITER_ID = 'writer-0f3c9a51-7d1e-4b8e-9a55-2f4e1c7b9d21';
const POOL_MASK = 1023;
/** A short key, as append-100b's writers use. */
const ROUTING_KEY = 'k7';

async function measure(ctx, onProgress, durationMs, encodeDecode) {
  await cpuLoop({ durationMs: ctx.warmupMs / 2, signal: ctx.signal }, encodeDecode);
  return cpuLoop({ durationMs, signal: ctx.signal, onProgress }, encodeDecode);
}

async function sluice(ctx, onProgress, durationMs, pool) {
  const protocol = await loadProtocol();
  if (!protocol) return skippedRow('sluice', PROTOCOL_NOT_BUILT, UNIT);
  const { EventBlockBuilder, FrameDecoder, decodeFrameBody, encodeFrame, outgoingEvent, validateEventBlock, DEFAULT_LIMITS } = protocol;
  const decoder = new FrameDecoder();
  let cursor = 0;
  let sequence = 0;
  let lastEventNumber = -1;
  let decodedEvents = 0;
  const onFrame = (raw) => {
    const { command } = decodeFrameBody(raw);
    const count = validateEventBlock(command.data, DEFAULT_LIMITS.maxEventSize);
    if (count !== command.eventCount) throw new Error(`block holds ${count} events, header says ${command.eventCount}`);
    decodedEvents += count;
  };
  // A writer reuses a block's buffer once the block is acknowledged; so does this loop.
  const builder = new EventBlockBuilder(WRITE_SIZE);
  const result = await measure(ctx, onProgress, durationMs, () => {
    builder.reset();
    // As EventWriter.write does per event: the envelope (a short key, the time, no headers), then the block.
    while (builder.tryAddEvent(outgoingEvent(ROUTING_KEY, Date.now(), null, pool[cursor & POOL_MASK]))) cursor += 1;
    const eventCount = builder.eventCount;
    lastEventNumber += eventCount;
    const frame = encodeFrame(7, sequence++, {
      type: 'AppendBlock',
      segment: SEGMENT,
      writerId: WRITER_ID,
      lastEventNumber,
      eventCount,
      data: builder.finish(),
    });
    decoder.push(frame, onFrame);
    return eventCount;
  });
  if (decodedEvents < result.units) throw new Error(`decoded ${decodedEvents} of ${result.units} events`);
  return row('sluice', sig3(result.perSecond), UNIT);
}

async function msgpackrPlain(ctx, onProgress, durationMs, pool) {
  let cursor = 0;
  let lastEventNumber = -1;
  const result = await measure(ctx, onProgress, durationMs, () => {
    const events = new Array(EVENTS_PER_WRITE);
    for (let i = 0; i < EVENTS_PER_WRITE; i++) events[i] = pool[(cursor + i) & POOL_MASK];
    cursor += EVENTS_PER_WRITE;
    lastEventNumber += EVENTS_PER_WRITE;
    const bytes = pack({
      type: 'AppendBlock',
      segment: SEGMENT,
      writerId: WRITER_ID,
      lastEventNumber,
      eventCount: EVENTS_PER_WRITE,
      events,
    });
    const decoded = unpack(bytes);
    if (decoded.events.length !== EVENTS_PER_WRITE) throw new Error('msgpackr lost events');
    return EVENTS_PER_WRITE;
  });
  return row('msgpackr-plain', sig3(result.perSecond), UNIT);
}

async function rawCopy(ctx, onProgress, durationMs, pool) {
  const block = Buffer.allocUnsafe(WRITE_SIZE);
  let cursor = 0;
  const result = await measure(ctx, onProgress, durationMs, () => {
    let position = 0;
    for (let i = 0; i < EVENTS_PER_WRITE; i++) {
      block.writeUInt32BE(EVENT_SIZE, position);
      block.set(pool[cursor++ & POOL_MASK], position + 4);
      position += FRAMED_EVENT_SIZE;
    }
    return EVENTS_PER_WRITE;
  });
  return row('raw-copy', sig3(result.perSecond), UNIT);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'codec-append',
  description: 'encode+decode of 64 KiB append blocks of 100-byte events, events/s (one core, no I/O)',
  reference: 'raw-copy',
  goal: [{ system: 'sluice', text: '≥ 0.5× raw-copy', check: timesOf('raw-copy', 0.5) }],
  async run(ctx) {
    const pool = payloads(EVENT_SIZE);
    return runInterleaved(ctx, [
      { system: 'sluice', unit: UNIT, measure: (onProgress, durationMs) => sluice(ctx, onProgress, durationMs, pool) },
      { system: 'msgpackr-plain', unit: UNIT, measure: (onProgress, durationMs) => msgpackrPlain(ctx, onProgress, durationMs, pool) },
      { system: 'raw-copy', unit: UNIT, measure: (onProgress, durationMs) => rawCopy(ctx, onProgress, durationMs, pool) },
    ]);
  },
};
