import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clusterFingerprint,
  containerOfSegment,
  hashString,
  ownerOfContainer,
  ownerOfSegment,
  type ClusterMap,
} from './cluster-map.js';

const LOCAL = ['127.0.0.1:9090', '127.0.0.1:9091', '127.0.0.1:9092'];
const MEMBER_SETS = [
  LOCAL,
  ['10.0.0.1:9090', '10.0.0.2:9090', '10.0.0.3:9090'],
  ['node-1:9090', 'node-2:9090', 'node-3:9090'],
];

function owners(map: ClusterMap): string[] {
  return Array.from({ length: map.containerCount }, (_, container) => ownerOfContainer(map, container));
}

function countsByMember(map: ClusterMap): Map<string, number> {
  const counts = new Map(map.members.map((member) => [member, 0]));
  for (const owner of owners(map)) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

describe('hashString', () => {
  it('is a stable 32-bit value (the same on every node and client)', () => {
    expect(hashString('shop/orders/0')).toBe(hashString('shop/orders/0'));
    expect(hashString('shop/orders/0')).not.toBe(hashString('shop/orders/1'));
    for (const text of ['', 'a', 'ünïcødé 🚀', 'x'.repeat(1000)]) {
      const hash = hashString(text);
      expect(Number.isInteger(hash) && hash >= 0 && hash <= 0xffff_ffff).toBe(true);
    }
  });

  it('pins known values, so a change of hash (which would move every segment) is deliberate', () => {
    // Nodes and clients of different builds must agree on ownership: changing these is a protocol change.
    expect(['', 'shop/orders/0', '127.0.0.1:9090'].map((text) => hashString(text))).toEqual([2872998923, 2297680536, 4288850311]);
    expect(containerOfSegment('shop/orders/0', 16)).toBe(8);
    const map = { members: LOCAL, containerCount: 16 };
    expect(clusterFingerprint(map)).toBe('cebdaf766d574a8b');
    expect(owners(map).slice(0, 4)).toEqual([LOCAL[0], LOCAL[0], LOCAL[1], LOCAL[2]]);
  });
});

describe('containerOfSegment', () => {
  it('is in range and deterministic (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.integer({ min: 1, max: 4096 }), (segment, containerCount) => {
        const container = containerOfSegment(segment, containerCount);
        expect(Number.isInteger(container)).toBe(true);
        expect(container).toBeGreaterThanOrEqual(0);
        expect(container).toBeLessThan(containerCount);
        expect(containerOfSegment(segment, containerCount)).toBe(container);
      }),
      { numRuns: 500 },
    );
  });

  it('spreads the segments of streams over the containers', () => {
    const counts = new Array<number>(16).fill(0);
    for (let stream = 0; stream < 200; stream++) {
      for (let segment = 0; segment < 8; segment++) counts[containerOfSegment(`scope/stream-${stream}/${segment}`, 16)]! += 1;
    }
    // 1600 segments, 100 per container expected.
    for (const count of counts) {
      expect(count).toBeGreaterThan(70);
      expect(count).toBeLessThan(130);
    }
  });
});

describe('ownerOfContainer', () => {
  it('is deterministic: same inputs, same owner, whatever order the members are listed in', () => {
    for (const members of MEMBER_SETS) {
      const map = { members, containerCount: 64 };
      expect(owners(map)).toEqual(owners({ members: [...members], containerCount: 64 }));
      expect(owners(map)).toEqual(owners({ members: [...members].reverse(), containerCount: 64 }));
    }
  });

  it('gives every container a member of the list', () => {
    for (const members of MEMBER_SETS) {
      for (const owner of owners({ members, containerCount: 1024 })) expect(members).toContain(owner);
    }
    expect(owners({ members: ['solo:9090'], containerCount: 16 })).toEqual(new Array(16).fill('solo:9090'));
  });

  it('spreads 16 containers roughly evenly over 3 members', () => {
    for (const members of MEMBER_SETS) {
      for (const count of countsByMember({ members, containerCount: 16 }).values()) {
        expect(count).toBeGreaterThanOrEqual(3);
        expect(count).toBeLessThanOrEqual(8);
      }
    }
  });

  it('spreads 1024 containers evenly over 3 members (within 15%)', () => {
    for (const members of MEMBER_SETS) {
      for (const count of countsByMember({ members, containerCount: 1024 }).values()) {
        expect(Math.abs(count - 1024 / 3)).toBeLessThan(0.15 * (1024 / 3));
      }
    }
  });

  it('moves only the leaving member’s containers when one member is removed (rendezvous)', () => {
    for (const members of MEMBER_SETS) {
      const before = owners({ members, containerCount: 1024 });
      for (const leaving of members) {
        const after = owners({ members: members.filter((member) => member !== leaving), containerCount: 1024 });
        before.forEach((owner, container) => {
          if (owner !== leaving) expect(after[container], `container ${container}`).toBe(owner);
          else expect(after[container]).not.toBe(leaving);
        });
      }
    }
  });

  it('moves containers only to a member that joins', () => {
    const before = owners({ members: LOCAL, containerCount: 1024 });
    const after = owners({ members: [...LOCAL, '127.0.0.1:9093'], containerCount: 1024 });
    let moved = 0;
    before.forEach((owner, container) => {
      if (after[container] !== owner) {
        expect(after[container]).toBe('127.0.0.1:9093');
        moved += 1;
      }
    });
    expect(moved).toBeGreaterThan(1024 / 4 - 60);
    expect(moved).toBeLessThan(1024 / 4 + 60);
  });

  it('ownerOfSegment is the owner of the segment’s container', () => {
    const map = { members: LOCAL, containerCount: 16 };
    for (const segment of ['shop/orders/0', 'shop/orders/7', 'a/b/#meta']) {
      expect(ownerOfSegment(map, segment)).toBe(ownerOfContainer(map, containerOfSegment(segment, 16)));
    }
  });
});

describe('clusterFingerprint', () => {
  const map: ClusterMap = { members: LOCAL, containerCount: 16 };

  it('is a stable 16-hex-digit string', () => {
    expect(clusterFingerprint(map)).toMatch(/^[0-9a-f]{16}$/);
    expect(clusterFingerprint({ members: [...LOCAL], containerCount: 16 })).toBe(clusterFingerprint(map));
  });

  it('does not depend on member order', () => {
    expect(clusterFingerprint({ members: [...LOCAL].reverse(), containerCount: 16 })).toBe(clusterFingerprint(map));
    expect(clusterFingerprint({ members: [LOCAL[1]!, LOCAL[2]!, LOCAL[0]!], containerCount: 16 })).toBe(clusterFingerprint(map));
  });

  it('changes with the container count and with the members', () => {
    const fingerprints = [
      clusterFingerprint(map),
      clusterFingerprint({ members: LOCAL, containerCount: 17 }),
      clusterFingerprint({ members: LOCAL, containerCount: 1024 }),
      clusterFingerprint({ members: LOCAL.slice(0, 2), containerCount: 16 }),
      clusterFingerprint({ members: [...LOCAL, '127.0.0.1:9093'], containerCount: 16 }),
      clusterFingerprint({ members: ['127.0.0.1:9090', '127.0.0.1:9091', '127.0.0.2:9092'], containerCount: 16 }),
      clusterFingerprint({ members: [], containerCount: 16 }),
    ];
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
  });
});
