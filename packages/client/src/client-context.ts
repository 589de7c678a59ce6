import type { BufferPool } from '@sluice/protocol';
import type { SegmentOperations } from './admin/segment-admin.js';
import type { StreamCatalog } from './admin/stream-admin.js';
import type { Logger } from './logger.js';
import type { ClientSettings } from './options.js';
import type { TailLookups } from './reader/tail-lookups.js';
import type { RouteContext } from './route/segment-route.js';

export type ClientEvent = 'connect' | 'disconnect' | 'reconnecting';

/**
 * What writers, readers and the revisioned client get from the client: routes to segment owners
 * (RouteContext), admin calls, stream segment counts, the token. It is the one internal contract
 * they use, and it hands out interfaces only, so none of them depends on how the client builds them.
 */
export interface ClientContext extends RouteContext {
  readonly settings: ClientSettings;
  readonly logger: Logger;
  readonly segments: SegmentOperations;
  readonly streams: StreamCatalog;
  /** Tail lookups of readers under way, which this client's writers of the stream wait for. */
  readonly tails: TailLookups;
  /** Buffers of acknowledged append blocks, reused by this client's writers for their next blocks. */
  readonly blockBuffers: BufferPool;
  /** Buffers large replies were assembled in, handed back by readers that copied every event out. */
  readonly frameBuffers: BufferPool;
  /** True once the client is closed. */
  readonly closed: boolean;
  token(): Promise<string | null>;
  emit(event: ClientEvent, detail: Record<string, unknown>): void;
  /** Registers something to close when the client closes. */
  track(resource: { close(): Promise<void> | void }): void;
  untrack(resource: { close(): Promise<void> | void }): void;
}
