import { EventEmitter } from 'node:events';

import { clusterFingerprint, containerOfSegment } from '@sluice/protocol';

import type { ContainerRole, ContainerRoles, ServedClusterMap } from '../cluster/container-roles.js';
import type { EtcdMirror } from './etcd-mirror.js';
import type { Membership } from './membership.js';
import { containerOfAssignmentKey, decodeAssignment, KEYS, type ClusterFacts } from './records.js';

/**
 * A node's roles in a coordinated cluster, read from the assignments etcd holds (through the
 * mirror). This node is primary of a container only while the assignment names it AND its
 * membership lease is held: a node cut off from etcd stops serving as primary before another can
 * be chosen (it stays a backup). Emits a change per container whose role, epoch or replicas changed.
 */
export class CoordinatedRoles implements ContainerRoles {
  readonly fingerprint: string;
  private roles: ContainerRole[];
  private readonly events = new EventEmitter<{ change: [role: ContainerRole] }>();

  constructor(
    readonly self: string,
    private readonly facts: ClusterFacts,
    private readonly mirror: EtcdMirror,
    private readonly membership: Membership,
  ) {
    // Names the cluster, not its members: members come and go, clients keep talking to the same cluster.
    this.fingerprint = clusterFingerprint({ members: [`coordinated:${facts.clusterId}`], containerCount: facts.containers });
    this.roles = this.computeRoles();
    mirror.on('change', (key) => {
      if (key.startsWith(KEYS.assignmentsPrefix)) this.refresh();
    });
    membership.on('change', () => this.refresh());
  }

  get containerCount(): number {
    return this.facts.containers;
  }

  get ownedContainers(): readonly number[] {
    return this.roles.filter((role) => role.role === 'primary').map((role) => role.container);
  }

  roleOf(container: number): ContainerRole {
    const role = this.roles[container];
    if (role === undefined) throw new RangeError(`container ${container} is not in 0..${this.facts.containers - 1}`);
    return role;
  }

  localContainerOf(segment: string): number | null {
    const container = containerOfSegment(segment, this.facts.containers);
    return this.roles[container]!.role === 'primary' ? container : null;
  }

  ownerOf(segment: string): string | null {
    return this.roles[containerOfSegment(segment, this.facts.containers)]!.primary;
  }

  clusterMap(): ServedClusterMap {
    const members: string[] = [];
    for (const [key] of this.mirror.withPrefix(KEYS.membersPrefix)) members.push(key.slice(KEYS.membersPrefix.length));
    let epoch = 0;
    for (const [, entry] of this.mirror.withPrefix(KEYS.assignmentsPrefix)) epoch = Math.max(epoch, entry.modRevision);
    return {
      members: members.sort(),
      containerCount: this.facts.containers,
      fingerprint: this.fingerprint,
      epoch,
      primaries: this.roles.map((role) => role.primary ?? ''),
      backups: this.roles.map((role) => role.replicas.filter((replica) => replica !== role.primary)),
    };
  }

  onChange(listener: (role: ContainerRole) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  private refresh(): void {
    const next = this.computeRoles();
    const before = this.roles;
    this.roles = next;
    for (const role of next) {
      const was = before[role.container]!;
      const same = was.role === role.role && was.epoch === role.epoch && was.primary === role.primary && was.replicas.join() === role.replicas.join();
      if (!same) this.events.emit('change', role);
    }
  }

  private computeRoles(): ContainerRole[] {
    const roles: ContainerRole[] = Array.from({ length: this.facts.containers }, (_, container) => ({
      container,
      role: 'none',
      epoch: 0,
      primary: null,
      replicas: [],
    }));
    for (const [key, entry] of this.mirror.withPrefix(KEYS.assignmentsPrefix)) {
      const container = containerOfAssignmentKey(key);
      const assignment = decodeAssignment(entry.value);
      if (container === null || assignment === null || container >= roles.length) continue;
      const replica = assignment.replicas.includes(this.self);
      const primary = assignment.primary === this.self && this.membership.held;
      roles[container] = {
        container,
        role: primary ? 'primary' : replica ? 'backup' : 'none',
        epoch: assignment.epoch,
        primary: assignment.primary,
        replicas: assignment.replicas,
      };
    }
    return roles;
  }
}
