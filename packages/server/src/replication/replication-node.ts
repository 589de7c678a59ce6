import { SluiceClient } from '@sluice/client';
import type { Command } from '@sluice/protocol';

import type { ContainerLog, Replication, ReplicatedContainer } from '../store/container-log.js';
import { EpochHistory } from '../store/epoch-history.js';
import type { StoreLogger } from '../store/types.js';
import { chooseNewPrimaryWith, type LogReport } from './choose-new-primary.js';
import { cutDivergentTail } from './divergent-tail.js';
import { FencedError, NotEnoughReplicasError } from './errors.js';
import { clientPeerLink, type PeerLink, type PeerToken } from './peer-link.js';
import { promote } from './promotion.js';
import { ReplicatedLog, type Role } from './replicated-log.js';
import { serveReplicationRequest, type ReplicationRequest } from './serve.js';

/** This node's part in one container, as the control plane assigns it (ContainerRoles' ContainerRole). */
export interface ReplicaRole {
  readonly container: number;
  readonly role: Role;
  readonly epoch: number;
  readonly primary: string | null;
  /** Every replica, primary first. */
  readonly replicas: readonly string[];
}

export interface ReplicationNodeOptions {
  /** This node's address, as the replicas lists name it. */
  self: string;
  /**
   * The cluster's replication factor. A majority is counted over it, not over the replicas an
   * assignment lists right now: with nodes gone the controller may list fewer, and a majority of
   * those would let a lone survivor acknowledge.
   */
  replicationFactor: number;
  /** An append no majority confirmed within this long fails with NotEnoughReplicas. */
  ackTimeoutMs: number;
  /** A request to a peer without answer this long counts as failed (the peer is then retried). */
  requestTimeoutMs: number;
  sync: boolean;
  logger: StoreLogger;
  /** Closes the container, runs prepare on its directory, opens it again (attach is called anew). */
  reopen: (container: number, prepare: (directory: string) => Promise<void>) => Promise<void>;
  /** The token this node's replication requests carry (auth on), or null. */
  token: PeerToken;
}

/** How long a promotion without a majority waits before it tries again (while the role stays). */
const PROMOTION_RETRY_MS = 500;
const REPORT_TIMEOUT_MS = 1_000;
const CAUGHT_UP_POLL_MS = 100;

/**
 * The data plane of one node: a ReplicatedLog per container (the store's Replication), driven by the
 * roles the control plane assigns. Becoming primary runs a promotion; becoming backup follows the
 * primary; any other role acknowledges nothing. Requests from peers are answered by the container's
 * log. Role changes of one container run one after another; peers are reached through one pooled
 * client (the server is a client of its peers).
 */
export class ReplicationNode implements Replication {
  private readonly logs = new Map<number, ReplicatedLog>();
  private readonly roles = new Map<number, ReplicaRole>();
  private readonly work = new Map<number, Promise<void>>();
  private peers: SluiceClient | null = null;
  private closed = false;

  constructor(private readonly options: ReplicationNodeOptions) {}

  async attach(container: ReplicatedContainer): Promise<ContainerLog> {
    const history = await EpochHistory.load(container.directory, this.options.sync);
    const log = new ReplicatedLog(container, history, {
      ackTimeoutMs: this.options.ackTimeoutMs,
      logger: this.options.logger,
      sync: this.options.sync,
      onDeposed: (id) => this.schedule(id),
      onDivergentTail: (id, end) => this.reopen(id, (directory) => cutDivergentTail(directory, end, this.options.sync)),
      onStateBehindLog: (id) => this.reopen(id, async () => undefined),
      // The container installs a received snapshot whenever it opens.
      onSnapshotReceived: (id) => this.reopen(id, async () => undefined),
    });
    this.logs.set(container.id, log);
    // After the container finished opening: a role may already be known.
    setImmediate(() => this.schedule(container.id));
    return log;
  }

  /** The control plane's current role for a container (call for each change). */
  setRole(role: ReplicaRole): void {
    this.roles.set(role.container, role);
    this.schedule(role.container);
  }

  /** Answers a replication request a peer sent. */
  serve(command: ReplicationRequest): Promise<Command> | Command {
    const log = this.logs.get(command.container);
    if (!log) throw new NotEnoughReplicasError(`container ${command.container} is not open on ${this.options.self}`);
    return serveReplicationRequest(log, command, (node) => this.replicaLink(command.container, node));
  }

  /** Requests this node sends on a peer's behalf carry its token: only to a replica of the container. */
  private replicaLink(container: number, node: string): PeerLink | null {
    const replicas = this.roles.get(container)?.replicas ?? [];
    return node !== this.options.self && replicas.includes(node) ? this.link(node) : null;
  }

