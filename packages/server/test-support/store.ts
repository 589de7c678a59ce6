import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodeEventBlock, eventsOf } from '@sluice/protocol';

import { BlockCache } from '../src/store/block-cache.js';
import { SegmentContainer } from '../src/store/container.js';
import { openSegmentStore } from '../src/store/segment-store.js';
import type { SegmentStore, StoreLogger, StoreOptions } from '../src/store/types.js';

/** Helpers shared by the store's tests (not part of the package's API). */

export interface RecordingLogger extends StoreLogger {
  readonly warnings: string[];
}

export function recordingLogger(): RecordingLogger {
  const warnings: string[] = [];
  return {
    warnings,
    info: () => undefined,
    debug: () => undefined,
    warn: (object, message) => void warnings.push(`${message ?? ''} ${JSON.stringify(object)}`),
    error: (object, message) => void warnings.push(`error: ${message ?? ''} ${JSON.stringify(object)}`),
  };
}

/** Temporary data directories, removed by cleanup(). */
export class TempDirs {
  private readonly made: string[] = [];

  async make(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-store-'));
    this.made.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** Opens container 0 of options.dataDir on its own (the store's context made here), replicated when options.replication is set. */
export async function openContainer(options: StoreOptions): Promise<SegmentContainer> {
  const counters = { appends: 0, events: 0, bytes: 0, fsyncs: 0, syncs: 0, corruptReads: 0 };
  const context = { id: 0, options, replication: options.replication, cache: new BlockCache(1 << 24), counters, activity: { writesInFlight: 0 } };
  return (await SegmentContainer.open(context)).container;
}

export function testOptions(dataDir: string, overrides: Partial<StoreOptions> = {}): StoreOptions {
  return {
    dataDir,
    containers: [0],
    fsync: 'none',
    cacheBytes: 16 * 1024 * 1024,
    logFileBytes: 64 * 1024 * 1024,
    checkpointIntervalBytes: 1024 * 1024 * 1024,
    maxEventSize: 1024 * 1024,
    logger: recordingLogger(),
    ...overrides,
  };
}

export function openTestStore(dataDir: string, overrides: Partial<StoreOptions> = {}): Promise<SegmentStore> {
  return openSegmentStore(testOptions(dataDir, overrides));
}

export function block(...events: string[]): Buffer {
  return encodeEventBlock(events.map((event) => Buffer.from(event)));
}

export function texts(data: Buffer): string[] {
  return eventsOf(data).map((event) => event.toString());
}

/** Framed size of a text event. */
export function framed(event: string): number {
  return 4 + Buffer.byteLength(event);
}
