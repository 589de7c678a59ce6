import { EventEmitter } from 'node:events';
import { ClusterAdmin, type ClusterDescription } from './admin/cluster-admin.js';
import { SegmentAdmin, type AdminContext } from './admin/segment-admin.js';
import { StreamAdmin, type StreamInfo } from './admin/stream-admin.js';
import type { ClientContext, ClientEvent } from './client-context.js';
import { ClusterRouter } from './connection/cluster-router.js';
import { EndpointPool, type EndpointStats } from './connection/endpoint-pool.js';
import { newBlockBufferPool, newFrameBufferPool } from './buffer-pools.js';
import type { Flow, FlowOptions } from './connection/flow.js';
import { FlowChannel } from './connection/flow-channel.js';
import { FlowIdAllocator } from './connection/flow-ids.js';
import { ClientClosedError } from './errors.js';
import type { Logger } from './logger.js';
import { resolveSettings, type ClientSettings, type SluiceClientOptions } from './options.js';
import { describeReaderGroup, type ReaderGroupDescription } from './group/describe.js';
import type { GroupReaderOptions } from './group/group-options.js';
import { GroupReader } from './group/group-reader.js';
import { EventReader } from './reader/event-reader.js';
import type { ReaderOptions } from './reader/reader-options.js';
import type { ReaderPosition } from './reader/reader-position.js';
import { TailLookups } from './reader/tail-lookups.js';
import type { AutoScalePolicy } from './stream/stream-layout.js';
import { RevisionedClient } from './revisioned/revisioned-client.js';
import { EventWriter } from './writer/event-writer.js';
import type { WriterOptions } from './writer/writer-options.js';

export interface ClientStats {
  /** Per server node, keyed by `host:port`. */
  endpoints: Record<string, EndpointStats>;
  /** Open flows over all nodes. */
  flows: number;
}

/**
 * The entry point of the SDK. One client holds a small pool of connections per server node; every
 * writer, reader and revisioned client made from it is a set of flows multiplexed over that pool.
 */
export class SluiceClient extends EventEmitter {
  readonly #settings: ClientSettings;
  readonly #pools = new Map<string, EndpointPool>();
  readonly #flowIds = new FlowIdAllocator();
  readonly #flowsPerEndpoint = new Map<string, number>();
  readonly #adminFlows = new Map<string, Flow>();
  readonly #resources = new Set<{ close(): Promise<void> | void }>();
  readonly #router: ClusterRouter;
  readonly #context: ClientContext;
  /** Shared by every connection's frame decoder and the readers that hand buffers back. */
  readonly #frameBuffers = newFrameBufferPool();
  readonly #segments: SegmentAdmin;
  readonly #streams: StreamAdmin;
  readonly #cluster: ClusterAdmin;
  #closed = false;

