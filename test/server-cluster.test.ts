/**
 * A 3-node cluster: every node serves the same map, owns its containers by rendezvous hashing, and
 * answers WrongHost naming the owner for segments it does not own.
 */
import { clusterFingerprint, ownerOfContainer, ownerOfSegment, type ClusterMap } from '@sluice/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RawClient, block, eventStrings, expectReply } from './helpers/raw-client.js';
import { startCluster, type ClusterProcesses } from './helpers/server-process.js';

const CONTAINERS = 64;
let cluster: ClusterProcesses;
let map: ClusterMap;
const clients = new Map<string, RawClient>();

beforeAll(async () => {
  // 64 containers: every member owns some (with 16, one of 3 owns none about once in 200 runs).
  cluster = await startCluster(3, { args: ['--containers', String(CONTAINERS)] });
  map = { members: cluster.members, containerCount: CONTAINERS };
  for (const node of cluster.nodes) {
    const client = await RawClient.connect(node.address);
    await client.hello({ clusterFingerprint: clusterFingerprint(map) });
    clients.set(node.address, client);
  }
});

afterAll(async () => {
  for (const client of clients.values()) client.close();
  await cluster?.stop();
});

const segments = Array.from({ length: 30 }, (_, index) => `cl/stream${index}/${index % 4}`);

describe('a 3-node cluster', () => {
  it('serves the same cluster map from every node', async () => {
    const fingerprint = clusterFingerprint(map);
    for (const node of cluster.nodes) {
      const reply = expectReply(await clients.get(node.address)!.call({ type: 'GetClusterMap' }, 0), 'ClusterMap');
      const primaries = Array.from({ length: CONTAINERS }, (_, container) => ownerOfContainer(map, container));
      expect(reply).toEqual({ type: 'ClusterMap', members: cluster.members, containerCount: CONTAINERS, fingerprint, epoch: 0, primaries, backups: primaries.map(() => []) });
      expect(node.listening?.fingerprint).toBe(fingerprint);
      expect(node.node).toBe(node.address);
    }
  });

  it('spreads the containers over all members', () => {
    const owned = cluster.nodes.map((node) => node.listening?.containers as number);
    expect(owned.reduce((sum, count) => sum + count, 0)).toBe(CONTAINERS);
    expect(owned.every((count) => count > 0)).toBe(true);
  });

  it('answers WrongHost naming the owner; the owner serves the segment', async () => {
    const owners = new Set<string>();
    for (const segment of segments) {
      const owner = ownerOfSegment(map, segment);
      owners.add(owner);
      for (const node of cluster.nodes) {
        const client = clients.get(node.address)!;
        const reply = await client.call({ type: 'CreateSegment', segment, token: null });
        if (node.address === owner) {
          expect(reply).toEqual({ type: 'SegmentCreated', segment });
        } else {
          expect(reply).toEqual({ type: 'WrongHost', segment, owner });
        }
      }
      // Appends and reads go to the owner; everyone else redirects them too.
      const owning = clients.get(owner)!;
      expectReply(await owning.call({ type: 'SetupAppend', segment, writerId: 'w', token: null }), 'AppendSetup');
      expectReply(
        await owning.call({ type: 'AppendBlock', segment, writerId: 'w', lastEventNumber: 0, eventCount: 1, data: block([segment]) }),
        'DataAppended',
      );
      for (const node of cluster.nodes.filter((node) => node.address !== owner)) {
        const client = clients.get(node.address)!;
        expect(await client.call({ type: 'ReadSegment', segment, offset: 0, maxBytes: 100, waitMs: 0, token: null })).toEqual({
          type: 'WrongHost',
          segment,
          owner,
        });
        expect(await client.call({ type: 'SetupAppend', segment, writerId: 'w', token: null })).toEqual({ type: 'WrongHost', segment, owner });
      }
      const read = expectReply(
        await owning.call({ type: 'ReadSegment', segment, offset: 0, maxBytes: 100, waitMs: 0, token: null }),
        'SegmentRead',
      );
      expect(eventStrings(read.data)).toEqual([segment]);
    }
    expect(owners.size).toBe(3);
  });

  it('refuses a peer whose map differs, naming both fingerprints', async () => {
    const otherMap = { members: cluster.members, containerCount: 16 };
    for (const node of cluster.nodes) {
      const client = await RawClient.connect(node.address);
      const reply = expectReply(await client.hello({ clusterFingerprint: clusterFingerprint(otherMap) }), 'ErrorMessage');
      expect(reply.code).toBe('CLUSTER_MISMATCH');
      expect(reply.message).toContain(clusterFingerprint(otherMap));
      expect(reply.message).toContain(clusterFingerprint(map));
      expect(await client.closesWithin(3_000)).toBe(true);
    }
  });

  it('keeps each node\u2019s data across a restart', async () => {
    const segment = segments[0]!;
    const owner = cluster.nodes.find((node) => node.address === ownerOfSegment(map, segment))!;
    clients.get(owner.address)!.close();
    expect(await owner.stop()).toBe(0);
    await owner.restart();
    const client = await RawClient.connect(owner.address);
    clients.set(owner.address, client);
    await client.hello({ clusterFingerprint: clusterFingerprint(map) });
    const read = expectReply(await client.call({ type: 'ReadSegment', segment, offset: 0, maxBytes: 100, waitMs: 0, token: null }), 'SegmentRead');
    expect(eventStrings(read.data)).toEqual([segment]);
  });
});
