/**
 * What the helpers that run a real process for tests (sluice-server, etcd) share: the child's life
 * (start in a subclass, stop with SIGTERM then SIGKILL, kill, restart on the same ports and dirs),
 * its registration with the test file's process registry, the last lines of its output, and the
 * wait for the line that says it is ready.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export abstract class ChildProcessHelper {
  private child: ChildProcess | null = null;
  private exitPromise: Promise<void> = Promise.resolve();
  private exit: ChildExit | null = null;
  private lines: string[] = [];

  protected constructor(
    /** The test file's registry of running children (process-registry.ts). */
    private readonly running: Set<ChildProcessHelper>,
    /** How many lines of output are kept, shown when something fails. */
    private readonly outputLines: number,
    /** How long stop() waits after SIGTERM before SIGKILL. */
    private readonly stopTimeoutMs: number,
  ) {}

  /** Starts the process (again, after stop() or kill(): same ports and data dir). */
  abstract start(): Promise<this>;

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** null while running (or before the first start). */
  get exitCode(): number | null {
    return this.exit?.code ?? null;
  }

  get exitSignal(): NodeJS.Signals | null {
    return this.exit?.signal ?? null;
  }

  get isRunning(): boolean {
    return this.child !== null && this.exit === null;
  }

  /** The last lines the process printed (stdout and stderr), for diagnostics. */
  output(): string {
    return this.lines.join('\n');
  }

  protected get keptLines(): readonly string[] {
    return this.lines;
  }

  /** SIGTERM and wait for the exit (SIGKILL after timeoutMs); resolves with the exit code. */
  async stop(timeoutMs = this.stopTimeoutMs): Promise<number | null> {
    if (!this.isRunning) return this.exitCode;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exitPromise;
    clearTimeout(timer);
    return this.exitCode;
  }

  /** Sends a signal (default SIGKILL: a crash) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.isRunning) return;
    this.child!.kill(signal);
    await this.exitPromise;
  }

  /** Waits until the process exits by itself. */
  async exited(): Promise<void> {
    await this.exitPromise;
  }

  /** A new process on the same ports and data dir (after stop() or kill()). */
  async restart(): Promise<this> {
    if (this.isRunning) await this.stop();
    return this.start();
  }

  /** For the registry: kill without waiting for anything else. */
  killNow(): void {
    if (this.isRunning) this.child!.kill('SIGKILL');
  }

  /**
   * Tracks a child just spawned (stdout and stderr piped): its exit, its registration, and the lines
   * it prints (kept, and passed to onStdoutLine). Returns its two line streams.
   */
  protected adopt(child: ChildProcess, onStdoutLine?: (line: string) => void): { stdout: Interface; stderr: Interface } {
    this.child = child;
    this.exit = null;
    this.running.add(this);
    this.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        this.running.delete(this);
        resolve();
      });
    });
    const stderr = createInterface({ input: child.stderr! });
    const stdout = createInterface({ input: child.stdout! });
    stderr.on('line', (line) => this.remember(line));
    stdout.on('line', (line) => {
      this.remember(line);
      onStdoutLine?.(line);
    });
    return { stdout, stderr };
  }

  /**
   * Resolves with what `ready` finds in the first line (of `streams`) it accepts; rejects, after
   * killing the process, when no line did within timeoutMs, and when the process exits first.
   */
  protected waitForReady<T>(streams: Interface[], ready: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stopWatching = (): void => {
        clearTimeout(timer);
        for (const stream of streams) stream.off('line', onLine);
      };
      const timer = setTimeout(() => {
        this.child?.kill('SIGKILL');
        reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${this.output()}`));
      }, timeoutMs);
      const onLine = (line: string): void => {
        const found = ready(line);
        if (found === undefined) return;
        stopWatching();
        resolve(found);
      };
      for (const stream of streams) stream.on('line', onLine);
      void this.exitPromise.then(() => {
        stopWatching();
        reject(new Error(`${what} exited (code ${this.exit?.code}, signal ${this.exit?.signal}) before it was ready:\n${this.output()}`));
      });
    });
  }

  private remember(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.outputLines) this.lines.shift();
  }
}
