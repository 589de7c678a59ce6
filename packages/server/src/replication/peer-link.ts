import type { SluiceClient } from '@sluice/client';
import { openNodeFlow } from '@sluice/client/internal';
import type { CommandOf, ReplicationRequestName, SuccessReplyOf } from '@sluice/protocol';

/** A replication request's reply, as the command table says. */
export type ReplicationReplies = { [N in ReplicationRequestName]: SuccessReplyOf<N> };

/** A replication request as the data plane builds it: the link adds the node's token. */
export type PeerRequest<N extends ReplicationRequestName> = Omit<CommandOf<N>, 'token'>;

/** This node's token for its peers (null with auth off): every stream, the admin right replication requests need. */
export type PeerToken = () => string | null;

/** One node's conversation with a peer about replication: requests in call order, replies in kind. */
export interface PeerLink {
  readonly node: string;
  /** `trailing`: the command's bytes field (then empty in the command) as parts to send one after the other. */
  request<N extends ReplicationRequestName>(command: PeerRequest<N>, trailing?: readonly Buffer[]): Promise<ReplicationReplies[N]>;
  close(): void;
}

/**
 * Links over @sluice/client's pool: the server is a client of its peers, its replication requests
 * multiplexed as flows on the pooled connections like any writer's (one flow per peer and container,
 * so each container's records reach a peer in order). Each request carries the node's token.
 */
export function clientPeerLink(client: SluiceClient, node: string, timeoutMs: number, token: PeerToken): PeerLink {
  const flow = openNodeFlow(client, node);
  return {
    node,
    request: <N extends ReplicationRequestName>(command: PeerRequest<N>, trailing?: readonly Buffer[]) =>
      flow.request({ ...command, token: token() } as CommandOf<ReplicationRequestName>, { timeoutMs, trailing }) as Promise<ReplicationReplies[N]>,
    close: () => flow.close(),
  };
}
