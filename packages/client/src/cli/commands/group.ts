import type { CommandSpec } from '../context.js';

export const groupCommand: CommandSpec = {
  path: ['group', 'describe'],
  summary: 'readers of a reader group, their segments, committed positions and lag',
  usage: '<scope/name> <group>',
  arity: [2, 2],
  options: {},
  async run({ positionals, output, client }) {
    const [stream, group] = positionals as [string, string];
    const description = await client().describeReaderGroup(stream, group);
    if (output.json) {
      output.record({ ...description });
      return;
    }
    const owners = new Map<string, string>();
    for (const [reader, segments] of Object.entries(description.readers)) for (const segment of segments) owners.set(segment, reader);
    output.note(`group ${group} of ${stream}: ${Object.keys(description.readers).length} readers, started at ${description.from}`);
    const segments = [...new Set([...Object.keys(description.positions), ...owners.keys(), ...description.unassigned])];
    output.table(
      segments.map((segment) => ({
        segment,
        reader: owners.get(segment) ?? (description.finished.includes(segment) ? 'finished' : 'unassigned'),
        position: description.positions[segment] ?? 0,
        lag_bytes: description.lag[segment]?.bytes,
      })),
      ['segment', 'reader', 'position', 'lag_bytes'],
    );
  },
};
