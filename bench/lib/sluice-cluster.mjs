// A replicated Sluice cluster for a benchmark: one etcd and `nodes` real `sluice-server
// --coordinator` processes (fsync on, as users run them) on loopback, each with its own data dir
// under the scenario's temp dir. Every process is tracked: stopped when the scenario ends.
import { findBinary, freePort, spawnWithLines, stopProcess, waitForLine } from './processes.mjs';
import { startSluiceServer } from './sluice-server.mjs';

/** Why a replicated cluster cannot run here (a skip reason), or null. */
export function etcdMissing() {
  return findBinary('etcd') ? null : 'etcd not installed (apt-get install etcd-server)';
}

async function startEtcd(ctx) {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawnWithLines(
    findBinary('etcd'),
    [
      '--name', 'sluice-bench', '--data-dir', await ctx.tmpDir('etcd-'),
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `sluice-bench=${peer}`,
    ],
    { name: 'etcd' },
  );
  ctx.defer(() => stopProcess(child));
  await waitForLine(child, (line) => (line.includes('ready to serve client requests') ? true : undefined), { what: 'etcd ready' });
  return { child, endpoint: `etcd://127.0.0.1:${clientPort}` };
}

/**
 * Starts etcd and `nodes` coordinated nodes (replication factor = nodes) and resolves once every
 * node listens. Returns { nodes: [{ endpoint, pid, kill(), stop() }], endpoints, leaseTtlMs, stop() }.
 * Containers get their primaries from the controller a moment later: clients retry until then.
 * `nodeArgs(i)`: node options for the i-th node's process (e.g. --cpu-prof into a directory of its own).
 */
export async function startSluiceCluster(ctx, { nodes = 3, leaseTtlS = 2, containers = 4, nodeArgs = () => [] } = {}) {
  const etcd = await startEtcd(ctx);
  const ports = [];
  for (let i = 0; i < nodes; i++) ports.push(await freePort());
  const started = await Promise.all(
    ports.map(async (port, i) =>
      startSluiceServer({
        dataDir: await ctx.tmpDir('sluice-node-'),
        ctx,
        nodeArgs: nodeArgs(i),
        args: [
          '--port', String(port), '--node', `127.0.0.1:${port}`,
          '--coordinator', etcd.endpoint, '--replication-factor', String(nodes),
          '--lease-ttl', `${leaseTtlS}s`, '--containers', String(containers),
        ],
      }),
    ),
  );
  return {
    nodes: started,
    endpoints: started.map((node) => node.endpoint),
    leaseTtlMs: leaseTtlS * 1000,
    async stop() {
      await Promise.all(started.map((node) => node.stop()));
      await stopProcess(etcd.child);
    },
  };
}
