/**
 * What a test file's helper processes leave behind: the children still running and the temp dirs
 * they used. The registry kills and removes them after the file's tests, and on process exit.
 */
import { rmSync } from 'node:fs';

import { afterAll } from 'vitest';

export interface TrackedProcess {
  kill(signal: NodeJS.Signals): Promise<unknown>;
  /** Synchronous, for process exit. */
  killNow(): void;
}

export interface ProcessRegistry<P extends TrackedProcess> {
  readonly running: Set<P>;
  readonly dirs: Set<string>;
  /** Kills every process still running, then removes the dirs. */
  cleanup(): Promise<void>;
}

export function processRegistry<P extends TrackedProcess>(): ProcessRegistry<P> {
  const running = new Set<P>();
  const dirs = new Set<string>();
  const removeDirs = (): void => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  const registry: ProcessRegistry<P> = {
    running,
    dirs,
    async cleanup() {
      await Promise.all([...running].map((child) => child.kill('SIGKILL')));
      removeDirs();
      dirs.clear();
    },
  };
  process.on('exit', () => {
    for (const child of running) child.killNow();
    removeDirs();
  });
  try {
    afterAll(registry.cleanup);
  } catch {
    // imported outside a vitest file: process exit still cleans up
  }
  return registry;
}
