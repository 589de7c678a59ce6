import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

import type { ContainerRoles } from '../cluster/container-roles.js';
import type { StoreStats } from '../store/types.js';
import { startMetricsHttp, type Health, type MetricsHttpServer } from './metrics-http.js';
import { RequestCounts } from './request-counts.js';

/** Where the metrics come from; everything is read when the registry is scraped, never pushed. */
export interface MetricSources {
  counts: RequestCounts;
  store: () => StoreStats;
  connections: () => number;
  /** (segment, writer) pairs set up with SetupAppend on live connections. */
  writers: () => number;
  cluster: ContainerRoles;
}

/** The prefix of every Sluice metric (process_* and nodejs_* are prom-client's default metrics). */
export const METRIC_PREFIX = 'sluice_';

/**
 * A Registry of its own per node (not prom-client's global one: several nodes may share a process,
 * as in tests). Every metric has a collect() that reads its source at scrape time, so serving
 * requests costs nothing beyond the plain increments of RequestCounts.
 */
export function createNodeRegistry(sources: MetricSources, options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  const { counts, cluster } = sources;
  // StoreStats is a few numbers copied from the store's counters: cheap enough to read per metric.
  const storeStats = sources.store;

  const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;
  const registers = [registry];

  new Gauge({
    name: name('node_info'),
    help: "This node's address and cluster map fingerprint (value 1)",
    labelNames: ['node', 'fingerprint'],
    registers,
    collect() {
      this.set({ node: cluster.self, fingerprint: cluster.fingerprint }, 1);
    },
  });
  new Gauge({
    name: name('containers_owned'),
    help: 'Containers this node owns',
    registers,
    collect() {
      this.set(cluster.ownedContainers.length);
    },
  });
  new Gauge({
    name: name('containers_failed'),
    help: 'Containers whose log cannot be written (disk full, I/O error); they take no appends until a restart',
    registers,
    collect() {
      this.set(storeStats().failedContainers.length);
    },
  });
  new Gauge({
    name: name('connections'),
    help: 'Open client and peer connections',
    registers,
    collect() {
      this.set(sources.connections());
    },
  });
  new Gauge({
    name: name('writers'),
    help: 'Writer flows set up (SetupAppend per segment and writer id) on open connections',
    registers,
    collect() {
      this.set(sources.writers());
    },
  });

  labelledCounter(registry, name('requests_total'), 'Requests received, by command', 'command', () => counts.requests);
  labelledCounter(registry, name('errors_total'), 'Error replies sent, by code', 'code', () => counts.errors);

  totalCounter(registry, name('appends_total'), 'Append records made durable', () => storeStats().appends);
  totalCounter(registry, name('events_total'), 'Events in durable appends', () => storeStats().events);
  totalCounter(registry, name('appended_bytes_total'), 'Bytes of events made durable', () => storeStats().bytes);
  totalCounter(registry, name('fsyncs_total'), 'Log writes that returned once on disk (O_DSYNC): one per group commit and file', () => storeStats().fsyncs);
  totalCounter(registry, name('syncs_total'), 'Every sync call: those log writes, checkpoint file and directory fsyncs', () => storeStats().syncs);
  new Gauge({
    name: name('appends_per_fsync'),
    help: 'Append records per fsync since start (group commit batching); rate(appends)/rate(fsyncs) for a window',
    registers,
    collect() {
      const { appends, fsyncs } = storeStats();
      this.set(fsyncs === 0 ? 0 : appends / fsyncs);
    },
  });
  totalCounter(registry, name('corrupt_reads_total'), 'Reads that found a record failing its CRC in a log file (never served)', () => storeStats().corruptReads);
  totalCounter(registry, name('read_waits_total'), 'Reads that found no data at the tail and waited for it', () => counts.readWaits);
  totalCounter(registry, name('read_bytes_total'), 'Segment bytes returned by reads', () => counts.readBytes);
  totalCounter(
    registry,
    name('append_setups_evicted_total'),
    'Writer setups dropped, oldest first, from connections at --max-writers-per-connection',
    () => counts.appendSetupsEvicted,
  );
  new Gauge({
    name: name('cache_bytes'),
    help: 'Bytes of segment data in the read cache',
    registers,
    collect() {
      this.set(storeStats().cacheBytes);
    },
  });
  totalCounter(registry, name('cache_hits_total'), 'Reads served from the cache', () => storeStats().cacheHits);
  totalCounter(registry, name('cache_misses_total'), 'Reads that went to the log files', () => storeStats().cacheMisses);
  new Gauge({
    name: name('recovery_seconds'),
    help: 'How long opening the store (recovery) took at start',
    registers,
    collect() {
      this.set(storeStats().recoveryMs / 1000);
    },
  });
  new Gauge({
    name: name('recovered_log_bytes'),
    help: 'Log bytes replayed by recovery at start',
    registers,
    collect() {
      this.set(storeStats().recoveredLogBytes);
    },
  });

  new Counter({
    name: name('container_appends_total'),
    help: 'Append blocks accepted, by container',
    labelNames: ['container'],
    registers,
    collect() {
      this.reset();
      for (const [container, { appends }] of counts.containerAppends) this.inc({ container: String(container) }, appends);
    },
  });
  new Counter({
    name: name('container_appended_bytes_total'),
    help: 'Bytes of append blocks accepted, by container',
    labelNames: ['container'],
    registers,
    collect() {
      this.reset();
      for (const [container, { bytes }] of counts.containerAppends) this.inc({ container: String(container) }, bytes);
    },
  });

  if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** A counter whose value is read from a running total at scrape time. */
function totalCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function labelledCounter(registry: Registry, name: string, help: string, label: string, read: () => ReadonlyMap<string, number>): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, count] of read()) this.inc({ [label]: value }, count);
    },
  });
}

