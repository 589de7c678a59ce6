import { containerOfSegment, type CommandOf } from '@sluice/protocol';
import { ConnectFailedError, ConnectionLostError, NoPrimaryError, TimeoutError, WrongHostError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isRouteChange } from '../route/retriable.js';
import type { Connection } from './connection.js';
import { MapWatch } from './map-watch.js';

export interface KnownMap {
  members: readonly string[];
  containerCount: number;
  fingerprint: string;
  /** Grows whenever a primary changes (0 in static clusters). */
  epoch: number;
  /** The primary of each container; '' where it has none right now. */
  primaries: readonly string[];
  /** The other replicas of each container (empty lists where nothing is replicated). */
  backups: readonly (readonly string[])[];
}

/**
 * Knows which node serves a segment. It learns the cluster map (each container's primary) from any
 * reachable endpoint. A WrongHost reply names the owner: that owner is used at once for the segment
 * (one hop), and the map is fetched again. A lost connection, a node that cannot be reached, or a
 * node that says it is not (or no longer) primary also makes it fetch the map again, from any member
 * it knows: in a coordinated cluster primaries move, and clients follow without a restart.
 */
export class ClusterRouter {
  private map: KnownMap | null = null;
  private loading: Promise<KnownMap> | null = null;
  private readonly redirects = new Map<string, string>();
  /** Members of the last map learned, kept when the map is dropped: the seeds may be the nodes that are down. */
  private knownMembers: readonly string[] = [];
  /** The newest map epoch learned (kept when the map is dropped); 0 in static clusters. */
  private newestEpoch = 0;
  private readonly watch = new MapWatch(
    () => this.newestEpoch,
    (afterEpoch, waitMs) => this.askForNews(afterEpoch, waitMs),
  );

  constructor(
    private readonly seeds: readonly string[],
    private readonly connectionTo: (endpoint: string) => Promise<Connection>,
    private readonly logger: Logger,
  ) {}

  get fingerprint(): string | null {
    return this.map?.fingerprint ?? null;
  }

  /** The node to send the segment's requests to; NoPrimaryError (retriable) while its container has none. */
  async ownerOf(segment: string): Promise<string> {
    const redirected = this.redirects.get(segment);
    if (redirected) return redirected;
    const map = await this.currentMap();
    const primary = map.primaries[containerOfSegment(segment, map.containerCount)];
    if (!primary) {
      this.map = null; // ask again next time: a primary is being chosen
      throw new NoPrimaryError(segment);
    }
    return primary;
  }

  /** The other replicas of the segment's container: its backups in a replicated cluster, else none. */
  async backupsOf(segment: string): Promise<string[]> {
    const map = await this.currentMap();
    return [...(map.backups[containerOfSegment(segment, map.containerCount)] ?? [])];
  }

  /** The server said segment lives on owner: go there now, and learn the new map. */
  noteWrongHost(segment: string, owner: string): void {
    this.redirects.set(segment, owner);
    this.map = null;
  }

  /**
   * A request for segment failed with error: follow a WrongHost; after a lost or refused connection,
   * a timeout, or a node that is not the primary, forget the route and learn the map again.
   */
  noteFailure(segment: string, error: unknown): void {
    if (error instanceof WrongHostError) {
      this.noteWrongHost(segment, error.owner);
    } else if (error instanceof ConnectionLostError || error instanceof TimeoutError || isRouteChange(error)) {
      this.redirects.delete(segment);
      this.map = null;
    }
  }

  /**
   * Resolves when pause does (false), or as soon as a newer map is learned (true): a route waiting
   * out a failover tries the new primary when it is chosen (coordinated clusters; see MapWatch).
   */
  untilNewMap(pause: Promise<void>): Promise<boolean> {
    return this.watch.until(pause);
  }

  async currentMap(): Promise<KnownMap> {
    if (this.map) return this.map;
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<KnownMap> {
    const candidates = this.candidates();
    let lastError: unknown = null;
    for (const endpoint of candidates) {
      try {
        const connection = await this.connectionTo(endpoint);
        return this.learn(endpoint, await connection.requestControl<CommandOf<'ClusterMap'>>({ type: 'GetClusterMap' }));
      } catch (error) {
        lastError = error;
      }
    }
    if (lastError instanceof Error) throw lastError;
    throw new ConnectFailedError(candidates.join(','), 'no endpoint answered');
  }

  /** Waits (up to waitMs) at some node for a map newer than afterEpoch; the epoch learned, or null when no node answered. */
  private async askForNews(afterEpoch: number, waitMs: number): Promise<number | null> {
    for (const endpoint of this.candidates()) {
      try {
        const connection = await this.connectionTo(endpoint);
        const reply = await connection.requestControl<CommandOf<'ClusterMap'>>({ type: 'WatchClusterMap', afterEpoch, waitMs }, waitMs + WATCH_REPLY_MARGIN_MS);
        if (reply.epoch > afterEpoch) this.learn(endpoint, reply);
        return reply.epoch;
      } catch {
        // That node is down or slow: ask the next one.
      }
    }
    return null;
  }

  private candidates(): string[] {
    return [...new Set([...this.knownMembers, ...this.seeds])];
  }

  private learn(endpoint: string, reply: CommandOf<'ClusterMap'>): KnownMap {
    this.map = {
      members: reply.members,
      containerCount: reply.containerCount,
      fingerprint: reply.fingerprint,
      epoch: reply.epoch,
      primaries: reply.primaries,
      backups: reply.backups,
    };
    this.knownMembers = reply.members;
    this.newestEpoch = Math.max(this.newestEpoch, reply.epoch);
    this.redirects.clear();
    this.logger.debug({ endpoint, members: reply.members, epoch: reply.epoch, fingerprint: reply.fingerprint }, 'cluster map learned');
    return this.map;
  }
}

/** How much later than its wait a WatchClusterMap reply may come before the request counts as failed. */
const WATCH_REPLY_MARGIN_MS = 5_000;
