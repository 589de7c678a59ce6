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
