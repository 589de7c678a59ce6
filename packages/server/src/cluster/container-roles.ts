/**
 * What this node is for each container, and the cluster map clients are served. The store and
 * network code read only this interface: a static (--cluster) or single-node cluster provides it
 * with fixed roles at epoch 0 (static-roles.ts), a coordinated cluster from etcd's assignments
 * (coordinator/coordinated-roles.ts), so there is one code path.
 */
export type Role = 'primary' | 'backup' | 'none';

export interface ContainerRole {
  readonly container: number;
  readonly role: Role;
  /** Grows by one at every change of primary; 0 in static clusters. */
  readonly epoch: number;
  /** Address of the container's primary; null while it has none (no live replica). */
  readonly primary: string | null;
  /** Every replica, primary first (static: just the owner). */
  readonly replicas: readonly string[];
}

/** The GetClusterMap reply's fields. */
export interface ServedClusterMap {
  members: string[];
  containerCount: number;
  fingerprint: string;
  /** Changes whenever any primary changes (0 in static clusters): a client holding a lower one is behind. */
  epoch: number;
  /** The primary of each container by index; '' where none is known right now. */
  primaries: string[];
  /** The other replicas of each container by index (empty in static clusters: nothing is replicated). */
  backups: string[][];
}

export interface ContainerRoles {
  /** This node's address. */
  readonly self: string;
  readonly containerCount: number;
  /** Names the cluster (not its current membership): nodes and clients that disagree refuse each other. */
  readonly fingerprint: string;
  /** Containers this node is primary of (serves clients for). */
  readonly ownedContainers: readonly number[];
  roleOf(container: number): ContainerRole;
  /** The container of a segment this node is primary of, or null. */
  localContainerOf(segment: string): number | null;
  /** The primary of the segment's container; null while it has none. */
  ownerOf(segment: string): string | null;
  clusterMap(): ServedClusterMap;
  /** Calls listener with each container whose role, epoch or replicas changed; returns an unsubscribe. */
  onChange(listener: (role: ContainerRole) => void): () => void;
}
