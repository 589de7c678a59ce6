import { randomUUID } from 'node:crypto';

import type { Namespace } from 'etcd3';

import { ConfigError } from '../config.js';
import { decodeFacts, KEYS, type ClusterFacts } from './records.js';

/** This node's flags disagree with the facts the cluster recorded when it first started. */
export class ClusterFactsMismatchError extends ConfigError {
  readonly code = 'CLUSTER_FACTS_MISMATCH';
}

/**
 * Records the cluster's fixed facts if this is its first node (a transaction that creates the key
 * only when absent, so two first nodes cannot both win), or checks this node's flags against them.
 */
export async function recordOrCheckFacts(
  etcd: Namespace,
  prefix: string,
  wanted: Omit<ClusterFacts, 'clusterId'>,
): Promise<ClusterFacts> {
  const proposed: ClusterFacts = { ...wanted, clusterId: randomUUID() };
  const result = await etcd
    .if(KEYS.facts, 'Create', '==', 0)
    .then(etcd.put(KEYS.facts).value(JSON.stringify(proposed)))
    .else(etcd.get(KEYS.facts))
    .commit();
  if (result.succeeded) return proposed;
  const text = result.responses[0]?.response_range.kvs[0]?.value.toString() ?? '';
  const recorded = decodeFacts(text);
  if (recorded === null) {
    throw new ClusterFactsMismatchError(`etcd key ${prefix}${KEYS.facts} holds ${JSON.stringify(text.slice(0, 200))}, not Sluice cluster facts: use another etcd or prefix`);
  }
  const disagreements: string[] = [];
  if (recorded.containers !== wanted.containers) {
    disagreements.push(`--containers ${wanted.containers} but the cluster has ${recorded.containers}`);
  }
  if (recorded.replicationFactor !== wanted.replicationFactor) {
    disagreements.push(`--replication-factor ${wanted.replicationFactor} but the cluster has ${recorded.replicationFactor}`);
  }
  if (disagreements.length > 0) {
    throw new ClusterFactsMismatchError(
      `this node cannot join the cluster: ${disagreements.join('; ')} (recorded in etcd at ${prefix}${KEYS.facts} when the cluster first started). ` +
        `Start it with --containers ${recorded.containers} --replication-factor ${recorded.replicationFactor}, or point --coordinator at another etcd.`,
    );
  }
  return recorded;
}
