import type { Command, CommandOf, ReplicationRequestName } from '@sluice/protocol';

import type { PeerLink } from './peer-link.js';
import type { ReplicatedLog } from './replicated-log.js';

export type ReplicationRequest = CommandOf<ReplicationRequestName>;

/** A link to a replica of the container to send it requests (a snapshot), or null when `node` is not known as one. */
export type ReplicaLinkTo = (node: string) => PeerLink | null;

/** Answers a replication request another node sent about a container this node holds a replica of. */
export function serveReplicationRequest(log: ReplicatedLog, command: ReplicationRequest, linkTo: ReplicaLinkTo): Promise<Command> | Command {
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
    case 'SendSnapshot':
      return log.sendSnapshotTo(command, linkTo(command.to));
  }
}
