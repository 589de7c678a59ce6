// Types of the benchmark framework. The bench is plain ESM (.mjs); these give editors and
// `tsc` (via JSDoc `@type {import('./types.js').X}`) the shape of scenarios, contexts and rows.

/** Whether a larger or a smaller value is the better one (throughput vs latency, bytes, seconds). */
export type Better = 'higher' | 'lower';

/** Extra measurements shown next to the value: p50Us/p99Us (µs), sockets, appends per fsync, … */
export type RowExtra = Record<string, number | string | boolean | null>;

/** What a scenario returns: one row per system it measured (or skipped). */
export interface RowInput {
  system: string;
  /** null when the row was skipped or failed. */
  value: number | null;
  unit: string;
  /** Defaults to 'higher'. */
  better?: Better;
  extra?: RowExtra;
  /** Why the row has no value, e.g. 'not installed', 'client not built yet'. */
  skipped?: string;
  /** The error that stopped this measurement. */
  error?: string;
}

/** A row as written to latest.json: the runner adds scenario, ratio and goal. */
export interface Row extends RowInput {
  scenario: string;
  better: Better;
  /** The system of the scenario's reference row, when the scenario names one. */
  reference: string | null;
  /**
   * value / reference value (same unit only). For `better: 'lower'` rows it is still the plain
   * quotient, so a latency ratio below 1 means faster than the reference.
   */
  ratio: number | null;
  goal: string | null;
  /** true/false when the goal could be checked, null when it could not (no value, missing peer). */
  met: boolean | null;
  /** Wall time of the whole scenario the row came from. */
  elapsedMs?: number;
}

/** A goal of one row: `check` returns null when it cannot be decided (e.g. the peer row is skipped). */
export interface Goal {
  system: string;
  text: string;
  check: (row: RowInput, rows: readonly RowInput[]) => boolean | null;
}

export interface Log {
  (...parts: unknown[]): void;
  /** Printed only with --verbose. */
  debug: (...parts: unknown[]) => void;
}

export interface ScenarioContext {
  readonly id: string;
  readonly quick: boolean;
  /** How long one measured system runs (its warm-up comes on top). */
  readonly durationMs: number;
  /** Warm-up before each measurement; not counted. */
  readonly warmupMs: number;
  /** Aborted when the scenario overruns its time limit or the run is interrupted. */
  readonly signal: AbortSignal;
  /** Repository root (absolute path). */
  readonly repoRoot: string;
  /** Overall progress of the scenario, 0..1. */
  progress(fraction: number, label?: string): void;
  /** Progress of part `index` of `count` (e.g. one system of several), reported as 0..1 of that part. */
  part(index: number, count: number, label: string): (fraction: number) => void;
  /** A fresh directory under the bench data dir, removed when the scenario ends. */
  tmpDir(prefix?: string): Promise<string>;
  /** Runs fn when the scenario ends (also on error, timeout and Ctrl-C), last registered first. */
  defer(fn: () => unknown): void;
  log: Log;
}

export interface Scenario {
  id: string;
  description: string;
  /** Goals of rows of this scenario, or a plain text shown for information. */
  goal?: string | readonly Goal[];
  /** The system whose row is the denominator of this scenario's ratios. */
  reference?: string;
  /** Hard limit of the whole scenario; by default max(30 s, 25 × durationMs). */
  timeoutMs?: number;
  run(ctx: ScenarioContext): Promise<RowInput[]>;
}
