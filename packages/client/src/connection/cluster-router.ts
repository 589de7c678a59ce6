import { ownerOfSegment, type ClusterMap, type CommandOf } from '@sluice/protocol';
import { ConnectFailedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Connection } from './connection.js';

interface KnownMap extends ClusterMap {
  fingerprint: string;
}

/**
 * Knows which node owns a segment. It learns the cluster map from any reachable endpoint and then
 * computes owners itself with the same function the nodes use. A WrongHost reply names the owner:
 * that owner is used at once for the segment (one hop), and the map is fetched again.
 */
export class ClusterRouter {
  private map: KnownMap | null = null;
  private loading: Promise<KnownMap> | null = null;
  private readonly redirects = new Map<string, string>();
  /** Members of the last map learned, kept when the map is dropped: the seeds may be the nodes that are down. */
  private knownMembers: readonly string[] = [];

  constructor(
    private readonly seeds: readonly string[],
    private readonly connectionTo: (endpoint: string) => Promise<Connection>,
    private readonly logger: Logger,
  ) {}

  get fingerprint(): string | null {
    return this.map?.fingerprint ?? null;
  }

  async ownerOf(segment: string): Promise<string> {
    const redirected = this.redirects.get(segment);
    if (redirected) return redirected;
    return ownerOfSegment(await this.currentMap(), segment);
  }

  /** The server said segment lives on owner: go there now, and learn the new map. */
  noteWrongHost(segment: string, owner: string): void {
    this.redirects.set(segment, owner);
    this.map = null;
  }

  async currentMap(): Promise<KnownMap> {
    if (this.map) return this.map;
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<KnownMap> {
    const candidates = [...new Set([...this.knownMembers, ...this.seeds])];
    let lastError: unknown = null;
    for (const endpoint of candidates) {
      try {
        const connection = await this.connectionTo(endpoint);
        const reply = await connection.requestControl<CommandOf<'ClusterMap'>>({ type: 'GetClusterMap' });
        this.map = { members: reply.members, containerCount: reply.containerCount, fingerprint: reply.fingerprint };
        this.knownMembers = reply.members;
        this.redirects.clear();
        this.logger.debug({ endpoint, members: reply.members, fingerprint: reply.fingerprint }, 'cluster map learned');
        return this.map;
      } catch (error) {
        lastError = error;
      }
    }
    if (lastError instanceof Error) throw lastError;
    throw new ConnectFailedError(candidates.join(','), 'no endpoint answered');
  }
}
