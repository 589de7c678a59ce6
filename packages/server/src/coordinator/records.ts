/**
 * What a coordinated cluster keeps in etcd, under a prefix (default /sluice/), and how each value is
 * written. Every value is JSON; decode functions refuse what they do not recognise.
 *
 *   facts                       {containers, replicationFactor, clusterId}: written once, by the first node
 *   members/<node>              {address, startedAt}: under the node's lease, gone when it dies
 *   controller/…                etcd3's election keys: one node at a time computes assignments
 *   assignments/<container>     {epoch, primary, replicas, joining}: written only by the controller, in
 *                               transactions that compare the key's mod revision
 *   caughtup/<container>/<node> {epoch}: the container's primary says that replica holds its whole log
 */
export interface ClusterFacts {
  containers: number;
  replicationFactor: number;
  /** Random, chosen with the facts: names this cluster in fingerprints. */
  clusterId: string;
}

export interface Assignment {
  /** Grows by one at every change of primary. */
  epoch: number;
  /** null: no live replica to serve it (until one returns). */
  primary: string | null;
  /** Every replica, primary first. */
  replicas: string[];
  /** Replicas that are still catching up: never made primary by a planned move, not yet in sync. */
  joining: string[];
}

export const KEYS = {
  facts: 'facts',
  membersPrefix: 'members/',
  member: (node: string): string => `members/${node}`,
  controller: 'controller',
  assignmentsPrefix: 'assignments/',
  assignment: (container: number): string => `assignments/${container}`,
  caughtUpPrefix: 'caughtup/',
  caughtUp: (container: number, node: string): string => `caughtup/${container}/${node}`,
} as const;

export function containerOfAssignmentKey(key: string): number | null {
  if (!key.startsWith(KEYS.assignmentsPrefix)) return null;
  const text = key.slice(KEYS.assignmentsPrefix.length);
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** caughtup/<container>/<node> -> parts, or null. */
export function parseCaughtUpKey(key: string): { container: number; node: string } | null {
  const match = /^caughtup\/(\d+)\/(.+)$/.exec(key);
  return match ? { container: Number(match[1]), node: match[2]! } : null;
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

export function decodeAssignment(text: string): Assignment | null {
  const value = parseJson(text);
  if (value === null) return null;
  const { epoch, primary, replicas, joining } = value;
  if (!Number.isSafeInteger(epoch) || (primary !== null && typeof primary !== 'string') || !isStrings(replicas) || !isStrings(joining)) {
    return null;
  }
  return { epoch: epoch as number, primary, replicas, joining };
}

export function decodeFacts(text: string): ClusterFacts | null {
  const value = parseJson(text);
  if (value === null) return null;
  const { containers, replicationFactor, clusterId } = value;
  if (!Number.isSafeInteger(containers) || !Number.isSafeInteger(replicationFactor) || typeof clusterId !== 'string') return null;
  return { containers: containers as number, replicationFactor: replicationFactor as number, clusterId };
}

export function decodeEpoch(text: string): number | null {
  const epoch = parseJson(text)?.epoch;
  return Number.isSafeInteger(epoch) ? (epoch as number) : null;
}

/** A member key's startedAt ('' if unreadable): it changes when the node restarts. */
export function decodeStartedAt(text: string): string {
  const startedAt = parseJson(text)?.startedAt;
  return typeof startedAt === 'string' ? startedAt : '';
}
