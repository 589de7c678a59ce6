// `npm run cluster`: a 3-node cluster on this machine for trying things out.
// Nodes listen on 127.0.0.1:9091-9093 with data in ./data/node-1 … ./data/node-3; Ctrl-C stops them all.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const basePort = Number(process.env.SLUICE_CLUSTER_BASE_PORT ?? 9091);
const size = Number(process.env.SLUICE_CLUSTER_SIZE ?? 3);
const members = Array.from({ length: size }, (_, i) => `127.0.0.1:${basePort + i}`);

const nodes = members.map((member, i) =>
  spawn(
    process.execPath,
    [
      'packages/server/dist/cli.js',
      '--port', String(basePort + i),
      '--data-dir', `data/node-${i + 1}`,
      '--cluster', members.join(','),
      '--node', member,
      '--log-pretty',
      ...process.argv.slice(2),
    ],
    { cwd: root, stdio: 'inherit' },
  ),
);

console.log(`sluice cluster: ${members.join(', ')} (connect a client to any of them; Ctrl-C stops all)`);

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  for (const node of nodes) node.kill('SIGTERM');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const node of nodes) node.on('exit', (code) => {
  if (!stopping && code !== 0) {
    console.error(`a node exited with code ${code}; stopping the cluster`);
    stop();
  }
});
