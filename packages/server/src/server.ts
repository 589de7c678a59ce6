import { readFile } from 'node:fs/promises';

import { FRAME_HEADER_SIZE, formatAddress } from '@sluice/protocol';
import type { Logger } from 'pino';

import { SluiceClient } from '@sluice/client';

import { createAuthorizer, readSecretFile } from './auth/index.js';
import { mintToken } from './auth/token.js';
import type { ContainerRoles } from './cluster/container-roles.js';
import { StaticRoles, ownedContainersOf } from './cluster/static-roles.js';
import { resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
import { startCoordination, type Coordination } from './coordinator/index.js';
import { createLogger } from './logger.js';
import type { Health } from './metrics/metrics-http.js';
import { NodeMetrics } from './metrics/node-metrics.js';
import { Listener } from './net/listener.js';
import { ReplicationNode } from './replication/replication-node.js';
import { AutoScaler } from './scaling/auto-scaler.js';
import { checkDataFormat, openSegmentStore } from './store/index.js';
import type { SegmentStore, StoreStats } from './store/types.js';

/**
 * Room in a SegmentRead reply for everything but the data (header, msgpack, the segment name), so
 * a read reply always fits the frame limit both ends use.
 */
const READ_REPLY_OVERHEAD = FRAME_HEADER_SIZE + 64 * 1024;
/** --replication-factor when a coordinated cluster is started without one. */
const DEFAULT_REPLICATION_FACTOR = 3;

export interface SluiceServer {
  readonly config: ServerConfig;
  /** The bound address (the real port when config.port is 0). */
  readonly host: string;
  readonly port: number;
  /** This node's address in the cluster map. */
  readonly node: string;
  /** This node's role for each container (static, single-node or coordinated), and the map it serves. */
  readonly cluster: ContainerRoles;
  readonly connectionCount: number;
  /** The bound port of /metrics and /health; null when --metrics-port is not set. */
  readonly metricsPort: number | null;
  stats(): StoreStats;
  /** The node's metrics in Prometheus text format (what GET /metrics serves). */
  metrics(): Promise<string>;
  /** What GET /health serves. */
  health(): Health;
  /**
   * Stops accepting, lets in-flight requests finish (up to config.shutdownTimeoutMs; reads waiting
   * at the tail answer at once), closes connections, then closes the store (fsync + checkpoint).
   */
  close(): Promise<void>;
}

async function authSecretOf(config: ServerConfig): Promise<string | null> {
  if (config.authSecret !== null) return config.authSecret;
  if (config.authSecretFile !== null) return readSecretFile(config.authSecretFile);
  return null;
}

/**
 * The node's own token, for what it sends the cluster as a client (the auto-scaler's calls, its
 * replication requests to peers): every stream, every right, signed with the shared secret.
 */
function nodeToken(secret: string | null): (() => string) | undefined {
  if (secret === null) return undefined;
  const ttlMs = 60 * 60 * 1000;
  let token = { value: '', renewAt: 0 };
  return () => {
    if (Date.now() >= token.renewAt) token = { value: mintToken(secret, { streams: ['*'], rights: ['read', 'write', 'admin'], ttlMs }), renewAt: Date.now() + ttlMs / 2 };
    return token.value;
  };
}

async function tlsOf(config: ServerConfig): Promise<{ cert: Buffer; key: Buffer } | null> {
  if (config.tlsCert === null || config.tlsKey === null) return null;
  const read = async (flag: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new Error(`${flag}: cannot read ${JSON.stringify(path)}: ${(error as Error).message}`, { cause: error });
    }
  };
  return { cert: await read('--tls-cert', config.tlsCert), key: await read('--tls-key', config.tlsKey) };
}

function coordinate(config: ServerConfig, self: string, logger: Logger, dataPlane: ReplicationNode): Promise<Coordination> {
  return startCoordination({
    endpoints: config.coordinator!,
    self,
    containers: config.containers,
    replicationFactor: config.replicationFactor ?? DEFAULT_REPLICATION_FACTOR,
    leaseTtlMs: config.leaseTtlMs,
    logger,
    chooseNewPrimary: dataPlane.chooseNewPrimary,
    whenCaughtUp: (container, epoch, replica) => dataPlane.whenCaughtUp(container, epoch, replica),
  });
}

