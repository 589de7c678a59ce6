import { LOCAL_VERSION_RANGE, negotiateVersion, type CommandOf } from '@sluice/protocol';

import type { ContainerRoles } from '../cluster/container-roles.js';

/** What a node answers to a Hello: its own Hello, or why it refuses the connection. */
export type HelloOutcome =
  | { accepted: true; reply: CommandOf<'Hello'>; version: number }
  | { accepted: false; code: 'UNSUPPORTED_VERSION' | 'CLUSTER_MISMATCH'; message: string };

/**
 * The handshake: a connection is served only when the peer speaks a protocol version this node
 * speaks and, when it says which cluster it expects, that cluster is this node's.
 */
export function answerHello(hello: CommandOf<'Hello'>, cluster: ContainerRoles): HelloOutcome {
  const local = LOCAL_VERSION_RANGE;
  const version = negotiateVersion(local, hello);
  if (version === null) {
    return {
      accepted: false,
      code: 'UNSUPPORTED_VERSION',
      message: `protocol versions ${hello.minVersion}-${hello.maxVersion} are not supported; this node speaks ${local.minVersion}-${local.maxVersion}`,
    };
  }
  if (hello.clusterFingerprint !== null && hello.clusterFingerprint !== cluster.fingerprint) {
    const peer = hello.node ? ` of ${hello.node}` : '';
    return {
      accepted: false,
      code: 'CLUSTER_MISMATCH',
      message:
        `cluster fingerprint ${hello.clusterFingerprint}${peer} does not match this node's ${cluster.fingerprint} ` +
        `(${cluster.self}: members ${cluster.clusterMap().members.join(',')}, ${cluster.containerCount} containers); ` +
        'every node and client must use the same --cluster list and --containers',
    };
  }
  return {
    accepted: true,
    version,
    reply: {
      type: 'Hello',
      minVersion: local.minVersion,
      maxVersion: local.maxVersion,
      clusterFingerprint: cluster.fingerprint,
      node: cluster.self,
    },
  };
}
