// `npm run cluster`: a 3-node cluster on this machine for trying things out.
// Nodes listen on 127.0.0.1:9091-9093 with data in ./data/node-1 … ./data/node-3, and serve
// /metrics and /health on 127.0.0.1:9191-9193. Each output line is prefixed with its node.
// Ctrl-C (or SIGTERM) stops them all cleanly. Extra arguments go to every node:
//   npm run cluster -- --fsync none --log-level debug
// `npm run cluster -- --replicated` starts etcd first (127.0.0.1:2379, data in ./data/etcd; `etcd`
// must be on PATH) and the nodes with --coordinator instead of --cluster: containers are replicated
// and fail over. A node that dies then does not stop the others (that is the point); Ctrl-C stops
// the nodes, then etcd.
// Environment: SLUICE_CLUSTER_SIZE (3), SLUICE_CLUSTER_BASE_PORT (9091),
// SLUICE_CLUSTER_METRICS_BASE_PORT (base port + 100; 0 turns metrics off), SLUICE_CLUSTER_DATA_DIR (./data),
// SLUICE_CLUSTER_ETCD_PORT (2379; its peer port is the next one).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const size = Number(process.env.SLUICE_CLUSTER_SIZE ?? 3);
const basePort = Number(process.env.SLUICE_CLUSTER_BASE_PORT ?? 9091);
const metricsBasePort = Number(process.env.SLUICE_CLUSTER_METRICS_BASE_PORT ?? basePort + 100);
const dataDir = path.resolve(root, process.env.SLUICE_CLUSTER_DATA_DIR ?? 'data');
const etcdPort = Number(process.env.SLUICE_CLUSTER_ETCD_PORT ?? 2379);
const members = Array.from({ length: size }, (_, i) => `127.0.0.1:${basePort + i}`);
const replicated = process.argv.includes('--replicated');
const extraArgs = process.argv.slice(2).filter((arg) => arg !== '--replicated');

let stopping = false;
const children = [];

/** Starts a child with prefixed output; `critical`: its exit stops the whole cluster. */
function start(name, command, args, { critical }) {
  // Detached: a Ctrl-C in the terminal reaches only this script, which then sends each child one
  // SIGTERM (a node that got both the terminal's SIGINT and our SIGTERM would exit at once, unflushed).
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const prefix = `[${name}] `;
  createInterface({ input: child.stdout }).on('line', (line) => process.stdout.write(`${prefix}${line}\n`));
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${prefix}${line}\n`));
  child.on('error', (error) => {
    console.error(`${name} could not start: ${error.message}${command === 'etcd' ? ' (install etcd: apt-get install etcd-server)' : ''}`);
    process.exitCode = 1;
    stop();
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && !stopping) process.exitCode = 1;
    if (!stopping) {
      console.error(`${name} exited (${signal ?? `code ${code}`})${critical ? '; stopping the cluster' : ''}`);
      if (critical) stop();
    }
  });
  children.push(child);
  return child;
}

/** Resolves once etcd logs that it serves clients. */
function startEtcd() {
  const client = `http://127.0.0.1:${etcdPort}`;
  const peer = `http://127.0.0.1:${etcdPort + 1}`;
  const etcd = start(
    'etcd',
    'etcd',
    [
      '--name', 'sluice-local',
      '--data-dir', path.join(dataDir, 'etcd'),
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `sluice-local=${peer}`,
    ],
    { critical: true },
  );
  return new Promise((resolve) => {
    const onLine = (line) => line.includes('ready to serve client requests') && resolve(etcd);
    createInterface({ input: etcd.stderr }).on('line', onLine);
    createInterface({ input: etcd.stdout }).on('line', onLine);
  });
}

function startNodes() {
  return members.map((member, i) =>
    start(
      `node-${i + 1}`,
      process.execPath,
      [
        path.join(root, 'packages/server/dist/cli.js'),
        '--port', String(basePort + i),
        '--data-dir', path.join(dataDir, `node-${i + 1}`),
        ...(replicated ? ['--coordinator', `etcd://127.0.0.1:${etcdPort}`] : ['--cluster', members.join(',')]),
        '--node', member,
        ...(metricsBasePort > 0 ? ['--metrics-port', String(metricsBasePort + i)] : []),
        '--log-pretty',
        ...extraArgs,
      ],
      { critical: !replicated },
    ),
  );
}

function stop() {
  if (stopping) return;
  stopping = true;
  const alive = (child) => child.exitCode === null && child.signalCode === null;
  const nodes = children.filter((child) => child.spawnargs[0] !== 'etcd');
  const etcd = children.find((child) => child.spawnargs[0] === 'etcd');
  let left = nodes.filter(alive).length;
  const stopEtcd = () => etcd && alive(etcd) && etcd.kill('SIGTERM');
  if (left === 0) stopEtcd();
  // Nodes first (they leave the cluster through etcd), then etcd.
  for (const node of nodes.filter(alive)) {
    node.once('exit', () => --left === 0 && stopEtcd());
    node.kill('SIGTERM');
  }
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// If this script dies some other way, do not leave detached children behind.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});

if (replicated) await startEtcd();
if (!stopping) {
  startNodes();
  const metricsNote = metricsBasePort > 0 ? `; /metrics and /health on ports ${metricsBasePort}-${metricsBasePort + size - 1}` : '';
  const mode = replicated ? `replicated, coordinated by etcd at 127.0.0.1:${etcdPort}` : 'static';
  console.log(`sluice cluster (${mode}): ${members.join(', ')} (connect a client to any of them${metricsNote}; data in ${dataDir}; Ctrl-C stops all)`);
}