  /** For the controller: the live replica with the longest log (see chooseNewPrimaryWith). */
  readonly chooseNewPrimary = chooseNewPrimaryWith(async (node, container): Promise<LogReport | null> => {
    if (node === this.options.self) {
      const log = this.logs.get(container);
      return log ? { node, lastEpoch: log.history.lastEpoch, end: log.endPosition } : null;
    }
    const link = clientPeerLink(this.client(), node, REPORT_TIMEOUT_MS, this.options.token);
    try {
      const reply = await link.request<'GetEpochEnd'>({ type: 'GetEpochEnd', container, epoch: Number.MAX_SAFE_INTEGER });
      return { node, lastEpoch: reply.epoch, end: { fileNumber: reply.fileNumber, position: reply.position } };
    } finally {
      link.close();
    }
  });

  /** For the control plane: resolves once `replica` holds everything acknowledged of `container` at `epoch`. */
  async whenCaughtUp(container: number, epoch: number, replica: string): Promise<void> {
    for (;;) {
      if (this.closed) throw new Error('the node is closing');
      const role = this.roles.get(container);
      if (role?.epoch !== epoch || role.role !== 'primary') throw new Error(`container ${container} is no longer primary here at epoch ${epoch}`);
      if (this.logs.get(container)?.holdsAcknowledged(replica)) return;
      await new Promise((resolve) => setTimeout(resolve, CAUGHT_UP_POLL_MS));
    }
  }

  /** Acknowledge nothing more anywhere (the node lost its lease, or is stopping). */
  stepDownAll(reason: string): void {
    for (const log of this.logs.values()) log.stepDown(reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stepDownAll('the node is stopping');
    await Promise.allSettled([...this.work.values()]);
    await this.peers?.close();
  }

  private client(): SluiceClient {
    this.peers ??= new SluiceClient({ endpoints: [this.options.self], requestTimeoutMs: this.options.requestTimeoutMs });
    return this.peers;
  }

  private link(node: string): PeerLink {
    return clientPeerLink(this.client(), node, this.options.requestTimeoutMs, this.options.token);
  }

  private schedule(container: number): void {
    if (this.closed) return;
    const previous = this.work.get(container) ?? Promise.resolve();
    const next = previous
      .then(() => this.reconcile(container))
      .catch((error: unknown) => this.options.logger.error({ container, err: error }, 'replication role change failed'));
    this.work.set(container, next);
  }

  /** Brings the container's log to the role the control plane assigned. */
  private async reconcile(container: number): Promise<void> {
    const log = this.logs.get(container);
    const role = this.roles.get(container);
    if (!log || !role || this.closed) return;
    const { self } = this.options;
    if (role.role === 'primary') {
      const backups = role.replicas.filter((node) => node !== self);
      if (log.plays('primary', role.epoch, backups)) return;
      if (log.leads(role.epoch)) return log.changeBackups(backups.map((node) => this.link(node)));
      log.stepDown(`promoting to epoch ${role.epoch}`);
      await this.promote(log, role, backups);
    } else if (role.role === 'backup' && role.primary !== null && role.primary !== self) {
      if (!log.plays('backup', role.epoch, [role.primary])) log.becomeBackup(role.epoch, this.link(role.primary));
    } else if (!log.plays('none', role.epoch, [])) {
      log.stepDown(role.role === 'backup' ? 'its primary is unknown' : 'this node holds no replica of it');
    }
  }

  private async promote(log: ReplicatedLog, role: ReplicaRole, backups: readonly string[]): Promise<void> {
    const links = backups.map((node) => this.link(node));
    try {
      const replicas = Math.max(role.replicas.length, this.options.replicationFactor);
      const { self, requestTimeoutMs, logger } = this.options;
      const outcome = await promote(log, { container: role.container, epoch: role.epoch, backups: links, replicas, self, snapshotStallMs: requestTimeoutMs, logger });
      if (outcome.kind === 'cut-first') {
        for (const link of links) link.close();
        const { end } = outcome;
        this.reopen(role.container, (directory) => cutDivergentTail(directory, end, this.options.sync));
      }
      // 'snapshot-first': the log asked for the reopen that installs it (onSnapshotReceived), then it is promoted again.
      if (outcome.kind === 'snapshot-first') for (const link of links) link.close();
    } catch (error) {
      for (const link of links) link.close();
      if (error instanceof FencedError) {
        this.options.logger.warn({ container: role.container, epoch: role.epoch, err: error }, 'promotion: a newer epoch exists; waiting for the new assignment');
        return;
      }
      this.options.logger.warn({ container: role.container, epoch: role.epoch, err: error }, 'promotion: no majority yet; retrying');
      setTimeout(() => {
        if (this.roles.get(role.container) === role) this.schedule(role.container);
      }, PROMOTION_RETRY_MS).unref();
    }
  }

  /**
   * Closes the container, runs prepare on its directory (e.g. cuts the tail nobody acknowledged),
   * opens it again: recovery rebuilds its state from the log, and its new log takes the role.
   */
  private reopen(container: number, prepare: (directory: string) => Promise<void>): void {
    if (this.closed) return;
    const previous = this.work.get(container) ?? Promise.resolve();
    const next = previous
      .then(() => this.options.reopen(container, prepare))
      .catch((error: unknown) => this.options.logger.error({ container, err: error }, 'reopening the container failed'));
    this.work.set(container, next);
  }
}