/** A coordinated node's data plane: its containers' logs replicated under the roles etcd assigns. */
function replicationOf(config: ServerConfig, self: string, logger: Logger, store: () => SegmentStore, token: (() => string) | undefined): ReplicationNode {
  return new ReplicationNode({
    self,
    replicationFactor: config.replicationFactor ?? DEFAULT_REPLICATION_FACTOR,
    // An append no majority confirmed within a lease fails typed: by then the cluster is failing over.
    ackTimeoutMs: config.leaseTtlMs,
    requestTimeoutMs: config.leaseTtlMs,
    sync: config.fsync === 'always',
    logger: logger.child({ component: 'replication' }),
    reopen: (container, prepare) => store().reopenContainer(container, prepare),
    token: token ?? (() => null),
  });
}

/**
 * The segments of a container this node serves, for the auto-scaler: none while its log takes no
 * writes (a replica still promoting, a full disk), whose segmentNames() throws that reason.
 */
function servedSegmentNames(store: SegmentStore, container: number): string[] {
  try {
    return store.container(container).segmentNames();
  } catch {
    return [];
  }
}

/**
 * Starts a node: opens the store for the containers this node owns, listens, and serves. With
 * `port: 0` and no cluster the node's address is learned from the bound port. Rejects (with a
 * message naming the cause) when the config is invalid, the store cannot open or the port is taken.
 */
