// `npm run mutate`: StrykerJS puts small bugs (mutants) into the code that carries Sluice's
// guarantees and runs the unit tests against each; a mutant no test notices is a hole in the suite.
// Too slow for CI (tens of minutes on two cores). Scores and every survivor's fate: docs/testing.md.
//
//   npm run mutate                                  every module below
//   SLUICE_MUTATE=dedup,writer-resend npm run mutate   some of them
//   npm run mutate:score                            per-module scores of the last run (markdown)
//
// A module is a list of targets: a whole file, or the body of one function found by its first line
// (so the range follows the code as it moves; a target that is gone fails loudly here). Add a module
// here when a guarantee gets code of its own (replication, group assignment, ...).
import { readFileSync } from 'node:fs';

/** @type {Record<string, Array<string | { file: string, from: string }>>} */
export const MODULES = {
  dedup: [
    { file: 'packages/server/src/store/container.ts', from: '  async append(' },
    { file: 'packages/server/src/store/segment-state.ts', from: '  acceptedLastEventNumber(' },
    { file: 'packages/server/src/store/segment-state.ts', from: '  acceptAppend(' },
    { file: 'packages/server/src/store/segment-state.ts', from: '  commitAppend(' },
  ],
  'pending-requests': ['packages/client/src/connection/pending-requests.ts'],
  'group-commit': [
    { file: 'packages/server/src/store/log-writer.ts', from: '  append(record' },
    { file: 'packages/server/src/store/log-writer.ts', from: '  whenDurable(' },
    { file: 'packages/server/src/store/log-writer.ts', from: '  private async flushLoop(' },
    { file: 'packages/server/src/store/log-writer.ts', from: '  private async writeGroup(' },
    { file: 'packages/server/src/store/log-writer.ts', from: 'function openFlags(' },
  ],
  'writer-resend': [
    { file: 'packages/client/src/writer/segment-writer.ts', from: '  #acknowledged(' },
    { file: 'packages/client/src/writer/segment-writer.ts', from: '  #sendFailed(' },
    { file: 'packages/client/src/writer/segment-writer.ts', from: '  connectionLost(' },
    { file: 'packages/client/src/writer/segment-writer.ts', from: '  #recover(' },
    { file: 'packages/client/src/writer/segment-writer.ts', from: '  #setUp(' },
  ],
  'reader-routing': [
    'packages/client/src/route/segment-route.ts',
    { file: 'packages/client/src/connection/cluster-router.ts', from: '  async ownerOf(' },
    { file: 'packages/client/src/connection/cluster-router.ts', from: '  noteWrongHost(' },
  ],
  'group-assignment': ['packages/client/src/group/assignment.ts'],
  // Majority acknowledgement, fencing of stale epochs, where a divergent tail is cut, who leads next.
  replication: [
    'packages/server/src/replication/quorum.ts',
    'packages/server/src/replication/divergent-tail.ts',
    'packages/server/src/replication/choose-new-primary.ts',
    { file: 'packages/server/src/replication/replicated-log.ts', from: '  private advance(' },
    { file: 'packages/server/src/replication/replicated-log.ts', from: '  async fence(' },
    { file: 'packages/server/src/replication/replicated-log.ts', from: '  private async accept(' },
    { file: 'packages/server/src/replication/replicated-log.ts', from: '  private deposed(' },
    { file: 'packages/server/src/replication/replicated-log.ts', from: 'export function divergencePoint(' },
  ],
};

/** "file:first-last" for the function starting at `from` (to its closing brace at the same indent). */
function functionRange({ file, from }) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((line) => line.startsWith(from));
  if (start < 0) throw new Error(`stryker.config.mjs: no line starting with ${JSON.stringify(from)} in ${file}; update MODULES`);
  const indent = /^\s*/.exec(from)[0];
  const end = lines.findIndex((line, index) => index > start && line === `${indent}}`);
  return `${file}:${start + 1}-${end + 1}`;
}

export function targetsOf(name) {
  const targets = MODULES[name];
  if (!targets) throw new Error(`unknown mutation module ${name}; known: ${Object.keys(MODULES).join(', ')}`);
  return targets.map((target) => (typeof target === 'string' ? target : functionRange(target)));
}

const chosen = process.env.SLUICE_MUTATE ? process.env.SLUICE_MUTATE.split(',') : Object.keys(MODULES);

export default {
  testRunner: 'vitest',
  // Unit and in-process tests only: server processes run the built CLI, which no mutant reaches.
  // related: only the test files that import the mutated modules run, in the dry run and after.
  vitest: { configFile: 'vitest.mutate.config.ts', related: true },
  dryRunTimeoutMinutes: 20,
  coverageAnalysis: 'perTest',
  mutate: chosen.flatMap(targetsOf),
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false },
  concurrency: 2,
  timeoutMS: 10_000,
  cleanTempDir: 'always',
};
