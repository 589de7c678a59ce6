// Old commit vs new, side by side in one run: the Sluice row of each scenario, measured in turns
// (base, this tree, base, this tree, …) so that load on the machine hits both alike.
//
//   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
//   npm run build && node bench/compare.mjs --base /tmp/base [--rounds 3] [--duration 5] append-100b read-100b
//
// Each side runs its own tree's scenario with its own client and sluice-server (each scenario
// module loads the packages of the tree it lives in). Prints each round, then the median and the
// best of each side and their ratios (the median is the claim; the best shows the spread).
// Latency scenarios whose modules (on both sides) export `sluiceSession` are measured in turns
// instead: both sides' servers stay up and short slices alternate between them (measureInTurns), so
// the disk's swings, which move an O_DSYNC write by several times within seconds, hit both alike;
// each round prints p50/p99 of both and their ratios.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { measureInTurns } from './lib/awaited.mjs';
import { createContext } from './lib/context.mjs';
import { median } from './lib/process-stats.mjs';
import { Progress } from './lib/progress.mjs';
import { REPO_ROOT } from './lib/paths.mjs';

const { values, positionals } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    'data-dir': { type: 'string', default: process.env.SLUICE_BENCH_DATA_DIR ?? resolve(REPO_ROOT, 'bench/.data') },
  },
  allowPositionals: true,
});
if (!values.base || positionals.length === 0) {
  console.error('usage: node bench/compare.mjs --base <built checkout> [--rounds N] [--duration s] <scenario> …');
  process.exit(2);
}

const sides = [
  { name: 'base', root: resolve(values.base) },
  { name: 'this', root: REPO_ROOT },
];
const rounds = Number(values.rounds);
const options = { quick: false, durationMs: Number(values.duration) * 1000, warmupMs: 1000, dataDir: values['data-dir'], verbose: false };
const progress = new Progress({ total: positionals.length });

for (const id of positionals) {
  const modules = await Promise.all(sides.map((side) => import(pathToFileURL(resolve(side.root, 'bench/scenarios', `${id}.mjs`)).href)));
  if (modules.every((module) => module.sluiceSession)) {
    await compareInTurns(id, modules);
    continue;
  }
  // Values by system (a scenario may give several rows, e.g. hol's sluice and sluice-own-socket), then side.
  const values = new Map();
  for (let round = 0; round < rounds; round++) {
    for (const [i, side] of sides.entries()) {
      const { ctx, cleanup } = createContext({ id }, options, progress);
      try {
        for (const row of [await modules[i].runSluice(ctx, () => {})].flat()) {
          const system = row.system ?? 'sluice';
          console.log(`${id}\tround ${round + 1}\t${side.name}\t${system}\t${row.value} ${row.unit}\t${JSON.stringify(row.extra ?? {})}`);
          if (!values.has(system)) values.set(system, new Map(sides.map(({ name }) => [name, []])));
          if (row.value !== null) values.get(system).get(side.name).push(row.value);
        }
      } finally {
        await cleanup();
      }
    }
  }
  for (const [system, bySide] of values) {
    for (const [label, pick] of [['median', median], ['best', (list) => Math.max(...list)]]) {
      const [base, mine] = sides.map((side) => pick(bySide.get(side.name)));
      console.log(`${id}\t${system}\t${label}\tbase ${base}\tthis ${mine}\tthis/base ${(mine / base).toFixed(3)}`);
    }
  }
}
process.exit(0);

/** Both sides' Sluice in one measureInTurns per round: p50 and p99 side by side. */
async function compareInTurns(id, modules) {
  for (let round = 0; round < rounds; round++) {
    const { ctx, cleanup } = createContext({ id }, options, progress);
    try {
      const systems = sides.map((side, i) => ({ system: side.name, open: () => modules[i].sluiceSession.open(ctx) }));
      const [base, mine] = await measureInTurns(ctx, () => {}, systems, modules[1].sluiceSession.options);
      const ratio = (key) => (mine.extra?.[key] / base.extra?.[key]).toFixed(3);
      console.log(
        `${id}\tround ${round + 1} (in turns)\tbase p50 ${base.extra?.p50Us} p99 ${base.extra?.p99Us} µs\t` +
          `this p50 ${mine.extra?.p50Us} p99 ${mine.extra?.p99Us} µs\tthis/base p50 ${ratio('p50Us')} p99 ${ratio('p99Us')}`,
      );
    } finally {
      await cleanup();
    }
  }
}

