/**
 * The control plane of a coordinated cluster, with real processes: etcd and three sluice-server
 * --coordinator nodes on loopback. Membership under leases, the facts a node must agree with,
 * controller election, an even spread of primaries, primaries moving off a dead node and onto a
 * new one, and a client that follows the map without a restart.
 */
import path from 'node:path';

import { SluiceClient } from '@sluice/client';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  clusterMapOf,
  evenlySpreadOver,
  primaryCounts,
  startCoordinatedCluster,
  waitForMap,
  type CoordinatedCluster,
} from './helpers/coordinated-cluster.js';
import { etcdAvailable } from './helpers/etcd-process.js';
import { expectReply, RawClient } from './helpers/raw-client.js';
import { REPO_ROOT, runNodeScript, type ServerProcess } from './helpers/server-process.js';

const CONTAINERS = 8;
const LEASE_TTL_MS = 2_000;
/** Failover is due within the lease TTL plus a few seconds; the bound is generous for a loaded 2-core machine. */
const FAILOVER_BOUND_MS = LEASE_TTL_MS + 15_000;

const describeEtcd = etcdAvailable() ? describe : describe.skip;

describeEtcd('a coordinated cluster of three nodes', () => {
  let cluster: CoordinatedCluster;
  let etcd: Etcd3;

  beforeAll(async () => {
    cluster = await startCoordinatedCluster(3, { containers: CONTAINERS, leaseTtl: `${LEASE_TTL_MS / 1000}s` });
    etcd = new Etcd3({ hosts: `http://${cluster.etcd.address}` });
  });

  afterAll(async () => {
    etcd?.close();
    await cluster?.stop();
  });

  const running = (): ServerProcess[] => cluster.nodes.filter((node) => node.isRunning);
  const settled = evenlySpreadOver;

  it('registers every node and spreads primaries and replicas evenly; every node serves the same map', async () => {
    const addresses = cluster.endpoints;
    const map = await waitForMap(cluster.nodes[0]!, settled(addresses), 20_000, 'an even spread over 3 nodes');
    expect(map.containerCount).toBe(CONTAINERS);
    expect(map.epoch).toBeGreaterThan(0);
    for (const node of cluster.nodes.slice(1)) {
      await waitForMap(node, (other) => other.primaries.join() === map.primaries.join(), 10_000, 'the same map on every node');
    }
    const assignments = (await etcd.getAll().prefix('/sluice/assignments/').strings()) as Record<string, string>;
    const replicas = addresses.map((address) =>
      Object.values(assignments).filter((text) => (JSON.parse(text) as { replicas: string[] }).replicas.includes(address)).length,
    );
    expect(replicas).toEqual([CONTAINERS, CONTAINERS, CONTAINERS]); // RF 3 over 3 nodes: every node holds every container
  });

  it('shows each node\'s primaries and backups, and each segment\'s, through the client and `sluice`', async () => {
    const addresses = cluster.endpoints;
    const map = await waitForMap(cluster.nodes[0]!, settled(addresses), 20_000, 'an even spread over 3 nodes');
    const client = new SluiceClient({ endpoints: [addresses[0]!] });
    try {
      // RF 3 over 3 nodes: every node is primary of some containers and a backup of all the others.
      const described = await client.describeCluster();
      for (const member of described.members) {
        const serves = map.primaries.flatMap((primary, container) => (primary === member.address ? [container] : []));
        expect(member.containers).toEqual(serves);
        expect(member.backups).toEqual(Array.from({ length: CONTAINERS }, (_, c) => c).filter((c) => !serves.includes(c)));
      }
      await client.createStream('describe/replicas', { segments: 2 });
      const { segmentInfos } = await client.getStreamInfo('describe/replicas');
      for (const segment of segmentInfos) {
        expect(segment.backups.sort()).toEqual(addresses.filter((address) => address !== segment.owner).sort());
      }
    } finally {
      await client.close();
    }

    const run = await runNodeScript(path.join(REPO_ROOT, 'packages/client/bin/sluice.mjs'), ['cluster', '--json', '--endpoints', addresses[0]!], {
      env: { SLUICE_TOKEN: '' },
      timeoutMs: 30_000,
    });
    expect(run.code).toBe(0);
    const rows = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { node: string; containers: number[]; backups: number[] });
    expect(rows.map((row) => row.node).sort()).toEqual([...addresses].sort());
    for (const row of rows) expect(row.containers.length + row.backups.length).toBe(CONTAINERS);
  });

  it('refuses a node whose flags disagree with the recorded facts, with a message naming both values', async () => {
    const stranger = await cluster.addNode({ args: ['--containers', '5'], start: false });
    await expect(stranger.start()).rejects.toThrow(/exited/);
    expect(stranger.exitCode).toBe(2);
    expect(stranger.output()).toMatch(/--containers 5 but the cluster has 8/);
    cluster.nodes.splice(cluster.nodes.indexOf(stranger), 1);
  });

  it('moves the primaries of a killed node (the controller) to the others, and a client follows with no restart', async () => {
    const addresses = cluster.endpoints;
    await waitForMap(cluster.nodes[0]!, settled(addresses), 20_000, 'settled before the kill');
    const controller = cluster.nodes.find((node) => node.logCount('elected controller') > 0 && node.isRunning)!;
    expect(controller).toBeDefined();
    const survivors = cluster.nodes.filter((node) => node !== controller);

    // A client that learned the map while every node was up.
    const client = new SluiceClient({ endpoints: [survivors[0]!.address], connectTimeoutMs: 1_000, requestTimeoutMs: 20_000 });
    await client.createStream('follow/before', { segments: CONTAINERS });
    // A watch of the map, waiting at a survivor for a newer one than it holds now.
    const watcher = await RawClient.connect(survivors[0]!.address);
    await watcher.hello();
    const before = await clusterMapOf(survivors[0]!);
    const watched = watcher.call({ type: 'WatchClusterMap', afterEpoch: before.epoch, waitMs: 60_000 }, 0, 70_000);

    const killedAt = Date.now();
    await controller.kill('SIGKILL');
    // Answered once the controller moved a primary off the killed node, not at the end of its wait.
    const news = expectReply(await watched, 'ClusterMap');
    watcher.close();
    expect(news.epoch).toBeGreaterThan(before.epoch);
    expect(news.primaries.filter((primary) => primary === controller.address).length).toBeLessThan(
      before.primaries.filter((primary) => primary === controller.address).length,
    );
    const survivorAddresses = survivors.map((node) => node.address);
    await waitForMap(survivors[0]!, settled(survivorAddresses), FAILOVER_BOUND_MS, 'primaries off the killed node');
    const failoverMs = Date.now() - killedAt;
    // Another node took over as controller (it was the one that moved the primaries). Its log line
    // comes through a pipe and may trail the map the test just saw: wait for it, briefly.
    await Promise.any(survivors.map((node) => node.waitForLog('elected controller', 1, 5_000)));
    console.info(`coordinated failover: primaries moved off a killed node in ${failoverMs} ms (lease TTL ${LEASE_TTL_MS} ms)`);

    // The same client, its map now stale, reaches every container's new primary.
    const stream = 'follow/after';
    await client.createStream(stream, { segments: CONTAINERS });
    const writer = client.createWriter(stream);
    await Promise.all(Array.from({ length: 40 }, (_, i) => writer.write(`key-${i}`, `event-${i}`)));
    await writer.close();
    const reader = client.createReader(stream);
    const read: string[] = [];
    for await (const event of reader) {
      read.push(event.data.toString());
      if (read.length === 40) break;
    }
    await reader.close();
    expect(read.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `event-${i}`).sort());
    await client.close();

    await controller.restart();
    await waitForMap(survivors[0]!, settled(addresses), FAILOVER_BOUND_MS, 'the restarted node back in the spread');
  });

  it('moves containers to a node that joins', async () => {
    const newcomer = await cluster.addNode();
    const addresses = running().map((node) => node.address);
    expect(addresses).toHaveLength(4);
    const map = await waitForMap(cluster.nodes[0]!, settled(addresses), 20_000, 'an even spread over 4 nodes');
    expect(primaryCounts(map, [newcomer.address])[0]).toBeGreaterThanOrEqual(1);
    await newcomer.stop();
    await waitForMap(cluster.nodes[0]!, settled(running().map((node) => node.address)), FAILOVER_BOUND_MS, 'spread again after it left');
  });
});
