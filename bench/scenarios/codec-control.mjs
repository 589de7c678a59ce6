// codec-control: small control frames (ReadSegment requests and DataAppended replies, alternating),
// encoded and decoded, frames/s, in one process, no I/O.
//   sluice          encodeFrame, then FrameDecoder.push + decodeFrameBody (header routing + checked body)
//   msgpackr-plain  msgpackr pack/unpack of the same objects (request id fields included)
import { pack, unpack } from 'msgpackr';
import { cpuLoop, sig3 } from '../lib/measure.mjs';
import { row, runInterleaved, skippedRow, timesOf } from '../lib/rows.mjs';
import { PROTOCOL_NOT_BUILT, loadProtocol } from '../lib/sluice-packages.mjs';

const UNIT = 'frames/s';

/** The i-th control command: even i a ReadSegment, odd i a DataAppended. */
function command(i) {
  return i % 2 === 0
    ? { type: 'ReadSegment', segment: 'shop/orders/3', offset: 1_048_576 * (i % 977), maxBytes: 1_048_576, waitMs: 0, token: null }
    : {
        type: 'DataAppended',
        segment: 'shop/orders/3',
        writerId: 'writer-0f3c9a51-7d1e-4b8e-9a55-2f4e1c7b9d21',
        lastEventNumber: i,
        length: 104 * i,
      };
}

const COMMANDS = Array.from({ length: 1024 }, (_, i) => command(i));
/** The same objects for plain msgpackr, carrying the request id as fields (built once, like COMMANDS). */
const PLAIN = COMMANDS.map((c, i) => ({ flowId: 3, sequence: i, ...c }));

async function measure(ctx, onProgress, durationMs, encodeDecode) {
  await cpuLoop({ durationMs: ctx.warmupMs / 2, signal: ctx.signal }, encodeDecode);
  return cpuLoop({ durationMs, signal: ctx.signal, onProgress }, encodeDecode);
}

async function sluice(ctx, onProgress, durationMs) {
  const protocol = await loadProtocol();
  if (!protocol) return skippedRow('sluice', PROTOCOL_NOT_BUILT, UNIT);
  const { FrameDecoder, decodeFrameBody, encodeFrame } = protocol;
  const decoder = new FrameDecoder();
  let i = 0;
  let decoded = 0;
  const onFrame = (raw) => {
    if (decodeFrameBody(raw).command.segment !== undefined) decoded += 1;
  };
  const result = await measure(ctx, onProgress, durationMs, () => {
    decoder.push(encodeFrame(3, i, COMMANDS[i & 1023]), onFrame);
    i += 1;
    return 1;
  });
  if (decoded < result.units) throw new Error(`decoded ${decoded} of ${result.units} frames`);
  return row('sluice', sig3(result.perSecond), UNIT);
}

async function msgpackrPlain(ctx, onProgress, durationMs) {
  let i = 0;
  let decoded = 0;
  const result = await measure(ctx, onProgress, durationMs, () => {
    const bytes = pack(PLAIN[i & 1023]);
    if (unpack(bytes).segment !== undefined) decoded += 1;
    i += 1;
    return 1;
  });
  if (decoded < result.units) throw new Error(`decoded ${decoded} of ${result.units} frames`);
  return row('msgpackr-plain', sig3(result.perSecond), UNIT);
}

/** @type {import('../lib/types.js').Scenario} */
export default {
  id: 'codec-control',
  description: 'encode+decode of small control frames (ReadSegment / DataAppended), frames/s (one core, no I/O)',
  reference: 'msgpackr-plain',
  goal: [{ system: 'sluice', text: '≥ 2× msgpackr-plain', check: timesOf('msgpackr-plain', 2) }],
  async run(ctx) {
    return runInterleaved(ctx, [
      { system: 'sluice', unit: UNIT, measure: (onProgress, durationMs) => sluice(ctx, onProgress, durationMs) },
      { system: 'msgpackr-plain', unit: UNIT, measure: (onProgress, durationMs) => msgpackrPlain(ctx, onProgress, durationMs) },
    ]);
  },
};
