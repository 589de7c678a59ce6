import { Etcd3 } from 'etcd3';
import type { Logger } from 'pino';

import type { ContainerRoles } from '../cluster/container-roles.js';
import { CaughtUpReporter, alreadyCaughtUp, type WhenCaughtUp } from './caught-up-reporter.js';
import { recordOrCheckFacts } from './cluster-facts.js';
import { Controller, type ChooseNewPrimary } from './controller.js';
import { CoordinatedRoles } from './coordinated-roles.js';
import { EtcdMirror } from './etcd-mirror.js';
import { Membership } from './membership.js';
import type { ClusterFacts } from './records.js';

export { ClusterFactsMismatchError } from './cluster-facts.js';
export type { ChooseNewPrimary } from './controller.js';
export type { WhenCaughtUp } from './caught-up-reporter.js';
export type { Assignment, ClusterFacts } from './records.js';

/** Everything under this etcd prefix belongs to one Sluice cluster. */
export const DEFAULT_PREFIX = '/sluice/';
/** How long a node waits for etcd at start before giving up with a message naming it. */
const CONNECT_TIMEOUT_MS = 30_000;

export interface CoordinationOptions {
  /** etcd endpoints, host:port. */
  endpoints: readonly string[];
  prefix?: string;
  /** This node's address (its member key and what clients dial). */
  self: string;
  containers: number;
  replicationFactor: number;
  leaseTtlMs: number;
  logger: Logger;
  /** The data plane's choice of a new primary among in-sync live replicas (default: the first). */
  chooseNewPrimary?: ChooseNewPrimary;
  /** The data plane's "this replica caught up" (default: at once, nothing to copy). */
  whenCaughtUp?: WhenCaughtUp;
}

export interface Coordination {
  readonly roles: ContainerRoles;
  readonly facts: ClusterFacts;
  /** Whether this node is the controller right now. */
  readonly isController: boolean;
  /** Registers this node as a member (its lease): call once it listens, so nobody is sent to it earlier. */
  join(): Promise<void>;
  /** Leaves at once (lease revoked: its containers move now), stops watching, closes the etcd client. */
  close(): Promise<void>;
}

/**
 * Connects to etcd, records or checks the cluster's facts, mirrors its keys, and builds this node's
 * roles. The node then opens its store, listens, and calls join().
 */
export async function startCoordination(options: CoordinationOptions): Promise<Coordination> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const logger = options.logger.child({ component: 'coordinator' });
  const client = new Etcd3({ hosts: options.endpoints.map((endpoint) => `http://${endpoint}`), dialTimeout: 5_000 });
  const etcd = client.namespace(prefix);
  const closeClient = (): void => client.close();
  let facts: ClusterFacts;
  let mirror: EtcdMirror;
  try {
    facts = await withTimeout(
      recordOrCheckFacts(etcd, prefix, { containers: options.containers, replicationFactor: options.replicationFactor }),
      CONNECT_TIMEOUT_MS,
      `--coordinator: etcd at ${options.endpoints.join(',')} did not answer within ${CONNECT_TIMEOUT_MS / 1000} s; is it running and reachable?`,
    );
    mirror = new EtcdMirror(client, prefix, logger);
    await mirror.start();
  } catch (error) {
    closeClient();
    throw error;
  }

  const membership = new Membership(etcd, options.self, options.leaseTtlMs, logger);
  const roles = new CoordinatedRoles(options.self, facts, mirror, membership);
  const controller = new Controller({
    etcd,
    mirror,
    self: options.self,
    facts,
    leaseTtlMs: options.leaseTtlMs,
    chooseNewPrimary: options.chooseNewPrimary ?? (async (_container, candidates) => candidates[0] ?? null),
    logger,
  });
  const reporter = new CaughtUpReporter(etcd, mirror, roles, options.whenCaughtUp ?? alreadyCaughtUp, logger);
  logger.info({ etcd: options.endpoints, prefix, ...facts }, 'coordinated cluster facts');

  return {
    roles,
    facts,
    get isController() {
      return controller.isLeader;
    },
    async join() {
      await membership.start();
      controller.start();
      reporter.scan();
    },
    async close() {
      reporter.close();
      await controller.close();
      await membership.close();
      await mirror.close();
      closeClient();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
