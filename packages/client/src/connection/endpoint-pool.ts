import genericPool, { type Pool } from 'generic-pool';
import { ClientClosedError, ConnectFailedError, SluiceError } from '../errors.js';
import { backoffDelay, Pauses } from './backoff.js';
import { Connection, type ConnectionSettings } from './connection.js';
import { errnoOf, isRefusal } from './errno.js';
import { newEndpointCounters, type EndpointCounters } from './counters.js';
import type { FlowChannel, FlowPlacer } from './flow-channel.js';

export interface EndpointPoolSettings {
  connection: ConnectionSettings;
  maxConnections: number;
  maxDedicatedConnections: number;
  /** How long a dead endpoint may take to fail an acquire (generic-pool retries creation until then). */
  acquireTimeoutMs: number;
  /** A shared connection with no flows is closed after this long. */
  idleTimeoutMs: number;
}

export interface EndpointStats {
  endpoint: string;
  connections: number;
  dedicatedConnections: number;
  flows: number;
  inFlightRequests: number;
  outstandingBytes: number;
  droppedUnknownFlow: number;
  droppedUnknownSequence: number;
  connectionsOpened: number;
  connectionsLost: number;
  reconnects: number;
}

/**
 * The connections to one node. generic-pool owns their lives (create = connect + TLS + Hello,
 * validate, destroy, the per-endpoint maximum, idle eviction, exclusive lending). Shared
 * connections are borrowed once and multiplexed: a new flow goes to a connection with no flows,
 * else to a new connection while under the maximum, else to the least busy one (fewest outstanding
 * bytes, then fewest flows). Dedicated connections are lent to one flow at a time.
 */
export class EndpointPool implements FlowPlacer {
  readonly counters: EndpointCounters = newEndpointCounters();
  private readonly sharedPool: Pool<Slot>;
  private readonly dedicatedPool: Pool<Slot>;
  private readonly shared: Connection[] = [];
  private readonly opening = new Set<Promise<Connection>>();
  private readonly dedicated = new Set<Connection>();
  private readonly idleTimers = new Map<Connection, NodeJS.Timeout>();
  private lastCreateError: unknown = null;
  private consecutiveCreateFailures = 0;
  private closed = false;
  /** Backoff pauses of connection attempts (up to one per connection being created), ended when the pool closes. */
  private readonly pauses = new Pauses();
  /** A connection attempt to an endpoint with no open connection, made outside the pool (acquireOrRefused). */
  private contact: Promise<void> | null = null;
  /** What it opened, for the pool's next create. */
  private contacted: Connection | null = null;

  constructor(
    readonly endpoint: string,
    private readonly settings: EndpointPoolSettings,
    private readonly onFlowRetired: (flow: FlowChannel) => void,
    private readonly onEvent: (event: 'connect' | 'disconnect', detail: Record<string, unknown>) => void,
  ) {
    this.sharedPool = this.createPool(settings.maxConnections);
    this.dedicatedPool = this.createPool(settings.maxDedicatedConnections);
  }

  get requestTimeoutMs(): number {
    return this.settings.connection.requestTimeoutMs;
  }

  async place(flow: FlowChannel): Promise<Connection> {
    const connection = flow.pooled ? await this.placeShared() : await this.acquire(this.dedicatedPool);
    if (!flow.pooled) this.dedicated.add(connection);
    if (flow.generation > 0) this.counters.reconnects += 1;
    this.cancelIdleTimer(connection);
    connection.attach(flow);
    return connection;
  }

  release(flow: FlowChannel, connection: Connection): void {
    connection.detach(flow.flowId);
    if (this.dedicated.delete(connection)) {
      if (connection.isOpen) void this.dedicatedPool.release(connection);
      else this.destroy(this.dedicatedPool, connection);
    } else if (connection.isOpen && connection.flowCount === 0) {
      this.startIdleTimer(connection);
    }
  }

  retire(flow: FlowChannel): void {
    this.onFlowRetired(flow);
  }

