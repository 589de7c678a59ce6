import { EventEmitter } from 'node:events';

import type { Etcd3, Watcher } from 'etcd3';
import type { Logger } from 'pino';

export interface MirroredValue {
  value: string;
  /** etcd revision of the key's last change: grows with every write anywhere in etcd. */
  modRevision: number;
}

/**
 * A local copy of every key under the cluster's prefix, kept current by one etcd watch that starts
 * right after the initial read (no gap). The controller and the node's roles both read from it and
 * react to its 'change' event. etcd3's watcher reconnects by itself (resuming at the last revision
 * seen) when etcd restarts or the connection drops.
 */
export class EtcdMirror extends EventEmitter<{ change: [key: string] }> {
  private readonly entries = new Map<string, MirroredValue>();
  private watcher: Watcher | null = null;
  private closed = false;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    super();
  }

  async start(): Promise<void> {
    const response = await this.client.getAll().prefix(this.prefix).exec();
    for (const kv of response.kvs) {
      this.entries.set(this.relative(kv.key), { value: kv.value.toString(), modRevision: Number(kv.mod_revision) });
    }
    const watcher = await this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(Number(response.header.revision) + 1))
      .create();
    if (this.closed) {
      await watcher.cancel();
      return;
    }
    this.watcher = watcher;
    watcher.on('put', (kv) => this.apply(this.relative(kv.key), { value: kv.value.toString(), modRevision: Number(kv.mod_revision) }));
    watcher.on('delete', (kv) => this.apply(this.relative(kv.key), null));
    watcher.on('disconnected', (error) => this.logger.warn({ err: error }, 'etcd watch disconnected; reconnecting'));
    watcher.on('connected', () => this.logger.debug('etcd watch connected'));
    watcher.on('error', (error) => this.logger.error({ err: error }, 'etcd watch failed'));
  }

  get(key: string): MirroredValue | undefined {
    return this.entries.get(key);
  }

  /** Entries whose key starts with keyPrefix (relative to the cluster prefix). */
  *withPrefix(keyPrefix: string): Generator<[string, MirroredValue]> {
    for (const entry of this.entries) if (entry[0].startsWith(keyPrefix)) yield entry;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel().catch(() => undefined);
  }

  private apply(key: string, entry: MirroredValue | null): void {
    if (entry === null) this.entries.delete(key);
    else this.entries.set(key, entry);
    this.emit('change', key);
  }

  private relative(key: Buffer): string {
    const text = key.toString();
    return text.startsWith(this.prefix) ? text.slice(this.prefix.length) : text;
  }
}
