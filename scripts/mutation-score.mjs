// Per-module scores of the last `npm run mutate` (reports/mutation/mutation.json), as the markdown
// table docs/testing.md keeps, then every surviving mutant, to kill with a test or explain there.
import { readFileSync } from 'node:fs';

import { MODULES, targetsOf } from '../stryker.config.mjs';

const report = JSON.parse(readFileSync(process.argv[2] ?? 'reports/mutation/mutation.json', 'utf8'));
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** Which module a mutant belongs to: the first whose target covers its file and line. */
const targets = Object.keys(MODULES).flatMap((module) =>
  targetsOf(module).map((target) => {
    const [file, range] = target.split(':');
    const [first, last] = range ? range.split('-').map(Number) : [1, Infinity];
    return { module, file, first, last };
  }),
);
const moduleOf = (file, line) => targets.find((t) => file.endsWith(t.file) && line >= t.first && line <= t.last)?.module;

const scores = new Map();
const survivors = [];
for (const [file, { source, mutants }] of Object.entries(report.files)) {
  const lines = source.split('\n');
  for (const mutant of mutants) {
    const line = mutant.location.start.line;
    const module = moduleOf(file, line) ?? '(other)';
    const score = scores.get(module) ?? { detected: 0, undetected: 0 };
    if (DETECTED.has(mutant.status)) score.detected += 1;
    else if (UNDETECTED.has(mutant.status)) {
      score.undetected += 1;
      survivors.push(`- ${module}: \`${file}:${line}\` ${mutant.mutatorName} (${mutant.status}): \`${lines[line - 1].trim()}\` → \`${mutant.replacement}\``);
    } else continue; // compile and runtime errors are no test's merit
    scores.set(module, score);
  }
}

console.log('| module | mutants | killed | survived | score |');
console.log('|---|---:|---:|---:|---:|');
for (const [module, { detected, undetected }] of scores) {
  const total = detected + undetected;
  console.log(`| ${module} | ${total} | ${detected} | ${undetected} | ${((100 * detected) / total).toFixed(1)}% |`);
}
console.log(`\nSurvivors (${survivors.length}):\n${survivors.join('\n')}`);
