import {
  clusterFingerprint,
  containerOfSegment,
  ownerOfContainer,
  type ClusterMap,
} from '@sluice/protocol';

/**
 * One node's view of the cluster: the map every member is started with, this node's address in
 * it, and the containers that fall to this node. Ownership comes from @sluice/protocol only, so
 * nodes and clients always agree.
 */
export class ClusterView {
  readonly map: ClusterMap;
  readonly fingerprint: string;
  readonly ownedContainers: readonly number[];
  private readonly owned: ReadonlySet<number>;

  constructor(
    members: readonly string[],
    containerCount: number,
    readonly self: string,
  ) {
    if (!members.includes(self)) throw new Error(`node ${self} is not a member of the cluster ${members.join(',')}`);
    this.map = Object.freeze({ members: Object.freeze([...members]), containerCount });
    this.fingerprint = clusterFingerprint(this.map);
    this.ownedContainers = Object.freeze(ownedContainersOf(this.map, self));
    this.owned = new Set(this.ownedContainers);
  }

  /** The container of a segment this node owns, or null when another member owns it. */
  localContainerOf(segment: string): number | null {
    const container = containerOfSegment(segment, this.map.containerCount);
    return this.owned.has(container) ? container : null;
  }

  ownerOf(segment: string): string {
    return ownerOfContainer(this.map, containerOfSegment(segment, this.map.containerCount));
  }
}

export function ownedContainersOf(map: ClusterMap, self: string): number[] {
  const owned: number[] = [];
  for (let container = 0; container < map.containerCount; container++) {
    if (ownerOfContainer(map, container) === self) owned.push(container);
  }
  return owned;
}
