/**
 * Starts real `sluice-server` processes (the built packages/server/dist/cli.js) for end-to-end
 * tests: ephemeral ports, fresh temp data dirs, and a registry that kills whatever a test file
 * leaves running and removes its temp dirs (after the file's tests, and on process exit).
 *
 *   const server = await startServer();                  // --port 0 --fsync none, fresh data dir
 *   const client = await RawClient.connect(server.address);
 *   await server.kill();  await server.restart();        // kill -9, then same port and data dir
 *   const cluster = await startCluster(3);               // --cluster/--node on ports picked up front
 *   const suite = clusterForFile(3, 32);                 // one cluster for a test file: suite.cluster, suite.map
 *
 * Build first: npm run build --workspace @sluice/protocol && npm run build --workspace @sluice/server
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ClusterMap } from '@sluice/protocol';
import { afterAll, beforeAll } from 'vitest';

import { ChildProcessHelper } from './child-process.js';
import { processRegistry } from './process-registry.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVER_CLI = path.join(REPO_ROOT, 'packages/server/dist/cli.js');
const HOST = '127.0.0.1';
/** Lines of output kept per process, shown when a start fails. */
const OUTPUT_LINES = 300;
/** How long stop() waits for a drain after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 15_000;

export interface StartServerOptions {
  /** Extra CLI flags, after the helper's own (so they may override them). */
  args?: string[];
  /** Extra environment variables for the process. */
  env?: NodeJS.ProcessEnv;
  /** Use this data dir (kept afterwards) instead of a fresh temp dir (removed afterwards). */
  dataDir?: string;
  /** Default 'none': fast and unsafe; pass 'always' where durability is the point. */
  fsync?: 'always' | 'none';
  /** Default 0 (ephemeral). */
  port?: number;
  /** How long to wait for the "listening" line. Default 20 s. */
  startTimeoutMs?: number;
  /** The sluice-server script to run (e.g. the bin of an installed tarball). Default: this checkout's build. */
  cli?: string;
}

export interface ListeningLine {
  host: string;
  port: number;
  node: string;
  [field: string]: unknown;
}

const { running, dirs: tempDirs, cleanup } = processRegistry<ServerProcess>();

export function makeTempDir(prefix = 'sluice-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ScriptOptions {
  /** Written to the script's stdin, which is then closed (empty by default). */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Killed (SIGKILL) and rejected after this long. Default 15 s. */
  timeoutMs?: number;
}

/** Runs a node script (a bin, a CLI) to completion as its own process: exit code and output. */
export function runNodeScript(script: string, args: string[], options: ScriptOptions = {}): Promise<ScriptRun> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // a script that exits without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Runs the sluice-server CLI to completion (for --help, bad flags, `token`): exit code and output. */
export function runCli(args: string[], options: Omit<ScriptOptions, 'input'> = {}): Promise<ScriptRun> {
  assertBuilt();
  return runNodeScript(SERVER_CLI, args, options);
}

function assertBuilt(): void {
  if (!existsSync(SERVER_CLI)) {
    throw new Error(
      `${SERVER_CLI} is missing: run npm run build --workspace @sluice/protocol && npm run build --workspace @sluice/server`,
    );
  }
}

/** One sluice-server child process; restart() replaces the process, keeping port and data dir. */
export class ServerProcess extends ChildProcessHelper {
  host = HOST;
  port = 0;
  node = '';
  /** The full "listening" log record of the current process. */
  listening: ListeningLine | null = null;
  private readonly messageCounts = new Map<string, number>();

  constructor(
    readonly dataDir: string,
    private readonly options: StartServerOptions,
    private readonly fixedArgs: readonly string[] = [],
  ) {
    super(running, OUTPUT_LINES, STOP_TIMEOUT_MS);
  }

  /** host:port, as a client endpoint or cluster member. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** How many log records with this msg all processes of this server printed (not limited to the kept lines). */
  logCount(msg: string): number {
    return this.messageCounts.get(msg) ?? 0;
  }

