/**
 * Protocol versions this build speaks. A peer is accepted when the two ranges overlap. Version 2 put an
 * envelope (routing key, timestamp, headers) around every event of a block; a version-1 peer would
 * read envelopes as data, so it is refused at Hello. Version 3 changed node-to-node commands only
 * (Replicate carries the primary's commit point; SendSnapshot): a version-2 client is still served.
 */
export const PROTOCOL_VERSION = 3;
export const OLDEST_COMPATIBLE_VERSION = 2;
/**
 * The oldest version whose replication commands (Replicate, …) this build reads: a node answers a
 * replication request on a connection negotiated below it UNSUPPORTED_VERSION, without decoding it,
 * so a peer of another shape is refused by name, never misread.
 */
export const OLDEST_REPLICATION_VERSION = 3;

export interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

export const LOCAL_VERSION_RANGE: VersionRange = {
  minVersion: OLDEST_COMPATIBLE_VERSION,
  maxVersion: PROTOCOL_VERSION,
};

/** The highest version both sides speak, or null when the ranges do not overlap. */
export function negotiateVersion(local: VersionRange, remote: VersionRange): number | null {
  const version = Math.min(local.maxVersion, remote.maxVersion);
  return version >= Math.max(local.minVersion, remote.minVersion) ? version : null;
}