export async function startServer(options: ServerOptions = {}, context: { logger?: Logger } = {}): Promise<SluiceServer> {
  const config = resolveConfig(options);
  const logger = context.logger ?? createLogger({ level: config.logLevel, pretty: config.logPretty });
  const secret = await authSecretOf(config);
  const authorizer = createAuthorizer(secret);
  const tlsOptions = await tlsOf(config);

  // A cluster of one owns every container whatever its address, which may only be known after bind.
  const clustered = config.cluster !== null || config.coordinator !== null;
  const configuredSelf = config.node ?? (clustered ? formatAddress(config.host, config.port) : null);
  const members = config.cluster ?? null;
  // Checked before joining: a node whose data dir it cannot use never takes a lease or containers.
  await checkDataFormat(config.dataDir);
  let opened: SegmentStore | null = null;
  const replication = config.coordinator !== null ? replicationOf(config, configuredSelf!, logger, () => opened!, nodeToken(secret)) : null;
  const coordination = replication !== null ? await coordinate(config, configuredSelf!, logger, replication) : null;
  // A coordinated node keeps every container: which it is primary or backup of changes at run time.
  const owned =
    members !== null && configuredSelf !== null
      ? ownedContainersOf({ members, containerCount: config.containers }, configuredSelf)
      : Array.from({ length: config.containers }, (_, container) => container);

  const leave = async (): Promise<void> => {
    await coordination?.close().catch((error: unknown) => logger.error({ err: error }, 'leaving the coordinated cluster failed'));
  };
  const store = await openSegmentStore({
    dataDir: config.dataDir,
    containers: owned,
    fsync: config.fsync,
    cacheBytes: config.cacheBytes,
    logFileBytes: config.logFileBytes,
    checkpointIntervalBytes: config.checkpointIntervalBytes,
    maxEventSize: config.maxEventSize,
    logger: logger.child({ component: 'store' }),
    replication: replication ?? undefined,
  }).catch(async (error: unknown) => {
    await leave();
    throw error;
  });
  opened = store;

  const listener = new Listener(
    {
      host: config.host,
      port: config.port,
      tls: tlsOptions,
      maxConnections: config.maxConnections,
      helloTimeoutMs: config.helloTimeoutMs,
    },
    logger,
  );
  let bound: { host: string; port: number };
  try {
    bound = await listener.listen();
  } catch (error) {
    await store.close().catch((closeError: unknown) => logger.error({ err: closeError }, 'store close failed'));
    await leave();
    throw error;
  }

  const self = configuredSelf ?? formatAddress(config.host, bound.port);
  const cluster: ContainerRoles = coordination?.roles ?? new StaticRoles(members ?? [self], config.containers, self);
  const metrics = new NodeMetrics(
    {
      store: () => store.stats(),
      connections: () => listener.connectionCount,
      writers: () => listener.writerCount,
      cluster,
    },
    { defaultMetrics: config.metricsPort !== null },
  );
  if (config.metricsPort !== null) {
    try {
      await metrics.serve(config.host, config.metricsPort, logger);
    } catch (error) {
      listener.stopAccepting();
      await store.close().catch((closeError: unknown) => logger.error({ err: closeError }, 'store close failed'));
      await leave();
      throw error;
    }
  }

  listener.start({
    cluster,
    store,
    authorizer,
    maxEventSize: config.maxEventSize,
    maxReadBytes: config.maxFrameSize - Math.min(READ_REPLY_OVERHEAD, Math.floor(config.maxFrameSize / 4)),
    maxReadWaitMs: config.maxReadWaitMs,
    maxWritersPerConnection: config.maxWritersPerConnection,
    counts: metrics.counts,
    replication: replication ?? undefined,
    limits: {
      maxFrameSize: config.maxFrameSize,
      maxUnackedBytes: config.maxUnackedBytes,
      helloTimeoutMs: config.helloTimeoutMs,
      frameTimeoutMs: config.frameTimeoutMs,
    },
    logger,
  });

  const autoScaler = new AutoScaler(
    new SluiceClient({ endpoints: [self], token: nodeToken(secret), logger: logger.child({ component: 'auto-scaler' }) }),
    () => cluster.ownedContainers.flatMap((id) => servedSegmentNames(store, id)),
    config.autoScaleIntervalMs,
    logger.child({ component: 'auto-scaler' }),
  );
  autoScaler.start();

  if (replication !== null && coordination !== null) {
    const { roles } = coordination;
    for (let container = 0; container < config.containers; container++) replication.setRole(roles.roleOf(container));
    roles.onChange((role) => replication.setRole(role));
  }
  // Only now, listening, does a coordinated node become a member that primaries can be given to.
  await coordination?.join();
  logger.info(
    {
      host: bound.host,
      port: bound.port,
      node: self,
      members: cluster.clusterMap().members,
      ...(coordination !== null ? { coordinator: config.coordinator, replicationFactor: coordination.facts.replicationFactor } : {}),
      containers: cluster.ownedContainers.length,
      containerCount: config.containers,
      fingerprint: cluster.fingerprint,
      fsync: config.fsync,
      tls: tlsOptions !== null,
      auth: authorizer.enabled,
      metricsPort: metrics.port,
    },
    'listening',
  );
  if (config.fsync === 'none') logger.warn('--fsync none: appends are acknowledged before they are durable (tests only)');

  let closing: Promise<void> | null = null;
  const shutdown = async (): Promise<void> => {
    metrics.markStopping();
    const started = Date.now();
    logger.info({ connections: listener.connectionCount }, 'shutting down');
    listener.stopAccepting();
    await autoScaler.close();
    // Leaving first (lease revoked) moves this node's containers to others while its requests finish.
    await leave();
    const unfinished = await listener.drainAndClose(config.shutdownTimeoutMs);
    if (unfinished > 0) logger.warn({ unfinished }, 'requests still pending at the shutdown timeout were dropped');
    await store.close();
    await replication?.close();
    await metrics.close();
    logger.info({ ms: Date.now() - started }, 'stopped');
  };
  return {
    config,
    host: bound.host,
    port: bound.port,
    node: cluster.self,
    cluster,
    get connectionCount() {
      return listener.connectionCount;
    },
    metricsPort: metrics.port,
    stats: () => store.stats(),
    metrics: () => metrics.registry.metrics(),
    health: () => metrics.health(),
    close: () => (closing ??= shutdown()),
  };
}
