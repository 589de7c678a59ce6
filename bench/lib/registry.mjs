// The scenarios: every bench/scenarios/<id>.mjs is one. ORDER fixes the order of the table;
// a module not listed here still runs, after the listed ones, in name order.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR } from './paths.mjs';

export const ORDER = [
  'codec-append',
  'codec-control',
  'append-100b',
  'append-4k',
  'append-awaited',
  'append-sporadic',
  'pooling',
  'flows',
  'read-100b',
  'tail-latency',
  'hol',
  'group-commit',
  'recovery',
  'group-rebalance',
];

const SCENARIO_DIR = join(BENCH_DIR, 'scenarios');

/** Ids of every scenario module, in run order. */
export async function scenarioIds() {
  const found = (await readdir(SCENARIO_DIR))
    .filter((name) => name.endsWith('.mjs') && !name.startsWith('_'))
    .map((name) => name.slice(0, -'.mjs'.length));
  const known = ORDER.filter((id) => found.includes(id));
  const extra = found.filter((id) => !ORDER.includes(id)).sort();
  return [...known, ...extra];
}

/** @returns {Promise<import('./types.js').Scenario>} */
export async function loadScenario(id) {
  const module = await import(pathToFileURL(join(SCENARIO_DIR, `${id}.mjs`)).href);
  const scenario = module.default ?? module;
  for (const key of ['id', 'description', 'run']) {
    if (!scenario[key]) throw new Error(`bench/scenarios/${id}.mjs does not export ${key}`);
  }
  if (scenario.id !== id) throw new Error(`bench/scenarios/${id}.mjs exports id '${scenario.id}'; it must match the file name`);
  return scenario;
}
