/** Protocol versions this build speaks. A peer is accepted when the two ranges overlap. */
export const PROTOCOL_VERSION = 1;
export const OLDEST_COMPATIBLE_VERSION = 1;

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
