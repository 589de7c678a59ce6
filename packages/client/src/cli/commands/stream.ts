import { integerFlag } from '../arguments.js';
import type { CommandSpec } from '../context.js';

const MAX_SEGMENTS = 4096;

export const streamCommands: CommandSpec[] = [
  {
    path: ['stream', 'create'],
    summary: 'create a stream (idempotent)',
    usage: '<scope/name> --segments N',
    arity: [1, 1],
    options: { segments: { type: 'string', help: 'number of segments (1-4096)' } },
    async run({ positionals, flags, output, client }) {
      const [stream] = positionals as [string];
      const segments = integerFlag(flags, 'segments', 1, MAX_SEGMENTS);
      await client().createStream(stream, { segments });
      output.record({ stream, segments, created: true }, `created ${stream} with ${segments} segments`);
    },
  },
  {
    path: ['stream', 'list'],
    summary: 'list the streams of the cluster, or of one scope',
    usage: '[scope]',
    arity: [0, 1],
    options: {},
    async run({ positionals, output, client }) {
      const streams = await client().listStreams(positionals[0]);
      if (output.json) for (const stream of streams) output.record({ stream });
      else for (const stream of streams) output.note(stream);
    },
  },
  {
    path: ['stream', 'info'],
    summary: 'segments, lengths, sealed and truncation points, the node serving each segment and its backups',
    usage: '<scope/name>',
    arity: [1, 1],
    options: {},
    async run({ positionals, output, client }) {
      const info = await client().getStreamInfo(positionals[0]!);
      if (output.json) {
        output.record({ ...info });
        return;
      }
      const { policy } = info;
      const autoScaling = policy === null ? '' : `, auto-scaling ${policy.minSegments}-${policy.maxSegments} segments at ${policy.targetEventsPerSecond} events/s each`;
      output.note(`stream ${info.stream}: ${info.segments} segments, epoch ${info.epoch}${info.sealed ? ', sealed' : ''}${autoScaling}`);
      output.table(
        info.segmentInfos.map((segment) => ({
          segment: segment.segment,
          length: segment.length,
          truncated_at: segment.startOffset,
          sealed: segment.sealed,
          node: segment.owner,
          backups: segment.backups.join(',') || '-',
        })),
        ['segment', 'length', 'truncated_at', 'sealed', 'node', 'backups'],
      );
    },
  },
  {
    path: ['stream', 'scale'],
    summary: 'seal the current segments and put N successors over equal key ranges (keeps per-key order)',
    usage: '<scope/name> --segments N',
    arity: [1, 1],
    options: { segments: { type: 'string', help: 'number of segments after the scale (1-4096)' } },
    async run({ positionals, flags, output, client }) {
      const [stream] = positionals as [string];
      const segments = integerFlag(flags, 'segments', 1, MAX_SEGMENTS);
      await client().scaleStream(stream, { segments });
      const info = await client().getStreamInfo(stream);
      output.record({ stream, segments: info.segments, epoch: info.epoch }, `scaled ${stream} to ${info.segments} segments (epoch ${info.epoch})`);
    },
  },
  {
    path: ['stream', 'seal'],
    summary: 'seal every segment: no more writes, readers reach the end',
    usage: '<scope/name>',
    arity: [1, 1],
    options: {},
    async run({ positionals, output, client }) {
      const [stream] = positionals as [string];
      await client().sealStream(stream);
      output.record({ stream, sealed: true }, `sealed ${stream}`);
    },
  },
  {
    path: ['stream', 'delete'],
    summary: 'delete a stream and its data',
    usage: '<scope/name>',
    arity: [1, 1],
    options: {},
    async run({ positionals, output, client }) {
      const [stream] = positionals as [string];
      await client().deleteStream(stream);
      output.record({ stream, deleted: true }, `deleted ${stream}`);
    },
  },
];