  /** A request on flow 0 of any live shared connection (opening one if needed). */
  async anyConnection(): Promise<Connection> {
    const live = this.shared.find((connection) => connection.isOpen);
    return live ?? this.placeShared();
  }

  stats(flows: number): EndpointStats {
    const all = [...this.shared, ...this.dedicated];
    return {
      endpoint: this.endpoint,
      connections: this.shared.length,
      dedicatedConnections: this.dedicated.size,
      flows,
      inFlightRequests: all.reduce((sum, connection) => sum + connection.inFlightRequests, 0),
      outstandingBytes: all.reduce((sum, connection) => sum + connection.outstandingBytes, 0),
      ...this.counters,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pauses.endAll();
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    this.idleTimers.clear();
    await Promise.allSettled([...this.opening]);
    this.contacted?.close('closed by the client');
    this.contacted = null;
    for (const connection of [...this.shared]) this.destroy(this.sharedPool, connection);
    for (const connection of [...this.dedicated]) this.destroy(this.dedicatedPool, connection);
    await Promise.all([this.drainPool(this.sharedPool), this.drainPool(this.dedicatedPool)]);
  }

  private async placeShared(): Promise<Connection> {
    for (;;) {
      if (this.closed) throw new ClientClosedError();
      const live = this.shared.filter((connection) => connection.isOpen);
      const unused = live.find((connection) => connection.flowCount === 0);
      if (unused) return unused;
      if (live.length + this.opening.size < this.settings.maxConnections) return this.openShared();
      if (live.length > 0) return leastBusy(live);
      await Promise.race([...this.opening]).catch(() => undefined);
      if (this.opening.size === 0 && this.shared.every((connection) => !connection.isOpen)) {
        return this.openShared();
      }
    }
  }

  private async openShared(): Promise<Connection> {
    const opening = this.acquire(this.sharedPool);
    this.opening.add(opening);
    try {
      const connection = await opening;
      this.shared.push(connection);
      connection.onClose(() => {
        this.shared.splice(this.shared.indexOf(connection), 1);
        this.cancelIdleTimer(connection);
        this.destroy(this.sharedPool, connection);
      });
      return connection;
    } finally {
      this.opening.delete(opening);
    }
  }

  private async acquire(pool: Pool<Slot>): Promise<Connection> {
    if (this.closed) throw new ClientClosedError();
    let slot: Slot;
    try {
      slot = await this.acquireOrRefused(pool);
    } catch (error) {
      const cause = this.lastCreateError ?? error;
      // A refusal (version, cluster map, auth) won't change by retrying: report it as it is.
      if (cause instanceof SluiceError && !cause.retriable) throw cause;
      const reason = cause instanceof ConnectFailedError ? cause.reason : cause instanceof Error ? cause.message : String(cause);
      const gaveUp = isRefusal(errnoOf(cause)) ? '' : ` (gave up after ${this.settings.acquireTimeoutMs} ms)`;
      throw new ConnectFailedError(this.endpoint, `${reason}${gaveUp}`, { cause, reachedBefore: this.counters.connectionsOpened > 0 });
    }
    if (slot instanceof Connection) return slot;
    void pool.destroy(slot).catch(() => undefined);
    throw new ClientClosedError();
  }

  /**
   * pool.acquire(), except that when the pool would have to open a connection, the attempt is made
   * here first: refused (nothing listens, or the name does not resolve) fails at once, so a wrong
   * endpoint, a node not started or a node that just died is reported now rather than after the
   * connect timeout (the caller's route then learns the map again and backs off: a failover is
   * followed in milliseconds, not after the pool's retries). A connection it opens is the one the
   * pool's next create returns. Other failures (a timeout) are retried by the pool as before.
   */
  private async acquireOrRefused(pool: Pool<Slot>): Promise<Slot> {
    if (this.contacted === null && pool.available === 0) {
      // Acquires that come meanwhile wait for the same attempt.
      this.contact ??= Connection.open(this.endpoint, this.settings.connection, this.counters)
        .then((connection) => {
          this.contacted = connection;
        })
        .finally(() => {
          this.contact = null;
        });
      try {
        await this.contact;
      } catch (error) {
        this.lastCreateError = error;
        if (isRefusal(errnoOf(error))) throw error;
      }
    }
    return pool.acquire();
  }


  private createPool(max: number): Pool<Slot> {
    const pool = genericPool.createPool<Slot>(
      {
        create: () => this.createConnection(),
        destroy: async (slot) => slot.close('closed by the client'),
        // A ClosedSlot is lent as it is: taking it is how a waiting acquire learns the client closed.
        validate: async (slot) => slot.isOpen || slot instanceof ClosedSlot,
      },
      {
        max,
        min: 0,
        acquireTimeoutMillis: this.settings.acquireTimeoutMs,
        testOnBorrow: true,
        idleTimeoutMillis: this.settings.idleTimeoutMs,
        evictionRunIntervalMillis: Math.max(1_000, Math.floor(this.settings.idleTimeoutMs / 2)),
        autostart: false,
      },
    );
    pool.on('factoryCreateError', (error) => {
      this.lastCreateError = error;
    });
    return pool;
  }

  /**
   * generic-pool runs a failed create again at once for as long as an acquire waits, and a waiting
   * acquire cannot be cancelled. So a failed attempt is paced by a backoff pause before the next one,
   * and once the pool is closing no attempt fails: each yields a ClosedSlot, which ends one waiting
   * acquire (acquire() turns it into ClientClosedError). A create that failed at once after close
   * would be retried in a microtask loop that never lets a timer, not even the acquire timeout, run.
   */
  private async createConnection(): Promise<Slot> {
    if (this.consecutiveCreateFailures > 0) await this.pauses.pause(backoffDelay(this.consecutiveCreateFailures));
    if (this.closed) return new ClosedSlot();
    try {
      const connection = this.contacted ?? (await Connection.open(this.endpoint, this.settings.connection, this.counters));
      this.contacted = null;
      this.consecutiveCreateFailures = 0;
      this.lastCreateError = null;
      if (this.closed) {
        connection.close('client closed while connecting');
        return new ClosedSlot();
      }
      this.onEvent('connect', { endpoint: this.endpoint, connection: connection.id });
      connection.onClose((error) => {
        this.counters.connectionsLost += 1;
        this.onEvent('disconnect', { endpoint: this.endpoint, connection: connection.id, reason: error.message });
      });
      return connection;
    } catch (error) {
      if (this.closed) return new ClosedSlot();
      this.consecutiveCreateFailures += 1;
      throw error;
    }
  }

  private destroy(pool: Pool<Slot>, connection: Connection): void {
    this.dedicated.delete(connection);
    if (pool.isBorrowedResource(connection)) void pool.destroy(connection).catch(() => undefined);
    else connection.close('closed by the client');
  }

  private startIdleTimer(connection: Connection): void {
    this.cancelIdleTimer(connection);
    const timer = setTimeout(() => {
      this.idleTimers.delete(connection);
      if (connection.flowCount === 0) connection.close(`idle for ${this.settings.idleTimeoutMs} ms`);
    }, this.settings.idleTimeoutMs);
    timer.unref();
    this.idleTimers.set(connection, timer);
  }

  private cancelIdleTimer(connection: Connection): void {
    const timer = this.idleTimers.get(connection);
    if (timer) clearTimeout(timer);
    this.idleTimers.delete(connection);
  }

  private async drainPool(pool: Pool<Slot>): Promise<void> {
    await pool.drain();
    await pool.clear();
  }
}

/** What the pools' create yields once the client is closing, in place of a connection. */
class ClosedSlot {
  readonly isOpen = false;
  close(): void {}
}

type Slot = Connection | ClosedSlot;

function leastBusy(connections: Connection[]): Connection {
  let best = connections[0]!;
  for (const connection of connections) {
    if (
      connection.outstandingBytes < best.outstandingBytes ||
      (connection.outstandingBytes === best.outstandingBytes && connection.flowCount < best.flowCount)
    ) {
      best = connection;
    }
  }
  return best;
}
