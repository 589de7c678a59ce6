/**
 * `@sluice/client/internal`: what sluice-server needs of the client to talk to its peers, and
 * nothing a user should call. Not part of the public API (README, DESIGN.md): it follows the
 * server of the same release and may change in any version.
 */
import type { Request, SuccessReplyOf } from '@sluice/protocol';

import type { SluiceClient } from './sluice-client.js';

/** A flow on the client's pooled connections to one node: requests in call order, each with its reply. */
export interface NodeFlow {
  /**
   * `trailing`: the command's trailing bytes field as parts, written one after the other (the field in
   * the command is empty): the frame a joined buffer would make, without joining the parts first.
   */
  request<C extends Request>(command: C, options: { timeoutMs: number; trailing?: readonly Buffer[] }): Promise<SuccessReplyOf<C['type']>>;
  /** Frees the flow (its pending requests reject); never closes a shared connection. */
  close(): void;
}

/**
 * Opens a flow to `endpoint` on the client's pool, multiplexed with every other flow (a node's
 * replication traffic to a peer shares the connections like any writer's).
 */
export function openNodeFlow(client: SluiceClient, endpoint: string): NodeFlow {
  return client.context.openFlow(endpoint);
}
