// The context a scenario runs in: its time budget, progress, temp dirs, and cleanup that always
// runs (normal end, error, time limit, Ctrl-C).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { liveChildren, stopProcess } from './processes.mjs';
import { REPO_ROOT } from './paths.mjs';

/**
 * @param {{ id: string }} scenario
 * @param {{ quick: boolean, durationMs: number, warmupMs: number, dataDir: string, verbose: boolean }} options
 * @param {import('./progress.mjs').Progress} progress
 * @returns {{ ctx: import('./types.js').ScenarioContext, abort: (reason: string) => void, cleanup: () => Promise<void> }}
 */
export function createContext(scenario, options, progress) {
  const controller = new globalThis.AbortController();
  const deferred = [];
  const dirs = [];
  const childrenBefore = liveChildren();

  const log = (...parts) => progress.log(`  ${scenario.id}: ${parts.map(String).join(' ')}`);
  log.debug = options.verbose ? log : () => {};

  let currentLabel;
  /** @type {import('./types.js').ScenarioContext} */
  const ctx = {
    id: scenario.id,
    quick: options.quick,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    signal: controller.signal,
    repoRoot: REPO_ROOT,
    progress(fraction, label) {
      if (label !== undefined) currentLabel = label;
      progress.update(fraction, currentLabel);
    },
    part(index, count, label) {
      progress.update(index / count, label);
      currentLabel = label;
      return (fraction) => progress.update((index + Math.min(1, fraction)) / count, label);
    },
    async tmpDir(prefix = 'tmp-') {
      const parent = join(options.dataDir, scenario.id);
      await mkdir(parent, { recursive: true });
      const dir = await mkdtemp(join(parent, prefix));
      dirs.push(dir);
      return dir;
    },
    defer(fn) {
      deferred.push(fn);
    },
    log,
  };

  async function cleanup() {
    for (const fn of deferred.reverse()) {
      try {
        await fn();
      } catch (error) {
        log(`cleanup failed: ${error?.message ?? error}`);
      }
    }
    // Anything the scenario started and did not stop itself.
    const leftovers = [...liveChildren()].filter((child) => !childrenBefore.has(child));
    await Promise.all(leftovers.map((child) => stopProcess(child, { graceMs: 2000 })));
    for (const dir of dirs) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }

  return { ctx, abort: (reason) => controller.abort(new Error(reason)), cleanup };
}
