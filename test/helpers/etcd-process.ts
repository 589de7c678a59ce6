/**
 * Starts a real single-member etcd (Debian's etcd-server, `etcd` on PATH) for tests of coordinated
 * clusters: ephemeral loopback ports, a fresh temp data dir, and a registry that kills whatever a
 * test file leaves running (after the file's tests, and on process exit).
 *
 *   const describeEtcd = etcdAvailable() ? describe : describe.skip;  // prints one line when absent
 *   const etcd = await startEtcd();
 *   etcd.endpoint        // 'etcd://127.0.0.1:PORT', the value of sluice-server --coordinator
 *   await etcd.kill();  await etcd.restart();   // kill -9, then the same ports and data dir
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ChildProcessHelper } from './child-process.js';
import { processRegistry } from './process-registry.js';
import { freePorts } from './server-process.js';

const HOST = '127.0.0.1';
const OUTPUT_LINES = 200;
/** How long stop() waits after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
/** The line etcd logs once it accepts client requests (capnslog and zap both say this). */
const READY = 'ready to serve client requests';

export const ETCD_INSTALL_HINT =
  'etcd is not installed: tests of coordinated clusters are skipped (install it with `sudo apt-get install etcd-server`; .ci/run does this in CI)';

let availability: boolean | null = null;

/** Whether `etcd` runs here; the first call that finds it missing prints ETCD_INSTALL_HINT once. */
export function etcdAvailable(): boolean {
  if (availability === null) {
    const probe = spawnSync('etcd', ['--version'], { stdio: 'ignore' });
    availability = probe.status === 0;
    if (!availability) {
      if (process.env.CI) throw new Error(`${ETCD_INSTALL_HINT}; CI must run them (.ci/run installs etcd-server)`);
      console.warn(ETCD_INSTALL_HINT);
    }
  }
  return availability;
}

const { running, dirs: dataDirs, cleanup } = processRegistry<EtcdProcess>();

export class EtcdProcess extends ChildProcessHelper {
  constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {
    super(running, OUTPUT_LINES, STOP_TIMEOUT_MS);
  }

  /** host:port of the client listener. */
  get address(): string {
    return `${HOST}:${this.clientPort}`;
  }

  /** The value of sluice-server --coordinator. */
  get endpoint(): string {
    return `etcd://${this.address}`;
  }

  async start(timeoutMs = 20_000): Promise<this> {
    if (this.isRunning) throw new Error(`etcd ${this.address} is already running`);
    const client = `http://${HOST}:${this.clientPort}`;
    const peer = `http://${HOST}:${this.peerPort}`;
    const child = spawn(
      'etcd',
      [
        '--name',
        'sluice-test',
        '--data-dir',
        this.dataDir,
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `sluice-test=${peer}`,
        // Tests run on a loaded 2-core machine: keep elections and heartbeats calm.
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '1000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const { stdout, stderr } = this.adopt(child);
    await this.waitForReady([stderr, stdout], (line) => (line.includes(READY) ? true : undefined), timeoutMs, `etcd (its "${READY}" line)`);
    return this;
  }
}

/** One etcd member on free loopback ports with a fresh temp data dir (removed after the test file). */
export async function startEtcd(): Promise<EtcdProcess> {
  const [clientPort, peerPort] = await freePorts(2);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-etcd-'));
  dataDirs.add(dataDir);
  return new EtcdProcess(dataDir, clientPort!, peerPort!).start();
}

/** Kills every etcd still running, then removes their data dirs. Runs after each test file by itself. */
export const cleanupEtcd = cleanup;
