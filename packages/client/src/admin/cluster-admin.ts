import { streamNameProblem } from '@sluice/protocol';
import type { ClusterRouter } from '../connection/cluster-router.js';
import type { Connection } from '../connection/connection.js';
import type { Flow } from '../connection/flow.js';
import { InvalidOptionError } from '../errors.js';

export interface ClusterMember {
  /** `host:port` as in the cluster map. */
  address: string;
  /** Containers this node serves (as primary, in a replicated cluster). */
  containers: number[];
  /** Containers this node holds a copy of without serving them (a backup; none unless replicated). */
  backups: number[];
  /** It answered a KeepAlive within the timeout. */
  reachable: boolean;
  /** Round trip of that KeepAlive, in milliseconds; null when unreachable. */
  rttMs: number | null;
  /** Why it could not be reached. */
  error?: string;
}

export interface ClusterDescription {
  containerCount: number;
  members: ClusterMember[];
}

/** How long `describeCluster` waits for each node's answer before calling it unreachable. */
const HEALTH_TIMEOUT_MS = 2_000;

/** What cluster questions need from the client: the cluster map, each node's admin flow, the token. */
export interface ClusterAdminContext {
  readonly router: Pick<ClusterRouter, 'currentMap'>;
  adminFlow(endpoint: string): Flow;
  token(): Promise<string | null>;
}

/**
 * Questions about the whole cluster: its members, what each serves and whether it answers, and the
 * streams defined anywhere in it. Each is asked of every member of the cluster map.
 */
export class ClusterAdmin {
  constructor(
    private readonly context: ClusterAdminContext,
    private readonly connectionTo: (endpoint: string) => Promise<Connection>,
  ) {}

  /**
   * Every stream of the cluster (of one scope when given), sorted. Each node lists the streams
   * whose metadata it serves; a node that cannot be reached fails the call rather than leave its
   * streams out silently.
   */
  async listStreams(scope?: string): Promise<string[]> {
    if (scope !== undefined && (typeof scope !== 'string' || streamNameProblem(`${scope}/x`) !== null)) {
      throw new InvalidOptionError('scope', `scope ${JSON.stringify(scope)} must be 1-128 of [A-Za-z0-9_.-] starting with a letter or digit`);
    }
    const { members } = await this.context.router.currentMap();
    const token = await this.context.token();
    const lists = await Promise.all(
      members.map((member) =>
        this.context.adminFlow(member).request({ type: 'ListStreams', scope: scope ?? null, token }),
      ),
    );
    return [...new Set(lists.flatMap((list) => list.streams))].sort();
  }

  async describeCluster(): Promise<ClusterDescription> {
    const map = await this.context.router.currentMap();
    const containers = new Map<string, number[]>(map.members.map((member) => [member, []]));
    const backups = new Map<string, number[]>(map.members.map((member) => [member, []]));
    // Each container under its primary; one without a primary right now (failing over) under nobody.
    map.primaries.forEach((primary, container) => containers.get(primary)?.push(container));
    map.backups.forEach((replicas, container) => replicas.forEach((replica) => backups.get(replica)?.push(container)));
    const members = await Promise.all(
      map.members.map(async (address) => ({
        address,
        containers: containers.get(address)!,
        backups: backups.get(address)!,
        ...(await this.probe(address)),
      })),
    );
    return { containerCount: map.containerCount, members };
  }

  private async probe(address: string): Promise<Pick<ClusterMember, 'reachable' | 'rttMs' | 'error'>> {
    const started = performance.now();
    try {
      const connection = await withTimeout(this.connectionTo(address), HEALTH_TIMEOUT_MS);
      await connection.requestControl({ type: 'KeepAlive' }, HEALTH_TIMEOUT_MS);
      return { reachable: true, rttMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch (error) {
      return { reachable: false, rttMs: null, error: (error as Error).message };
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
