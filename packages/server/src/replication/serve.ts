import type { Command, CommandOf, ReplicationRequestName } from '@sluice/protocol';

import type { ReplicatedLog } from './replicated-log.js';

export type ReplicationRequest = CommandOf<ReplicationRequestName>;

/** Answers a replication request another node sent about a container this node holds a replica of. */
export function serveReplicationRequest(log: ReplicatedLog, command: ReplicationRequest): Promise<Command> | Command {
  switch (command.type) {
    case 'Replicate':
      return log.replicate(command);
    case 'FenceReplica':
      return log.fence(command);
    case 'GetEpochEnd':
      return log.epochEnd(command);
    case 'FetchLog':
      return log.fetch(command);
    case 'InstallSnapshot':
      return log.installSnapshot(command);
  }
}
