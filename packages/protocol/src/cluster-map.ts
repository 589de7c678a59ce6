/**
 * The cluster map and the one ownership function every node and client computes alike:
 * segment -> container by hash, container -> member by rendezvous (highest random weight) hashing,
 * which moves only the containers of a member that joins or leaves.
 */
export interface ClusterMap {
  /** Node addresses as `host:port`, in the order the operator gave them. */
  members: readonly string[];
  containerCount: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Murmur3's finaliser: spreads FNV's weak low bits so `mod containerCount` is uniform. */
function mix32(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A stable 32-bit hash of a string's UTF-16 code units (FNV-1a, then mixed). */
export function hashString(text: string, seed = FNV_OFFSET): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return mix32(hash);
}

export function containerOfSegment(segment: string, containerCount: number): number {
  return hashString(segment) % containerCount;
}

export function ownerOfContainer(map: ClusterMap, container: number): string {
  let owner = '';
  let best = -1;
  for (const member of map.members) {
    const weight = hashString(member, mix32(container + 1));
    if (weight > best || (weight === best && member < owner)) {
      best = weight;
      owner = member;
    }
  }
  return owner;
}

export function ownerOfSegment(map: ClusterMap, segment: string): string {
  return ownerOfContainer(map, containerOfSegment(segment, map.containerCount));
}

/** Identifies a map: two nodes or a node and a client agree on ownership iff their fingerprints match. */
export function clusterFingerprint(map: ClusterMap): string {
  const canonical = `${[...map.members].sort().join(',')}#${map.containerCount}`;
  const high = hashString(canonical);
  const low = hashString(canonical, high);
  return `${high.toString(16).padStart(8, '0')}${low.toString(16).padStart(8, '0')}`;
}
