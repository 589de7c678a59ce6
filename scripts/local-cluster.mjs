// `npm run cluster`: a 3-node cluster on this machine for trying things out.
// Nodes listen on 127.0.0.1:9091-9093 with data in ./data/node-1 … ./data/node-3, and serve
// /metrics and /health on 127.0.0.1:9191-9193. Each output line is prefixed with its node.
// Ctrl-C (or SIGTERM) stops them all cleanly. Extra arguments go to every node:
//   npm run cluster -- --fsync none --log-level debug
// Environment: SLUICE_CLUSTER_SIZE (3), SLUICE_CLUSTER_BASE_PORT (9091),
// SLUICE_CLUSTER_METRICS_BASE_PORT (base port + 100; 0 turns metrics off), SLUICE_CLUSTER_DATA_DIR (./data).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const size = Number(process.env.SLUICE_CLUSTER_SIZE ?? 3);
const basePort = Number(process.env.SLUICE_CLUSTER_BASE_PORT ?? 9091);
const metricsBasePort = Number(process.env.SLUICE_CLUSTER_METRICS_BASE_PORT ?? basePort + 100);
const dataDir = path.resolve(root, process.env.SLUICE_CLUSTER_DATA_DIR ?? 'data');
const members = Array.from({ length: size }, (_, i) => `127.0.0.1:${basePort + i}`);

let stopping = false;

const nodes = members.map((member, i) => {
  const name = `node-${i + 1}`;
  const args = [
    path.join(root, 'packages/server/dist/cli.js'),
    '--port', String(basePort + i),
    '--data-dir', path.join(dataDir, name),
    '--cluster', members.join(','),
    '--node', member,
    ...(metricsBasePort > 0 ? ['--metrics-port', String(metricsBasePort + i)] : []),
    '--log-pretty',
    ...process.argv.slice(2),
  ];
  // Detached: a Ctrl-C in the terminal reaches only this script, which then sends each node one
  // SIGTERM (a node that got both the terminal's SIGINT and our SIGTERM would exit at once, unflushed).
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const prefix = `[${name}] `;
  createInterface({ input: child.stdout }).on('line', (line) => process.stdout.write(`${prefix}${line}\n`));
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${prefix}${line}\n`));
  child.on('exit', (code, signal) => {
    if (code !== 0) process.exitCode = 1;
    if (!stopping) {
      console.error(`${name} exited (${signal ?? `code ${code}`}); stopping the cluster`);
      stop();
    }
  });
  return child;
});

const metricsNote = metricsBasePort > 0 ? `; /metrics and /health on ports ${metricsBasePort}-${metricsBasePort + size - 1}` : '';
console.log(`sluice cluster: ${members.join(', ')} (connect a client to any of them${metricsNote}; data in ${dataDir}; Ctrl-C stops all)`);

function stop() {
  if (stopping) return;
  stopping = true;
  for (const node of nodes) if (node.exitCode === null && node.signalCode === null) node.kill('SIGTERM');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// If this script dies some other way, do not leave detached nodes behind.
process.on('exit', () => {
  for (const node of nodes) if (node.exitCode === null && node.signalCode === null) node.kill('SIGTERM');
});
