import { ENVELOPE_FIXED_SIZE, EVENT_HEADER_SIZE } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';

import { FakeNode } from '../../test-support/fake-node.js';
import { EventReader } from './event-reader.js';

describe('EventReader routing', () => {
  it('follows WrongHost to the owner it names and reads every event there, once and in order', async () => {
    const node = new FakeNode();
    // The client's map says fake:1; the segment lives on fake:2, which fake:1's WrongHost names.
    node.owner = 'fake:2';
    node.routedOwner = 'fake:1';
    node.segments.set('unit/stream/0', ['a', 'b', 'c'].map((text) => Buffer.from(text)));
    const reader = new EventReader(node.context(), 'unit/stream', { from: 'head' });
    // Bounded: a reader that keeps asking the wrong node would otherwise wait here forever.
    const timer = setTimeout(() => reader.close(), 10_000);
    const seen: string[] = [];
    for await (const event of reader) {
      seen.push(event.data.toString());
      if (seen.length === 3) break;
    }
    clearTimeout(timer);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(node.flows.map((flow) => flow.endpoint)).toContain('fake:1');
    expect(node.routedOwner).toBe('fake:2');
  });
});

describe('EventReader positions', () => {
  it('gives each event the position just after it, its own copy, still right after later events were delivered', async () => {
    const node = new FakeNode();
    node.segmentCount = 2;
    node.segments.set('unit/stream/0', ['a0', 'b0', 'c0'].map((text) => Buffer.from(text)));
    node.segments.set('unit/stream/1', ['a1', 'b1'].map((text) => Buffer.from(text)));
    const reader = new EventReader(node.context(), 'unit/stream', { from: 'head' });
    const timer = setTimeout(() => reader.close(), 10_000);
    const events = [];
    const expected: Array<Record<string, number>> = [];
    const running: Record<string, number> = { 0: 0, 1: 0 };
    for await (const event of reader) {
      events.push(event);
      // An event's record: u32 length, the 13-byte envelope of an empty key without headers, the data.
      running[event.segment.endsWith('/0') ? 0 : 1] = event.offset + EVENT_HEADER_SIZE + ENVELOPE_FIXED_SIZE + event.data.byteLength;
      expected.push({ ...running });
      if (events.length === 5) break;
    }
    clearTimeout(timer);
    // Positions are read only now, after every event was delivered: each still says where its own event left the reader.
    expect(events.map((event) => event.position)).toEqual(expected.map((offsets) => ({ stream: 'unit/stream', offsets })));
    expect(new Set(events.map((event) => event.segment)).size).toBe(2);
    events[0]!.position.offsets[1] = 99;
    expect(events[1]!.position.offsets[1]).not.toBe(99);
    // Own properties (only headers is a getter): a spread or Object.keys keeps them, position included.
    expect(Object.keys(events[0]!)).toEqual(expect.arrayContaining(['routingKey', 'timestamp', 'data', 'segment', 'offset', 'position']));
    expect({ ...events[4] }.position).toEqual({ stream: 'unit/stream', offsets: expected[4] });
    expect(JSON.parse(JSON.stringify(events[4]))).toMatchObject({ position: { stream: 'unit/stream', offsets: expected[4] } });
  });
});
