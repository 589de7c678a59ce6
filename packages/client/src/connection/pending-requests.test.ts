import { CONNECTION_FLOW_ID, encodeFrame, FrameDecoder, type Command, type RawFrame } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { ConnectionLostError, NoSuchSegmentError, TimeoutError } from '../errors.js';
import type { ReplyHandler } from './flow.js';
import { PendingRequests } from './pending-requests.js';

const info = (segment: string): Command => ({ type: 'SegmentInfo', segment, startOffset: 0, length: 0, sealed: false });

function rawFrame(flowId: number, sequence: number, command: Command): RawFrame {
  let frame: RawFrame | null = null;
  new FrameDecoder().push(encodeFrame(flowId, sequence, command), (raw) => {
    frame = raw;
  });
  return frame!;
}

function carrier() {
  const settled: number[] = [];
  return { endpoint: 'node:1', settled, noteSettled: (bytes: number) => settled.push(bytes) };
}

/** A request on the table through its promise form, as Flow.request makes it. */
function requestOn(table: PendingRequests, sequence: number, bytes: number, timeoutMs = 5_000): Promise<Command> {
  return new Promise((resolve, reject) => table.add(sequence, 'GetSegmentInfo', bytes, timeoutMs, null, resolve, reject));
}

describe('pending requests', () => {
  it('settles replies that arrive out of order, notes each request bytes once, and refuses an unknown sequence', async () => {
    const wire = carrier();
    const table = new PendingRequests(wire, 7);
    const replies = [0, 1, 2, 3].map((sequence) => requestOn(table, sequence, 100 + sequence));
    for (const sequence of [2, 0, 3, 1]) expect(table.settle(rawFrame(7, sequence, info(`s/${sequence}/0`)))).toBe(true);
    expect(table.settle(rawFrame(7, 2, info('s/again/0')))).toBe(false);
    expect(((await Promise.all(replies)) as Array<{ segment: string }>).map((reply) => reply.segment)).toEqual([
      's/0/0',
      's/1/0',
      's/2/0',
      's/3/0',
    ]);
    expect(wire.settled).toEqual([102, 100, 103, 101]);
  });

  it('gives a handler its reply, or the typed error of an error reply, without a promise', () => {
    const table = new PendingRequests(carrier(), 7);
    const outcomes: unknown[] = [];
    const handler: ReplyHandler = { onReply: (reply) => outcomes.push(reply.type), onError: (error) => outcomes.push(error) };
    table.add(0, 'GetSegmentInfo', 10, 5_000, handler, null, null);
    table.add(1, 'GetSegmentInfo', 10, 5_000, handler, null, null);
    table.settle(rawFrame(7, 0, info('s/a/0')));
    table.settle(rawFrame(7, 1, { type: 'NoSuchSegment', segment: 's/b/0' }));
    expect(outcomes[0]).toBe('SegmentInfo');
    expect(outcomes[1]).toBeInstanceOf(NoSuchSegmentError);
  });

  it('times out naming the command and the flow, or the node for connection traffic', async () => {
    const onFlow = new PendingRequests(carrier(), 7);
    const control = new PendingRequests(carrier(), CONNECTION_FLOW_ID);
    const [flowError, controlError] = await Promise.all([
      requestOn(onFlow, 0, 10, 20).catch((error: unknown) => error),
      requestOn(control, 0, 10, 20).catch((error: unknown) => error),
    ]);
    expect(flowError).toBeInstanceOf(TimeoutError);
    expect((flowError as Error).message).toBe('no reply to GetSegmentInfo on flow 7 within 20 ms');
    expect((controlError as Error).message).toBe('no reply to GetSegmentInfo to node:1 within 20 ms');
    // The late reply of a timed-out request matches nothing.
    expect(onFlow.settle(rawFrame(7, 0, info('s/late/0')))).toBe(false);
  });

  it('rejectAll fails every request once, in send order', async () => {
    const wire = carrier();
    const table = new PendingRequests(wire, 7);
    const order: number[] = [];
    const replies = [0, 1, 2].map((sequence) => requestOn(table, sequence, 1).catch((error: unknown) => (order.push(sequence), error)));
    const lost = new ConnectionLostError('node:1', 'dropped by the test');
    table.rejectAll(lost);
    table.rejectAll(lost);
    expect(await Promise.all(replies)).toEqual([lost, lost, lost]);
    expect(order).toEqual([0, 1, 2]);
    expect(wire.settled).toEqual([1, 1, 1]);
  });
});
