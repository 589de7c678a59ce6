import type { CommandSpec } from '../context.js';

export const clusterCommand: CommandSpec = {
  path: ['cluster'],
  summary: 'members, containers each node serves (primary) and backs up, and whether each node answers',
  usage: '',
  arity: [0, 0],
  options: {},
  async run({ output, client }) {
    const cluster = await client().describeCluster();
    output.note(`${cluster.members.length} nodes, ${cluster.containerCount} containers`);
    output.table(
      cluster.members.map((member) => ({
        node: member.address,
        containers: output.json ? member.containers : member.containers.length,
        backups: output.json ? member.backups : member.backups.length,
        health: member.reachable ? `ok (${member.rttMs} ms)` : `unreachable: ${member.error}`,
        ...(output.json ? { reachable: member.reachable, rttMs: member.rttMs } : {}),
      })),
      ['node', 'containers', 'backups', 'health'],
    );
  },
};
