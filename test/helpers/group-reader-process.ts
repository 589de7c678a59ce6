/**
 * Reader-group members in child processes (test/helpers/group-reader-child.mjs, on the built client),
 * so tests can kill one with SIGKILL. Every event a child delivers is recorded in `events`; whatever a
 * test file leaves running is killed after its tests.
 *
 *   const reader = startGroupReader({ endpoints, stream, group, readerId: 'r1', sessionTimeoutMs: 3000 });
 *   await reader.close();   // graceful: commit and leave        reader.kill();  // SIGKILL
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll } from 'vitest';

const CHILD = fileURLToPath(new URL('./group-reader-child.mjs', import.meta.url));

export interface GroupReaderConfig {
  endpoints: string[];
  stream: string;
  group: string;
  readerId: string;
  sessionTimeoutMs?: number;
  commitIntervalMs?: number;
}

export interface DeliveredEvent {
  data: string;
  segment: string;
  offset: number;
  readerId: string;
}

const running = new Set<GroupReaderProcess>();

export class GroupReaderProcess {
  readonly events: DeliveredEvent[] = [];
  error: { code: string; message: string } | null = null;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #closed = false;
  #stderr = '';

  constructor(readonly config: GroupReaderConfig) {
    this.#child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(this);
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { type: string } & Partial<DeliveredEvent> & { code?: string; message?: string };
      if (message.type === 'event') this.events.push({ data: message.data!, segment: message.segment!, offset: message.offset!, readerId: config.readerId });
      else if (message.type === 'error') this.error = { code: message.code ?? '', message: message.message ?? '' };
      else if (message.type === 'closed') this.#closed = true;
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => (this.#stderr = (this.#stderr + chunk.toString()).slice(-4000)));
    this.#exited = new Promise((resolve) => this.#child.on('exit', (code) => resolve(code)));
    void this.#exited.then(() => running.delete(this));
  }

  get readerId(): string {
    return this.config.readerId;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Graceful: the reader commits, leaves the group, and the process exits 0. */
  async close(): Promise<void> {
    this.#child.stdin!.write('close\n');
    const code = await this.#exited;
    if (code !== 0 || !this.#closed) throw new Error(`reader ${this.readerId} did not close cleanly (exit ${code}): ${this.#stderr}`);
  }

  /** kill -9: no commit, no leave. */
  async kill(): Promise<void> {
    this.#child.kill('SIGKILL');
    await this.#exited;
  }
}

export function startGroupReader(config: GroupReaderConfig): GroupReaderProcess {
  return new GroupReaderProcess(config);
}

afterAll(async () => {
  await Promise.all([...running].map((reader) => reader.kill()));
});
