import type { SegmentAdmin } from './admin/segment-admin.js';
import type { StreamAdmin } from './admin/stream-admin.js';
import type { ClusterRouter } from './connection/cluster-router.js';
import type { Flow, FlowOptions } from './connection/flow.js';
import type { Logger } from './logger.js';
import type { ClientSettings } from './options.js';

export type ClientEvent = 'connect' | 'disconnect' | 'reconnecting';

/**
 * What writers, readers and the revisioned client get from the client: flows to nodes, the router
 * that knows segment owners, admin calls, the token. It is the one internal contract they use.
 */
export interface ClientContext {
  readonly settings: ClientSettings;
  readonly logger: Logger;
  readonly router: ClusterRouter;
  readonly segments: SegmentAdmin;
  readonly streams: StreamAdmin;
  readonly closed: boolean;
  openFlow(endpoint: string, options?: FlowOptions): Flow;
  /** The flow admin requests to endpoint travel on (one per node, opened on first use). */
  adminFlow(endpoint: string): Flow;
  token(): Promise<string | null>;
  emit(event: ClientEvent, detail: Record<string, unknown>): void;
  /** Registers something to close when the client closes. */
  track(resource: { close(): Promise<void> | void }): void;
  untrack(resource: { close(): Promise<void> | void }): void;
}
