import { clusterFingerprint, containerOfSegment, ownerOfContainer, ownerOfSegment } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';

import { ConnectFailedError, ConnectionLostError, NoPrimaryError, ServerError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { ClusterRouter } from './cluster-router.js';
import type { Connection } from './connection.js';

const members = ['10.0.0.1:9090', '10.0.0.2:9090', '10.0.0.3:9090'];
const map = { members, containerCount: 16 };
const primaries = Array.from({ length: 16 }, (_, container) => ownerOfContainer(map, container));

/** A router whose nodes answer GetClusterMap with map, except those listed as down. */
function routerWith(seeds: string[], down: Set<string>): { router: ClusterRouter; asked: string[] } {
  const asked: string[] = [];
  const connectionTo = async (endpoint: string): Promise<Connection> => {
    asked.push(endpoint);
    if (down.has(endpoint)) throw new ConnectFailedError(endpoint, 'connection refused');
    return {
      requestControl: async () => ({ type: 'ClusterMap', ...map, fingerprint: clusterFingerprint(map), epoch: 0, primaries, backups: [] }),
    } as unknown as Connection;
  };
  return { router: new ClusterRouter(seeds, connectionTo, silentLogger), asked };
}

describe('ClusterRouter', () => {
  it('learns the map from a seed and computes owners like the nodes', async () => {
    const { router } = routerWith([members[0]!], new Set());
    expect(await router.ownerOf('a/b/0')).toBe(ownerOfSegment(map, 'a/b/0'));
    expect(router.fingerprint).toBe(clusterFingerprint(map));
  });

  it('goes to the owner a WrongHost names, for that segment, at once', async () => {
    const { router } = routerWith([members[0]!], new Set());
    await router.currentMap();
    const other = members.find((member) => member !== ownerOfSegment(map, 'a/b/0'))!;
    router.noteWrongHost('a/b/0', other);
    expect(await router.ownerOf('a/b/0')).toBe(other);
  });

  it('re-learns the map from the members it knew when its only seed is down', async () => {
    const down = new Set<string>();
    const { router, asked } = routerWith([members[0]!], down);
    await router.currentMap();
    down.add(members[0]!);
    router.noteWrongHost('a/b/0', members[1]!);
    asked.length = 0;
    const learned = await router.currentMap();
    expect(learned.members).toEqual(members);
    expect(asked).toEqual([members[0], members[1]]);
  });

  it('routes by the primaries the map names, and learns the map again when the route fails', async () => {
    const segment = 'a/b/0';
    const container = containerOfSegment(segment, 16);
    let served = Array.from({ length: 16 }, () => members[0]!);
    const connectionTo = async (): Promise<Connection> =>
      ({
        requestControl: async () => ({ type: 'ClusterMap', ...map, fingerprint: 'f', epoch: 7, primaries: served, backups: [] }),
      }) as unknown as Connection;
    const router = new ClusterRouter([members[0]!], connectionTo, silentLogger);
    expect(await router.ownerOf(segment)).toBe(members[0]);

    // The primary moves at every step (failovers); the router keeps its map until a request fails.
    const failures = [
      new ConnectionLostError(members[0]!, 'closed'),
      new ConnectFailedError(members[0]!, 'refused'),
      new ServerError('NOT_PRIMARY', 'not primary'),
      new ServerError('FENCED', 'fenced'),
    ];
    for (const [step, failure] of failures.entries()) {
      const before = await router.ownerOf(segment);
      const next = members[(step + 1) % members.length]!;
      served = served.map((primary, index) => (index === container ? next : primary));
      expect(await router.ownerOf(segment)).toBe(before);
      router.noteFailure(segment, failure);
      expect(await router.ownerOf(segment), failure.message).toBe(next);
    }
  });

  it('says NoPrimary (retriable) while a container has no primary, and asks again next time', async () => {
    let primaries = Array.from({ length: 16 }, () => '');
    const connectionTo = async (): Promise<Connection> =>
      ({ requestControl: async () => ({ type: 'ClusterMap', ...map, fingerprint: 'f', epoch: 3, primaries, backups: [] }) }) as unknown as Connection;
    const router = new ClusterRouter([members[0]!], connectionTo, silentLogger);
    const error = await router.ownerOf('a/b/0').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NoPrimaryError);
    expect((error as NoPrimaryError).retriable).toBe(true);
    primaries = Array.from({ length: 16 }, () => members[1]!);
    expect(await router.ownerOf('a/b/0')).toBe(members[1]);
  });
});
