import type { SluiceClient } from '@sluice/client';
import type { CommandOf, ReplicationRequestName, SuccessReplyOf } from '@sluice/protocol';

/** A replication request's reply, as the command table says. */
export type ReplicationReplies = { [N in ReplicationRequestName]: SuccessReplyOf<N> };

/** One node's conversation with a peer about replication: requests in call order, replies in kind. */
export interface PeerLink {
  readonly node: string;
  request<N extends ReplicationRequestName>(command: CommandOf<N>): Promise<ReplicationReplies[N]>;
  close(): void;
}

/**
 * Links over @sluice/client's pool: the server is a client of its peers, its replication requests
 * multiplexed as flows on the pooled connections like any writer's (one flow per peer and container,
 * so each container's records reach a peer in order).
 */
export function clientPeerLink(client: SluiceClient, node: string, timeoutMs: number): PeerLink {
  const flow = client.context.openFlow(node);
  return {
    node,
    request: <N extends ReplicationRequestName>(command: CommandOf<N>) =>
      flow.request(command as CommandOf<ReplicationRequestName>, { timeoutMs }) as Promise<ReplicationReplies[N]>,
    close: () => flow.close(),
  };
}
