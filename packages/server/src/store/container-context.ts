import type { BlockCache } from './block-cache.js';
import type { Replication } from './container-log.js';
import type { DiskActivity } from './log-writer.js';
import type { StoreOptions, StoreStats } from './types.js';

/** Durability counters shared by the containers of a store: the running part of its StoreStats. */
export type StoreCounters = Pick<StoreStats, 'appends' | 'events' | 'bytes' | 'fsyncs' | 'syncs' | 'corruptReads'>;

/** What the store gives each of its containers. */
export interface ContainerContext {
  id: number;
  options: StoreOptions;
  cache: BlockCache;
  counters: StoreCounters;
  activity: DiskActivity;
  /** Present when the container is replicated: records are durable once a majority of replicas has them. */
  replication?: Replication;
}
