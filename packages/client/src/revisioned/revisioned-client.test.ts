import { ENVELOPE_FIXED_SIZE, EVENT_HEADER_SIZE, eventsOf, type Command } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import type { ClientContext } from '../client-context.js';
import { ConditionalCheckFailedError, ConnectionLostError } from '../errors.js';
import { Revision } from './revision.js';
import { RevisionedClient } from './revisioned-client.js';

const SEGMENT = 'unit/rev/0';
/** Bytes an entry takes in the segment: its length, the envelope (no key, no headers) and the data. */
const framed = (text: string): number => EVENT_HEADER_SIZE + ENVELOPE_FIXED_SIZE + Buffer.byteLength(text);

/**
 * A segment behind context.segments.request, which (like SegmentAdmin) calls build once per attempt.
 * `loseNextReply` stores the next conditional append but loses its reply, so the request is retried;
 * `dedupFirst` picks how the node answers that retry: as a duplicate (DataAppended) or by checking the
 * offset first (ConditionalCheckFailed).
 */
class FakeSegment {
  bytes = 0;
  readonly writers = new Map<string, number>();
  loseNextReply = false;
  failNextForGood = false;
  dedupFirst = true;

  context(): ClientContext {
    return {
      streams: { claimForRevisions: async () => undefined },
      track: () => undefined,
      untrack: () => undefined,
      segments: { request: (_segment: string, build: (token: string | null) => Command) => this.request(build) },
    } as unknown as ClientContext;
  }

  private async request(build: (token: string | null) => Command): Promise<Command> {
    for (let attempt = 0; ; attempt++) {
      const command = build(null);
      if (command.type === 'ReleaseAppend') return { type: 'AppendReleased', segment: SEGMENT, writerId: command.writerId };
      if (this.failNextForGood) {
        this.failNextForGood = false;
        this.serve(command);
        throw new ConnectionLostError('fake:1', 'gone for good');
      }
      const reply = this.serve(command);
      if (this.loseNextReply) {
        this.loseNextReply = false;
        continue; // stored, but the reply never came: the admin retries
      }
      if (reply instanceof Error) throw reply;
      return reply;
    }
  }

  private serve(command: Command): Command | Error {
    switch (command.type) {
      case 'ConditionalAppend': {
        const last = this.writers.get(command.writerId!) ?? -1;
        const isDuplicate = command.eventNumber <= last;
        if (isDuplicate && this.dedupFirst) {
          return { type: 'DataAppended', segment: SEGMENT, writerId: command.writerId, lastEventNumber: last, length: this.bytes };
        }
        if (command.expectedOffset !== this.bytes) return new ConditionalCheckFailedError(SEGMENT, this.bytes);
        if (command.eventNumber !== last + 1) throw new Error(`event number gap: ${command.eventNumber} after ${last}`);
        this.bytes += command.data.byteLength;
        this.writers.set(command.writerId!, command.eventNumber);
        expect(eventsOf(command.data)).toHaveLength(1);
        return { type: 'DataAppended', segment: SEGMENT, writerId: command.writerId, lastEventNumber: command.eventNumber, length: this.bytes };
      }
      case 'SetupAppend':
        return { type: 'AppendSetup', segment: SEGMENT, writerId: command.writerId, lastEventNumber: this.writers.get(command.writerId) ?? -1 };
      case 'ReadSegment':
        return { type: 'SegmentRead', segment: SEGMENT, offset: command.offset, data: Buffer.alloc(0), length: this.bytes, endOfSegment: false };
      default:
        return new Error(`not served: ${command.type}`);
    }
  }
}

describe('RevisionedClient retries', () => {
  it.each([true, false])('counts a retried append that was stored as its own success (dedup first: %s)', async (dedupFirst) => {
    const segment = new FakeSegment();
    segment.dedupFirst = dedupFirst;
    const rev = new RevisionedClient(segment.context(), 'unit/rev');
    const r0 = new Revision(SEGMENT, 0);
    segment.loseNextReply = true;
    const r1 = await rev.writeConditionally(r0, 'mine');
    expect(r1?.offset).toBe(framed('mine'));
    // A real conflict is still a conflict.
    expect(await rev.writeConditionally(r0, 'late')).toBeNull();
    expect((await rev.writeConditionally(r1!, 'next'))?.offset).toBe(framed('mine') + framed('next'));
  });

  it('after an attempt of unknown outcome, learns the next event number before writing again', async () => {
    const segment = new FakeSegment();
    const rev = new RevisionedClient(segment.context(), 'unit/rev');
    segment.failNextForGood = true;
    await expect(rev.writeConditionally(new Revision(SEGMENT, 0), 'maybe')).rejects.toBeInstanceOf(ConnectionLostError);
    // It was stored: the next write must follow it with the next event number (no gap, no reuse).
    expect(await rev.writeConditionally(new Revision(SEGMENT, framed('maybe')), 'after')).not.toBeNull();
  });

  it('runs concurrent writes one at a time, in call order', async () => {
    const segment = new FakeSegment();
    const rev = new RevisionedClient(segment.context(), 'unit/rev');
    const results = await Promise.all([
      rev.writeConditionally(new Revision(SEGMENT, 0), 'a'),
      rev.writeConditionally(new Revision(SEGMENT, framed('a')), 'b'),
      rev.writeConditionally(new Revision(SEGMENT, framed('a')), 'c'),
    ]);
    expect(results.map((result) => result?.offset ?? null)).toEqual([framed('a'), 2 * framed('a'), null]);
  });
});
