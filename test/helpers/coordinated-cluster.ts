/**
 * Starts a coordinated (replicated) cluster for end-to-end tests: one real etcd (etcd-process.ts)
 * and n `sluice-server --coordinator …` processes on ports picked up front, each with its own temp
 * data dir. Nodes can be added, killed, stopped and restarted like any ServerProcess.
 *
 *   const cluster = await startCoordinatedCluster(3, { leaseTtl: '2s' });
 *   cluster.endpoints              // every node, as client endpoints
 *   const fourth = await cluster.addNode();
 *   await cluster.nodes[0]!.kill(); await cluster.etcd.restart();
 *   await cluster.stop();          // every node, then etcd
 *   await waitForMap(cluster.nodes[1]!, (map) => !map.primaries.includes(dead), 20_000, 'failover');
 */
import type { CommandOf } from '@sluice/protocol';

import { startEtcd, type EtcdProcess } from './etcd-process.js';
import { RawClient, expectReply } from './raw-client.js';
import { freePorts, makeTempDir, ServerProcess, type StartServerOptions } from './server-process.js';

const HOST = '127.0.0.1';

export interface CoordinatedClusterOptions extends Omit<StartServerOptions, 'port' | 'dataDir'> {
  /** --replication-factor; default 3. */
  replicationFactor?: number;
  /** --lease-ttl; default '2s' (tests want failover fast; the product default is 5s). */
  leaseTtl?: string;
  /** --containers; default 8 (small, so assignments settle fast). */
  containers?: number;
  /** Use this etcd instead of starting one (it is then not stopped by stop()). */
  etcd?: EtcdProcess;
}

export interface CoordinatedCluster {
  etcd: EtcdProcess;
  nodes: ServerProcess[];
  /** host:port of every node started so far (running or not). */
  readonly endpoints: string[];
  /** Starts one more node with the same flags (or extra ones, e.g. a disagreeing --containers). */
  addNode(extra?: { args?: string[]; start?: boolean }): Promise<ServerProcess>;
  /** Stops every node, then etcd (unless it was given). */
  stop(): Promise<void>;
}

export async function startCoordinatedCluster(n: number, options: CoordinatedClusterOptions = {}): Promise<CoordinatedCluster> {
  const ownEtcd = options.etcd === undefined;
  const etcd = options.etcd ?? (await startEtcd());
  const { replicationFactor = 3, leaseTtl = '2s', containers = 8, etcd: _etcd, ...serverOptions } = options;
  const nodes: ServerProcess[] = [];

  const makeNode = async (port: number, extraArgs: string[] = []): Promise<ServerProcess> => {
    const address = `${HOST}:${port}`;
    const node = new ServerProcess(
      makeTempDir(),
      { ...serverOptions, port, args: [...(serverOptions.args ?? []), ...extraArgs] },
      [
        '--coordinator',
        etcd.endpoint,
        '--replication-factor',
        String(replicationFactor),
        '--lease-ttl',
        leaseTtl,
        '--containers',
        String(containers),
        '--node',
        address,
      ],
    );
    node.port = port;
    nodes.push(node);
    return node;
  };

  const ports = await freePorts(n);
  const started = await Promise.all(ports.map((port) => makeNode(port)));
  await Promise.all(started.map((node) => node.start()));

  return {
    etcd,
    nodes,
    get endpoints() {
      return nodes.map((node) => node.address);
    },
    async addNode(extra = {}) {
      const [port] = await freePorts(1);
      const node = await makeNode(port!, extra.args);
      if (extra.start !== false) await node.start();
      return node;
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
      if (ownEtcd) await etcd.stop();
    },
  };
}

/** The cluster map a node serves right now (a fresh connection, Hello, GetClusterMap). */
export async function clusterMapOf(node: ServerProcess): Promise<CommandOf<'ClusterMap'>> {
  const client = await RawClient.connect(node.address);
  try {
    await client.hello();
    return expectReply(await client.call({ type: 'GetClusterMap' }, 0), 'ClusterMap');
  } finally {
    client.close();
  }
}

/** Polls until check(map served by node) is true; returns that map. Bounded: fails with the last map seen. */
export async function waitForMap(
  node: ServerProcess,
  check: (map: CommandOf<'ClusterMap'>) => boolean,
  timeoutMs: number,
  what: string,
): Promise<CommandOf<'ClusterMap'>> {
  const deadline = Date.now() + timeoutMs;
  let last: CommandOf<'ClusterMap'> | null = null;
  for (;;) {
    try {
      last = await clusterMapOf(node);
      if (check(last)) return last;
    } catch {
      // the node may be restarting: ask again
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last map from ${node.address}: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The map names exactly these members and spreads the primaries over them evenly (within one):
 * placement has settled, and no more primaries move until membership changes.
 */
export function evenlySpreadOver(addresses: readonly string[]): (map: CommandOf<'ClusterMap'>) => boolean {
  return (map) => {
    if (map.members.length !== addresses.length || !addresses.every((address) => map.members.includes(address))) return false;
    if (!map.primaries.every((primary) => addresses.includes(primary))) return false;
    const counts = primaryCounts(map, addresses);
    return Math.max(...counts) - Math.min(...counts) <= 1;
  };
}

/** How many containers each address is primary of, in the order given. */
export function primaryCounts(map: CommandOf<'ClusterMap'>, addresses: readonly string[]): number[] {
  return addresses.map((address) => map.primaries.filter((primary) => primary === address).length);
}
