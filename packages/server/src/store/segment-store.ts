import type { DiskActivity } from './log-writer.js';
import { DEFAULT_LIMITS } from '@sluice/protocol';

import { BlockCache } from './block-cache.js';
import { SegmentContainer } from './container.js';
import type { StoreCounters } from './container-context.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import type { Container, SegmentStore, StoreOptions, StoreStats } from './types.js';

const MiB = 1024 * 1024;

/** Sizes that suit a node with a few GiB of memory; the CLI's defaults (config.ts) take them from here. */
export const DEFAULT_STORE_OPTIONS: Readonly<Omit<StoreOptions, 'dataDir' | 'containers' | 'logger'>> = Object.freeze({
  fsync: 'always',
  cacheBytes: 256 * MiB,
  logFileBytes: 64 * MiB,
  checkpointIntervalBytes: 128 * MiB,
  maxEventSize: DEFAULT_LIMITS.maxEventSize,
});

/**
 * Opens (recovering as needed) every container this node owns under `<dataDir>/containers/<id>/`.
 * The data dir is locked first (DataDirInUseError when another node holds it).
 * Containers recover in parallel; if any fails, the ones already open are closed and the error
 * (e.g. LogCorruptionError, CheckpointCorruptError) is thrown.
 */
export async function openSegmentStore(options: StoreOptions): Promise<SegmentStore> {
  validateStoreOptions(options);
  const lock = await lockDataDir(options.dataDir);
  try {
    return await openLocked(options, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function openLocked(options: StoreOptions, lock: DataDirLock): Promise<SegmentStore> {
  const started = performance.now();
  const cache = new BlockCache(options.cacheBytes);
  const counters: StoreCounters = { appends: 0, events: 0, bytes: 0, fsyncs: 0, syncs: 0, corruptReads: 0 };
  const activity: DiskActivity = { writesInFlight: 0 };
  const open = (id: number): Promise<{ container: SegmentContainer; replayedBytes: number }> =>
    SegmentContainer.open({ id, options, cache, counters, activity, replication: options.replication });
  const opening = await Promise.allSettled(options.containers.map(open));
  const failed = opening.find((result) => result.status === 'rejected');
  const opened = opening.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  if (failed) {
    await Promise.allSettled(opened.map(({ container }) => container.close()));
    throw failed.reason;
  }
  const recovery = {
    ms: performance.now() - started,
    logBytes: opened.reduce((sum, { replayedBytes }) => sum + replayedBytes, 0),
  };
  options.logger.info({ containers: opened.length, recoveryMs: Math.round(recovery.ms), replayedLogBytes: recovery.logBytes }, 'segment store open');
  const containers = new Map(opened.map(({ container }) => [container.id, container]));
  return new DurableSegmentStore(containers, cache, counters, recovery, lock, async (id) => (await open(id)).container);
}

class DurableSegmentStore implements SegmentStore {
  private closing: Promise<void> | null = null;

  constructor(
    private readonly containers: Map<number, SegmentContainer>,
    private readonly cache: BlockCache,
    private readonly counters: StoreCounters,
    private readonly recovery: { ms: number; logBytes: number },
    private readonly lock: DataDirLock,
    private readonly open: (id: number) => Promise<SegmentContainer>,
  ) {}

  async reopenContainer(id: number, prepare: (directory: string) => Promise<void>): Promise<void> {
    const container = this.containers.get(id);
    if (!container) throw new RangeError(`container ${id} is not open on this node`);
    await container.close();
    await prepare(container.directoryPath);
    this.containers.set(id, await this.open(id));
  }

  container(id: number): Container {
    const container = this.containers.get(id);
    if (!container) throw new RangeError(`container ${id} is not owned by this node (owned: ${[...this.containers.keys()].join(', ')})`);
    return container;
  }

  stats(): StoreStats {
    return {
      ...this.counters,
      cacheBytes: this.cache.bytes,
      cacheHits: this.cache.counters.hits,
      cacheMisses: this.cache.counters.misses,
      recoveryMs: this.recovery.ms,
      recoveredLogBytes: this.recovery.logBytes,
      failedContainers: [...this.containers.values()].flatMap((container) => {
        const failure = container.logFailure;
        return failure === null ? [] : [{ container: container.id, reason: failure.message }];
      }),
    };
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.containers.values()].map((container) => container.close())).then(() => this.lock.release());
    return this.closing;
  }
}

function validateStoreOptions(options: StoreOptions): void {
  const positiveInteger = (name: keyof StoreOptions, minimum = 1): void => {
    const value = options[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
      throw new RangeError(`store option ${name} must be an integer >= ${minimum}, got ${String(value)}`);
    }
  };
  if (typeof options.dataDir !== 'string' || options.dataDir === '') throw new TypeError('store option dataDir must be a non-empty path');
  if (!Array.isArray(options.containers)) throw new TypeError('store option containers must be an array of container ids');
  for (const id of options.containers) {
    if (!Number.isSafeInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`store option containers holds an invalid container id ${String(id)}`);
  }
  if (new Set(options.containers).size !== options.containers.length) throw new RangeError('store option containers lists a container twice');
  if (options.fsync !== 'always' && options.fsync !== 'none') throw new RangeError(`store option fsync must be 'always' or 'none', got ${String(options.fsync)}`);
  positiveInteger('cacheBytes', 0);
  positiveInteger('logFileBytes');
  positiveInteger('checkpointIntervalBytes');
  positiveInteger('maxEventSize');
  if (typeof options.logger?.warn !== 'function') throw new TypeError('store option logger must be a logger (info, warn, error, debug)');
}
