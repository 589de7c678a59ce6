#!/usr/bin/env node
// `npm run bench -- [--quick] [scenario…]`: runs the scenarios of bench/scenarios in order, each
// bounded in time, prints the table, writes bench/results/latest.json and docs/benchmarks.{md,svg}.
import { mkdir, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderChart, subtitleOf } from './chart.mjs';
import { createContext } from './lib/context.mjs';
import { human, textTable } from './lib/format.mjs';
import { describeMachine } from './lib/machine.mjs';
import { now } from './lib/measure.mjs';
import { DEFAULT_DATA_DIR, REPO_ROOT } from './lib/paths.mjs';
import { killAllNow, refuseNewChildren, stopAll } from './lib/processes.mjs';
import { Progress } from './lib/progress.mjs';
import { loadScenario, scenarioIds } from './lib/registry.mjs';
import { finishRows, writeDocs, writeResults } from './lib/report.mjs';

const USAGE = `usage: npm run bench -- [options] [scenario …]

  --quick             every scenario briefly (the whole run stays under 3 minutes)
  --duration <s>      seconds per measured system (default 10, quick 1.5)
  --data-dir <dir>    where servers and peers keep their files (default bench/.data,
                      or SLUICE_BENCH_DATA_DIR); must be a real disk, not tmpfs
  --no-docs           do not rewrite docs/benchmarks.{md,svg,json}
  --docs              rewrite them even when only some scenarios ran (never with --quick:
                      rough numbers are not published)
  --strict            exit 1 when a row ended in an error (a missed goal never fails the run)
  --verbose           more log lines on stderr
  --list              list the scenarios and exit
`;

const FULL = { durationMs: 10_000, warmupMs: 1_000 };
const QUICK = { durationMs: 1_500, warmupMs: 500 };
const QUICK_RUN_LIMIT_MS = 170_000;

function parseCommandLine() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      'data-dir': { type: 'string' },
      docs: { type: 'boolean' },
      'no-docs': { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.quick && values.docs) throw new Error('--quick numbers are rough and never rewrite docs/benchmarks.*: drop --docs or --quick');
  const base = values.quick ? QUICK : FULL;
  let durationMs = base.durationMs;
  if (values.duration !== undefined) {
    const seconds = Number(values.duration);
    if (!(seconds > 0 && seconds <= 600)) throw new Error(`--duration must be a number of seconds in (0, 600], got '${values.duration}'`);
    durationMs = seconds * 1000;
  }
  return {
    quick: values.quick,
    durationMs,
    warmupMs: Math.min(base.warmupMs, durationMs / 2),
    dataDir: values['data-dir'] ? resolve(values['data-dir']) : DEFAULT_DATA_DIR,
    docs: values['no-docs'] ? false : values.docs,
    strict: values.strict,
    verbose: values.verbose,
    list: values.list,
    help: values.help,
    only: positionals,
  };
}

function timeoutOf(scenario, options) {
  return scenario.timeoutMs ?? Math.max(30_000, 25 * options.durationMs);
}

function summarize(rows) {
  return rows
    .map((r) => `${r.system} ${r.skipped ? 'skipped' : r.error ? 'error' : `${human(r.value)} ${r.unit}`}`)
    .join(', ');
}

/** Aborts the scenario that is running (Ctrl-C). @type {(reason: string) => void} */
let abortCurrent = () => {};

async function runScenario(scenario, options, progress) {
  const { ctx, abort, cleanup } = createContext(scenario, options, progress);
  abortCurrent = abort;
  const limitMs = timeoutOf(scenario, options);
  let timer;
  const overrun = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), limitMs);
  });
  const started = now();
  let inputs;
  try {
    const outcome = await Promise.race([scenario.run(ctx), overrun]);
    if (outcome === 'timeout') {
      abort(`time limit of ${limitMs / 1000} s`);
      inputs = [{ system: '(scenario)', value: null, unit: '', error: `timed out after ${limitMs / 1000} s` }];
    } else {
      inputs = outcome;
    }
  } catch (error) {
    abort('failed');
    ctx.log(`failed: ${error?.stack ?? error}`);
    inputs = [{ system: '(scenario)', value: null, unit: '', error: String(error?.message ?? error).split('\n')[0] }];
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
  if (!Array.isArray(inputs)) {
    inputs = [{ system: '(scenario)', value: null, unit: '', error: 'run() did not return an array of rows' }];
  }
  const rows = finishRows(scenario, inputs);
  for (const r of rows) r.elapsedMs = Math.round(now() - started);
  return rows;
}

