import { EventReader, type ReadEvent } from '../../reader/event-reader.js';
import { positionState, type ReaderPosition } from '../../reader/reader-position.js';
import type { StreamLayout } from '../../stream/stream-layout.js';
import { choiceFlag } from '../arguments.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { formatPayload } from '../payload.js';

/**
 * Without --follow, cat prints what the stream held when it started and stops: the segment lengths
 * read first are the end. With --follow it waits at the tail until Ctrl-C or SIGTERM.
 */
export const catCommand: CommandSpec = {
  path: ['cat'],
  summary: 'print the events of a stream, one per line (stops at the tail unless --follow)',
  usage: '<scope/name> [--from head|tail] [--follow] [--group G]',
  arity: [1, 1],
  options: {
    from: { type: 'string', help: 'head (default): every event; tail: only events written from now on' },
    follow: { type: 'boolean', help: 'keep waiting for new events until Ctrl-C / SIGTERM' },
    group: {
      type: 'string',
      help: 'read as a member of reader group G: only its share of segments, positions committed (without --follow it stops after 2 s with nothing new)',
    },
  },
  async run(context) {
    const { positionals, flags, client, stopped } = context;
    const [stream] = positionals as [string];
    const from = choiceFlag(flags, 'from', ['head', 'tail'] as const, 'head');
    const follow = flags.follow === true;
    const group = typeof flags.group === 'string' ? flags.group : undefined;
    // A group member sees only its share of the segments, and a group position lists successors
    // still waiting for predecessors: without --follow it stops when its share has been quiet for a
    // while, since the other members' progress is not its to wait for.
    const end = follow || group !== undefined ? null : await endOf(context, stream);
    const reader = group === undefined ? client().createReader(stream, { from }) : client().createReader(stream, { from, group });
    void stopped.then(() => reader.close());
    const idle = group !== undefined && !follow ? new IdleStop(() => void reader.close()) : null;
    idle?.touch();
    // The end may come without an event: the last ones were in sealed predecessors and the active
    // segments are empty (a scale with no write since), or the stream is empty. So the reader's
    // position is looked at on a timer too, not only at each event. Against the layout the reader
    // went by (the client's, which the reader refreshes): after a scale since cat started, the
    // segments of `end` are predecessors, which a position no longer lists once read.
    const layout = (): Promise<StreamLayout> => client().context.streams.layout(stream);
    const endCheck =
      end !== null && reader instanceof EventReader
        ? setInterval(() => {
            void layout().then((current) => {
              if (reachedEnd(reader.position, end, current)) reader.close();
            });
          }, END_CHECK_MS)
        : null;
    try {
      for await (const event of reader) {
        idle?.touch();
        print(context, event);
        if (end !== null && reachedEnd(event.position, end, await layout())) break;
      }
    } finally {
      idle?.cancel();
      if (endCheck !== null) clearInterval(endCheck);
      await reader.close();
    }
  },
};

const GROUP_IDLE_MS = 2_000;
const END_CHECK_MS = 50;

class IdleStop {
  #timer: NodeJS.Timeout | null = null;
  constructor(private readonly stop: () => void) {}

  touch(): void {
    this.cancel();
    this.#timer = setTimeout(this.stop, GROUP_IDLE_MS);
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
  }
}

/**
 * Per active segment (by segment number): the length it had when cat started. A reader opens a
 * successor only after its sealed predecessors were read to the end, so having opened every one of
 * these and read it to this length means everything before was printed.
 */
export interface StreamEnd {
  segments: Array<{ number: number; length: number }>;
}

async function endOf(context: CommandContext, stream: string): Promise<StreamEnd> {
  const info = await context.client().getStreamInfo(stream);
  return {
    segments: info.segmentInfos.map((segment) => ({
      number: Number(segment.segment.slice(segment.segment.lastIndexOf('/') + 1)),
      length: segment.length,
    })),
  };
}

/**
 * Whether a reader at position has read every segment of end up to its length: a segment it read to
 * the end (listed as -1, or an ancestor of a listed one), or one it reads and is past the length in.
 * One it has not opened yet is neither.
 */
export function reachedEnd(position: ReaderPosition, end: StreamEnd, layout: StreamLayout): boolean {
  const { finished, reading } = positionState(layout, position);
  return end.segments.every(({ number, length }) => finished.has(number) || (reading.get(number) ?? -1) >= length);
}

function print({ output, format }: CommandContext, event: ReadEvent): void {
  const data = formatPayload(event.data, format);
  const { segment, offset, routingKey, timestamp, headers } = event;
  output.record({ segment, offset, routingKey, timestamp, headers, data }, data);
}