  constructor(options: SluiceClientOptions) {
    super();
    this.#settings = resolveSettings(options);
    const logger = this.#settings.logger;
    this.#router = new ClusterRouter(this.#settings.endpoints, (endpoint) => this.#pool(endpoint).anyConnection(), logger);
    const routes: AdminContext = {
      settings: this.#settings,
      router: this.#router,
      openFlow: (endpoint, flowOptions) => this.#openFlow(endpoint, flowOptions),
      adminFlow: (endpoint) => this.#adminFlow(endpoint),
      token: () => this.#token(),
      emit: (event, detail) => this.#emit(event, detail),
    };
    this.#segments = new SegmentAdmin(routes);
    this.#streams = new StreamAdmin(this.#segments, this.#settings.retryWindowMs);
    const isClosed = (): boolean => this.#closed;
    this.#context = {
      ...routes,
      settings: this.#settings,
      logger,
      segments: this.#segments,
      streams: this.#streams,
      get closed() {
        return isClosed();
      },
      tails: new TailLookups(),
      blockBuffers: newBlockBufferPool(),
      frameBuffers: this.#frameBuffers,
      track: (resource) => {
        this.#resources.add(resource);
      },
      untrack: (resource) => {
        this.#resources.delete(resource);
      },
    };
    this.#cluster = new ClusterAdmin({ ...routes, router: this.#router }, (endpoint) => this.#pool(endpoint).anyConnection());
  }

  /**
   * @internal The contract writers, readers and the revisioned client are built on; for the SDK's
   * own tests (the published declarations leave it out).
   */
  get context(): ClientContext {
    return this.#context;
  }

  /** Segment-level operations (create, info, seal, truncate, delete, attributes). */
  get segments(): SegmentAdmin {
    this.#assertOpen();
    return this.#segments;
  }

  get logger(): Logger {
    return this.#settings.logger;
  }

  /** Creates the stream with a fixed number of segments; idempotent, and safe to retry after a crash. */
  async createStream(stream: string, options: { segments: number }): Promise<void> {
    this.#assertOpen();
    await this.#streams.createStream(stream, options);
  }

  async getStreamInfo(stream: string): Promise<StreamInfo> {
    this.#assertOpen();
    return this.#streams.getStreamInfo(stream);
  }

  /**
   * Seals the active segments and puts `segments` successors over equal key ranges in their place
   * (one new epoch, recorded atomically). Writers and readers follow on their own, keeping each
   * routing key's order. Refused for sealed streams (StreamSealedError) and streams a revisioned
   * client uses (StreamNotScalableError).
   */
  async scaleStream(stream: string, options: { segments: number }): Promise<void> {
    this.#assertOpen();
    await this.#streams.scaleStream(stream, options);
  }

  /** The streams of the cluster (or of one scope), sorted by name. */
  async listStreams(scope?: string): Promise<string[]> {
    this.#assertOpen();
    return this.#cluster.listStreams(scope);
  }

  /** The cluster's members, the containers each serves, and whether each answers now. */
  async describeCluster(): Promise<ClusterDescription> {
    this.#assertOpen();
    return this.#cluster.describeCluster();
  }

  /**
   * Retention: drops the stream's events before position (a reader position). Sealed segments read
   * to the end by it are deleted; the others are truncated at its offsets. Resolves with the numbers
   * of the deleted segments.
   */
  async truncateStream(stream: string, position: ReaderPosition): Promise<number[]> {
    this.#assertOpen();
    return this.#streams.truncateStream(stream, position);
  }

  /**
   * Auto-scaling for stream (off by default; null turns it off): the node owning the stream's
   * metadata splits segments over targetEventsPerSecond and merges neighbours well under it,
   * keeping the count within minSegments..maxSegments.
   */
  async setScalingPolicy(stream: string, policy: AutoScalePolicy | null): Promise<void> {
    this.#assertOpen();
    await this.#streams.setScalingPolicy(stream, policy);
  }

  /**
   * @internal One auto-scaling step from the active segments' event rates (events/s by segment
   * number), made by the node owning the stream's metadata; resolves true when it scaled the stream.
   */
  async autoScale(stream: string, rates: ReadonlyMap<number, number>): Promise<boolean> {
    this.#assertOpen();
    return this.#streams.autoScale(stream, rates);
  }

  async sealStream(stream: string): Promise<void> {
    this.#assertOpen();
    await this.#streams.sealStream(stream);
  }

  async deleteStream(stream: string): Promise<void> {
    this.#assertOpen();
    await this.#streams.deleteStream(stream);
  }

  /**
   * A writer for stream: `write(routingKey, data)` resolves once the event is durable; events with
   * one routing key keep their order. Options are validated here (InvalidOptionError names the option).
   */
  createWriter(stream: string, options?: WriterOptions): EventWriter {
    this.#assertOpen();
    return new EventWriter(this.#context, stream, options);
  }

  /**
   * A reader of every segment of stream: `for await (const event of reader)`; it waits at the tail.
   * With `{ group }`, a member of that reader group: it reads only the segments the group gives it.
   */
  createReader(stream: string, options: GroupReaderOptions): GroupReader;
  createReader(stream: string, options?: ReaderOptions): EventReader;
  createReader(stream: string, options?: ReaderOptions | GroupReaderOptions): EventReader | GroupReader {
    this.#assertOpen();
    if (options !== undefined && options !== null && typeof options === 'object' && 'group' in options) {
      return new GroupReader(this.#context, stream, options);
    }
    return new EventReader(this.#context, stream, options as ReaderOptions | undefined);
  }

  /** A reader group's members, their segments, committed positions and lag (NoSuchReaderGroupError if none). */
  async describeReaderGroup(stream: string, group: string): Promise<ReaderGroupDescription> {
    this.#assertOpen();
    return describeReaderGroup(this.#context, stream, group);
  }

  /** Optimistic-concurrency access to a stream of one segment (created with { segments: 1 }). */
  createRevisionedClient(stream: string): RevisionedClient {
    this.#assertOpen();
    return new RevisionedClient(this.#context, stream);
  }

  stats(): ClientStats {
    const endpoints: Record<string, EndpointStats> = {};
    for (const [endpoint, pool] of this.#pools) endpoints[endpoint] = pool.stats(this.#flowsPerEndpoint.get(endpoint) ?? 0);
    return { endpoints, flows: this.#flowIds.size };
  }

  /** Closes writers (after flushing), readers and every connection; pending requests are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.allSettled([...this.#resources].map((resource) => resource.close()));
    this.#closed = true;
    for (const flow of this.#adminFlows.values()) flow.close();
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }

  /**
   * `await using client = new SluiceClient(…)`: the client closes when the block ends. An open client
   * keeps the process alive (its sockets and timers), so close it, or use it this way.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClientClosedError();
  }

  #pool(endpoint: string): EndpointPool {
    let pool = this.#pools.get(endpoint);
    if (!pool) {
      const settings = this.#settings;
      pool = new EndpointPool(
        endpoint,
        {
          connection: {
            transport: { tls: settings.tls, connectTimeoutMs: settings.connectTimeoutMs },
            requestTimeoutMs: settings.requestTimeoutMs,
            keepAliveIntervalMs: settings.keepAliveIntervalMs,
            keepAliveTimeoutMs: settings.keepAliveTimeoutMs,
            maxFrameSize: settings.maxFrameSize,
            frameBuffers: this.#frameBuffers,
            clusterFingerprint: () => this.#router.fingerprint,
            logger: settings.logger,
          },
          maxConnections: settings.maxConnectionsPerEndpoint,
          maxDedicatedConnections: settings.maxDedicatedConnectionsPerEndpoint,
          acquireTimeoutMs: settings.connectTimeoutMs,
          idleTimeoutMs: settings.idleConnectionTimeoutMs,
        },
        (flow) => this.#retireFlow(flow),
        (event, detail) => this.#emit(event, detail),
      );
      this.#pools.set(endpoint, pool);
    }
    return pool;
  }

  #openFlow(endpoint: string, options: FlowOptions = {}): Flow {
    this.#assertOpen();
    const flow = new FlowChannel(this.#flowIds.allocate(), options.pooled ?? true, this.#pool(endpoint));
    this.#flowsPerEndpoint.set(endpoint, (this.#flowsPerEndpoint.get(endpoint) ?? 0) + 1);
    return flow;
  }

  #retireFlow(flow: FlowChannel): void {
    this.#flowIds.free(flow.flowId);
    this.#flowsPerEndpoint.set(flow.endpoint, (this.#flowsPerEndpoint.get(flow.endpoint) ?? 1) - 1);
  }

  #adminFlow(endpoint: string): Flow {
    let flow = this.#adminFlows.get(endpoint);
    if (!flow || flow.closed) {
      flow = this.#openFlow(endpoint);
      this.#adminFlows.set(endpoint, flow);
    }
    return flow;
  }

  async #token(): Promise<string | null> {
    const source = this.#settings.token;
    if (source === undefined) return null;
    return typeof source === 'string' ? source : await source();
  }

  #emit(event: ClientEvent, detail: Record<string, unknown>): void {
    if (this.listenerCount(event) > 0) this.emit(event, detail);
  }
}