async function main() {
  let options;
  try {
    options = parseCommandLine();
  } catch (error) {
    process.stderr.write(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const allIds = await scenarioIds();
  if (options.list) {
    for (const id of allIds) {
      const s = await loadScenario(id);
      process.stdout.write(`${id.padEnd(16)} ${s.description}\n`);
    }
    return 0;
  }
  const unknown = options.only.filter((id) => !allIds.includes(id));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}\nknown: ${allIds.join(', ')}\n`);
    return 2;
  }
  const ids = options.only.length > 0 ? allIds.filter((id) => options.only.includes(id)) : allIds;
  const scenarios = [];
  for (const id of ids) scenarios.push(await loadScenario(id));

  const runDir = join(options.dataDir, `run-${Date.now()}-${process.pid}`);
  await mkdir(runDir, { recursive: true });
  const runOptions = { ...options, dataDir: runDir };
  const progress = new Progress({ total: scenarios.length });
  const startedAt = new Date().toISOString();
  const runStart = now();

  let interrupted = false;
  const onSignal = async (signal) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    refuseNewChildren();
    abortCurrent(`interrupted by ${signal}`);
    progress.finish();
    process.stderr.write(`\n${signal}: stopping servers and peers…\n`);
    await stopAll({ graceMs: 1000 });
    await rm(runDir, { recursive: true, force: true }).catch(() => {});
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllNow);

  process.stderr.write(
    `sluice bench: ${scenarios.length} scenario(s), ${options.durationMs / 1000} s per system${options.quick ? ' (quick)' : ''}, data in ${relative(REPO_ROOT, runDir) || runDir}\n`,
  );
  const rows = [];
  try {
    for (const [index, scenario] of scenarios.entries()) {
      if (interrupted) break;
      progress.startScenario(index, scenario.id);
      const scenarioRows = await runScenario(scenario, runOptions, progress);
      rows.push(...scenarioRows);
      progress.endScenario(summarize(scenarioRows));
    }
  } finally {
    progress.finish();
    await stopAll();
    await rm(runDir, { recursive: true, force: true }).catch(() => {});
  }
  const totalMs = now() - runStart;

  const machine = describeMachine(options.dataDir);
  const result = {
    startedAt,
    finishedAt: new Date().toISOString(),
    totalSeconds: Math.round(totalMs / 100) / 10,
    quick: options.quick,
    durationMs: options.durationMs,
    machine,
    scenarios: scenarios.map((s) => ({
      id: s.id,
      description: s.description,
      reference: s.reference ?? null,
      goal: typeof s.goal === 'string' ? s.goal : (s.goal ?? []).map((g) => ({ system: g.system, text: g.text })),
    })),
    rows,
  };

  process.stdout.write(`\n${textTable(rows)}\n\n`);
  const resultsFile = await writeResults(result);
  process.stdout.write(`results: ${relative(REPO_ROOT, resultsFile)}\n`);
  const complete = scenarios.length === allIds.length && !options.quick;
  if (options.docs ?? complete) {
    const svg = renderChart(rows, { subtitle: subtitleOf(result) });
    const docs = await writeDocs(result, scenarios, svg);
    process.stdout.write(`docs: ${[docs.md, docs.svg, docs.json].map((file) => relative(REPO_ROOT, file)).join(', ')}\n`);
  } else if (options.docs === undefined) {
    process.stdout.write(
      options.quick ? 'docs: not rewritten (a quick run)\n' : 'docs: not rewritten (only some scenarios ran; pass --docs to force)\n',
    );
  }
  const missed = rows.filter((r) => r.met === false);
  const failed = rows.filter((r) => r.error);
  process.stdout.write(
    `${rows.length} rows in ${(totalMs / 1000).toFixed(1)} s; goals missed: ${missed.length}; errors: ${failed.length}; skipped: ${rows.filter((r) => r.skipped).length}\n`,
  );
  if (options.quick && scenarios.length === allIds.length && totalMs > QUICK_RUN_LIMIT_MS) {
    process.stderr.write(`warning: the quick run took ${(totalMs / 1000).toFixed(0)} s; it should stay under 3 minutes\n`);
  }
  return options.strict && failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench failed: ${error?.stack ?? error}\n`);
    killAllNow();
    process.exit(1);
  },
);