  /** Waits until logCount(msg) reaches count (log lines arrive through a pipe, a little after the fact). */
  async waitForLog(msg: string, count = 1, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.logCount(msg) < count) {
      if (Date.now() > deadline) throw new Error(`no ${count} log lines "${msg}" within ${timeoutMs} ms:\n${this.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Log records (parsed JSON lines) among the last lines kept, optionally only those with msg. */
  logRecords(msg?: string): Record<string, unknown>[] {
    const records: Record<string, unknown>[] = [];
    for (const line of this.keptLines) {
      if (!line.startsWith('{')) continue;
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (msg === undefined || record.msg === msg) records.push(record);
      } catch {
        // not a log line
      }
    }
    return records;
  }

  async start(): Promise<this> {
    assertBuilt();
    if (this.isRunning) throw new Error(`server ${this.address} is already running`);
    const args = [
      this.options.cli ?? SERVER_CLI,
      '--host',
      HOST,
      '--port',
      String(this.port || this.options.port || 0),
      '--data-dir',
      this.dataDir,
      '--fsync',
      this.options.fsync ?? 'none',
      ...this.fixedArgs,
      ...(this.options.args ?? []),
    ];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.listening = null;
    const { stdout } = this.adopt(child, (line) => {
      const msg = /"msg":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
      if (msg !== undefined) this.messageCounts.set(msg, (this.messageCounts.get(msg) ?? 0) + 1);
    });
    const line = await this.waitForReady([stdout], listeningRecord, this.options.startTimeoutMs ?? 20_000, 'sluice-server (its "listening" line)');
    this.listening = line;
    this.host = line.host;
    this.port = line.port;
    this.node = line.node;
    return this;
  }
}

/** The "listening" log record, when line is it. */
function listeningRecord(line: string): ListeningLine | undefined {
  if (!line.includes('"listening"')) return undefined;
  try {
    const record = JSON.parse(line) as ListeningLine;
    return record.msg === 'listening' ? record : undefined;
  } catch {
    return undefined; // not JSON: keep waiting
  }
}

/** Starts one node on an ephemeral port with a fresh temp data dir (unless options say otherwise). */
export async function startServer(options: StartServerOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? makeTempDir();
  return new ServerProcess(dataDir, options).start();
}

export interface ClusterProcesses {
  nodes: ServerProcess[];
  /** The --cluster member list, in order. */
  members: string[];
  stop(): Promise<void>;
}

/** n nodes on ports picked up front, each with its own data dir and the same --cluster list. */
export async function startCluster(n: number, options: Omit<StartServerOptions, 'port' | 'dataDir'> = {}): Promise<ClusterProcesses> {
  const ports = await freePorts(n);
  const members = ports.map((port) => `${HOST}:${port}`);
  const nodes = members.map(
    (member, index) =>
      new ServerProcess(makeTempDir(), { ...options, port: ports[index]! }, ['--cluster', members.join(','), '--node', member]),
  );
  await Promise.all(nodes.map((node) => node.start()));
  return {
    nodes,
    members,
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}

/** A test file's cluster and its cluster map (set once the file's beforeAll ran). */
export interface FileCluster {
  cluster: ClusterProcesses;
  map: ClusterMap;
}

/**
 * One cluster for a test file: n nodes serving `containers` containers, started before the file's
 * tests and stopped after them. Read its fields inside tests, not at the top of the file.
 */
export function clusterForFile(n: number, containers: number, options: Omit<StartServerOptions, 'port' | 'dataDir'> = {}): FileCluster {
  const file = {} as FileCluster;
  beforeAll(async () => {
    file.cluster = await startCluster(n, { ...options, args: ['--containers', String(containers), ...(options.args ?? [])] });
    file.map = { members: file.cluster.members, containerCount: containers };
  });
  afterAll(async () => {
    await file.cluster?.stop();
  });
  return file;
}

/** Ports free right now, all distinct: bind them all at once, note them, close. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, HOST, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Kills every server still running and removes temp dirs. Runs after each test file by itself. */
export const cleanupServers = cleanup;
