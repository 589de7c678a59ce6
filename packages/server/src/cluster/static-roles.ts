import {
  clusterFingerprint,
  containerOfSegment,
  ownerOfContainer,
  type ClusterMap,
} from '@sluice/protocol';

import type { ContainerRole, ContainerRoles, ServedClusterMap } from './container-roles.js';

/**
 * The roles of a static cluster (--cluster, or a cluster of one): the map every member is started
 * with, this node's address in it, and the containers that fall to it, each at epoch 0 with no
 * backups. Ownership comes from @sluice/protocol only, so nodes and clients always agree.
 */
export class StaticRoles implements ContainerRoles {
  readonly map: ClusterMap;
  readonly fingerprint: string;
  readonly ownedContainers: readonly number[];
  private readonly owned: ReadonlySet<number>;
  private readonly primaries: readonly string[];

  constructor(
    members: readonly string[],
    containerCount: number,
    readonly self: string,
  ) {
    if (!members.includes(self)) throw new Error(`node ${self} is not a member of the cluster ${members.join(',')}`);
    this.map = Object.freeze({ members: Object.freeze([...members]), containerCount });
    this.fingerprint = clusterFingerprint(this.map);
    this.primaries = Object.freeze(Array.from({ length: containerCount }, (_, container) => ownerOfContainer(this.map, container)));
    this.ownedContainers = Object.freeze(ownedContainersOf(this.map, self));
    this.owned = new Set(this.ownedContainers);
  }

  get containerCount(): number {
    return this.map.containerCount;
  }

  roleOf(container: number): ContainerRole {
    const primary = this.primaries[container]!;
    return { container, role: primary === this.self ? 'primary' : 'none', epoch: 0, primary, replicas: [primary] };
  }

  localContainerOf(segment: string): number | null {
    const container = containerOfSegment(segment, this.map.containerCount);
    return this.owned.has(container) ? container : null;
  }

  ownerOf(segment: string): string {
    return this.primaries[containerOfSegment(segment, this.map.containerCount)]!;
  }

  clusterMap(): ServedClusterMap {
    return {
      members: [...this.map.members],
      containerCount: this.map.containerCount,
      fingerprint: this.fingerprint,
      epoch: 0,
      primaries: [...this.primaries],
      backups: this.primaries.map(() => []),
    };
  }

  /** Static roles never change. */
  onChange(): () => void {
    return () => undefined;
  }
}

export function ownedContainersOf(map: ClusterMap, self: string): number[] {
  const owned: number[] = [];
  for (let container = 0; container < map.containerCount; container++) {
    if (ownerOfContainer(map, container) === self) owned.push(container);
  }
  return owned;
}
