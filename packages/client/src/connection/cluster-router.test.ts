import { clusterFingerprint, ownerOfSegment } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';

import { ConnectFailedError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { ClusterRouter } from './cluster-router.js';
import type { Connection } from './connection.js';

const members = ['10.0.0.1:9090', '10.0.0.2:9090', '10.0.0.3:9090'];
const map = { members, containerCount: 16 };

/** A router whose nodes answer GetClusterMap with map, except those listed as down. */
function routerWith(seeds: string[], down: Set<string>): { router: ClusterRouter; asked: string[] } {
  const asked: string[] = [];
  const connectionTo = async (endpoint: string): Promise<Connection> => {
    asked.push(endpoint);
    if (down.has(endpoint)) throw new ConnectFailedError(endpoint, 'connection refused');
    return {
      requestControl: async () => ({ type: 'ClusterMap', ...map, fingerprint: clusterFingerprint(map) }),
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
});
