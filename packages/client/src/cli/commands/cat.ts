import type { ReadEvent } from '../../reader/event-reader.js';
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
    const end = follow ? null : await endOf(context, stream, from);
    if (end !== null && end.segments.every((segment) => segment.length <= segment.start)) return;
    const reader = group === undefined ? client().createReader(stream, { from }) : client().createReader(stream, { from, group });
    void stopped.then(() => reader.close());
    // A group member sees only its share of the segments: without --follow it stops when its share
    // has been quiet for a while, since the other members' progress is not its to wait for.
    const idle = group !== undefined && !follow ? new IdleStop(() => void reader.close()) : null;
    idle?.touch();
    try {
      for await (const event of reader) {
        idle?.touch();
        print(context, event);
        if (end !== null && reachedEnd(event, end)) break;
      }
    } finally {
      idle?.cancel();
      await reader.close();
    }
  },
};

const GROUP_IDLE_MS = 2_000;

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
 * Per active segment (by segment number): where reading starts and the length it had when cat
 * started. A reader reads a successor only after its sealed predecessors, so reaching these lengths
 * means everything before them was printed too.
 */
interface StreamEnd {
  segments: Array<{ number: number; start: number; length: number }>;
}

async function endOf(context: CommandContext, stream: string, from: 'head' | 'tail'): Promise<StreamEnd> {
  const info = await context.client().getStreamInfo(stream);
  return {
    segments: info.segmentInfos.map((segment) => ({
      number: Number(segment.segment.slice(segment.segment.lastIndexOf('/') + 1)),
      start: from === 'tail' ? segment.length : segment.startOffset,
      length: segment.length,
    })),
  };
}

function reachedEnd(event: ReadEvent, end: StreamEnd): boolean {
  const offsets: Readonly<Record<number, number>> = event.position.offsets;
  return end.segments.every(({ number, start, length }) => length <= start || (offsets[number] ?? 0) >= length);
}

function print({ output, format }: CommandContext, event: ReadEvent): void {
  const data = formatPayload(event.data, format);
  const { segment, offset, routingKey, timestamp, headers } = event;
  output.record({ segment, offset, routingKey, timestamp, headers, data }, data);
}