/**
 * A node's metrics and health: the counters the request path increments, the registry that reads
 * them, and (once serve() is called) the HTTP endpoint that exposes both.
 */
export class NodeMetrics {
  readonly counts = new RequestCounts();
  readonly registry: Registry;
  private readonly startedAt = Date.now();
  private stopping = false;
  private http: MetricsHttpServer | null = null;

  /**
   * defaultMetrics adds prom-client's process metrics; they install observers that live as long as
   * the process, so they are only worth it when the metrics are served.
   */
  constructor(
    private readonly sources: Omit<MetricSources, 'counts'>,
    options: { defaultMetrics?: boolean } = {},
  ) {
    this.registry = createNodeRegistry({ ...sources, counts: this.counts }, { defaultMetrics: options.defaultMetrics ?? false });
  }

  /** The bound HTTP port; null until serve() resolves. */
  get port(): number | null {
    return this.http?.port ?? null;
  }

  health(): Health {
    const { cluster } = this.sources;
    const { failedContainers } = this.sources.store();
    return {
      status: this.stopping ? 'stopping' : failedContainers.length > 0 ? 'failing' : 'ok',
      ...(failedContainers.length > 0 ? { failedContainers } : {}),
      node: cluster.self,
      fingerprint: cluster.fingerprint,
      containers: cluster.ownedContainers.length,
      connections: this.sources.connections(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
    };
  }

  /** Serves /metrics and /health on host:port (0: a free one) and logs "metrics listening". */
  async serve(host: string, port: number, logger: Logger): Promise<number> {
    this.http = await startMetricsHttp({ host, port, registry: this.registry, health: () => this.health() }, logger);
    logger.info({ host, port: this.http.port, paths: ['/metrics', '/health'] }, 'metrics listening');
    return this.http.port;
  }

  /** From now on /health answers 503 "stopping", so balancers and orchestrators stop sending work. */
  markStopping(): void {
    this.stopping = true;
  }

  async close(): Promise<void> {
    await this.http?.close();
  }
}
