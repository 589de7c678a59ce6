// Building rows and goals. A row that could not be measured is still a row (value null, with the
// reason), never silently dropped.

/** @returns {import('./types.js').RowInput} */
export function row(system, value, unit, extra = undefined, better = 'higher') {
  return { system, value, unit, better, ...(extra ? { extra } : {}) };
}

/** A row for a latency-like value where lower is better. */
export function lowerRow(system, value, unit, extra = undefined) {
  return row(system, value, unit, extra, 'lower');
}

/** @returns {import('./types.js').RowInput} */
export function skippedRow(system, reason, unit = '', better = 'higher') {
  return { system, value: null, unit, better, skipped: reason };
}

/**
 * Runs one system's measurement; a throw becomes that system's error row, so one failing peer does
 * not cost the other rows of the scenario. `measure` returns a row or an array of rows.
 */
export async function attempt(ctx, system, unit, measure, better = 'higher') {
  try {
    const result = await measure();
    return Array.isArray(result) ? result : [result];
  } catch (error) {
    if (ctx.signal.aborted) return [{ system, value: null, unit, better, error: 'aborted' }];
    ctx.log(`${ctx.id}/${system} failed: ${error?.stack ?? error}`);
    return [{ system, value: null, unit, better, error: String(error?.message ?? error).split('\n')[0] }];
  }
}

// ---- goals: each check returns true/false, or null when it cannot be decided ----

const valueOf = (r) => (r && !r.skipped && !r.error && typeof r.value === 'number' ? r.value : null);
const find = (rows, system) => rows.find((r) => r.system === system);

/** value >= n */
export const atLeast = (n) => (r) => (valueOf(r) === null ? null : valueOf(r) >= n);
/** value <= n */
export const atMost = (n) => (r) => (valueOf(r) === null ? null : valueOf(r) <= n);
/** value < n */
export const below = (n) => (r) => (valueOf(r) === null ? null : valueOf(r) < n);
/** extra[key] <= n */
export const extraAtMost = (key, n) => (r) =>
  valueOf(r) === null || typeof r.extra?.[key] !== 'number' ? null : r.extra[key] <= n;
/** value >= k × the value of `system`'s row */
export const timesOf = (system, k) => (r, rows) => {
  const mine = valueOf(r);
  const theirs = valueOf(find(rows, system));
  return mine === null || theirs === null ? null : mine >= k * theirs;
};
/** extra[key] of `system`'s row >= k × extra[key] of this row (e.g. k× fewer sockets) */
export const extraTimesFewer = (system, key, k) => (r, rows) => {
  const mine = r?.extra?.[key];
  const theirs = find(rows, system)?.extra?.[key];
  return typeof mine !== 'number' || typeof theirs !== 'number' ? null : theirs >= k * mine;
};
/** value <= k × the value of `system`'s row (for latencies: at most as slow as it) */
export const atMostTimesOf = (system, k = 1) => (r, rows) => {
  const mine = valueOf(r);
  const theirs = valueOf(find(rows, system));
  return mine === null || theirs === null ? null : mine <= k * theirs;
};
/** extra[key] <= k × extra[key] of `system`'s row (e.g. a p50 at most twice a baseline's) */
export const extraAtMostTimesOf = (system, key, k) => (r, rows) => {
  const mine = r?.extra?.[key];
  const theirs = find(rows, system)?.extra?.[key];
  return typeof mine !== 'number' || typeof theirs !== 'number' ? null : mine <= k * theirs;
};
/** extra[key] < extra[key] of `system`'s row (e.g. a lower p50 than a peer's) */
export const extraBelowOf = (system, key) => (r, rows) => {
  const mine = r?.extra?.[key];
  const theirs = find(rows, system)?.extra?.[key];
  return typeof mine !== 'number' || typeof theirs !== 'number' ? null : mine < theirs;
};
/**
 * The latency goal of a durable write against the disk's own (the `floor` row of the same run):
 * p50 at most the floor's p50 + p50PlusUs, p99 at most p99Times × the floor's p99.
 */
export const nearFloor = (floor, { p50PlusUs, p99Times }) => (r, rows) => {
  const base = find(rows, floor)?.extra;
  const { p50Us, p99Us } = r?.extra ?? {};
  if (typeof base?.p50Us !== 'number' || typeof base?.p99Us !== 'number' || typeof p50Us !== 'number' || typeof p99Us !== 'number') return null;
  return p50Us <= base.p50Us + p50PlusUs && p99Us <= p99Times * base.p99Us;
};

/**
 * Puts the distance to the floor row into each of `systems`' extras: p50 above the floor's p50
 * (µs) and p99 as a multiple of the floor's p99, the two numbers the latency goals are about.
 */
export function withFloorDistance(rows, floor, systems) {
  const base = find(rows, floor)?.extra;
  if (typeof base?.p50Us !== 'number' || typeof base?.p99Us !== 'number') return rows;
  return rows.map((r) => {
    const { p50Us, p99Us } = r.extra ?? {};
    if (!systems.includes(r.system) || typeof p50Us !== 'number' || typeof p99Us !== 'number') return r;
    const p50OverFloorUs = Math.round((p50Us - base.p50Us) * 10) / 10;
    const p99xFloor = Math.round((p99Us / base.p99Us) * 100) / 100;
    return { ...r, extra: { ...r.extra, p50OverFloorUs, p99xFloor } };
  });
}
/** All checks hold; null if any is undecided and none failed. */
export const allOf =
  (...checks) =>
  (r, rows) => {
    const results = checks.map((check) => check(r, rows));
    if (results.includes(false)) return false;
    return results.includes(null) ? null : true;
  };

/**
 * Measures systems one after another, each as one part of the scenario's progress; a failing
 * system becomes its own error row. Each entry: { system, unit, better?, measure(onProgress) }.
 * @returns {Promise<import('./types.js').RowInput[]>}
 */
export async function runSystems(ctx, systems) {
  const rows = [];
  for (const [i, { system, unit, better = 'higher', measure }] of systems.entries()) {
    if (ctx.signal.aborted) {
      rows.push({ system, value: null, unit, better, error: 'aborted' });
      continue;
    }
    const onProgress = ctx.part(i, systems.length, system);
    rows.push(...(await attempt(ctx, system, unit, () => measure(onProgress), better)));
  }
  return rows;
}

const better = (a, b) => {
  if (typeof b?.value !== 'number') return a;
  if (typeof a?.value !== 'number') return b;
  return (a.better === 'lower' ? b.value < a.value : b.value > a.value) ? b : a;
};

/**
 * For CPU-bound, in-process measurements: measures the systems in `rounds` alternating rounds
 * (A B C A B C …) of durationMs / rounds each and keeps each system's best round, so a burst of
 * load from another process on the machine does not decide a ratio. `measure(onProgress,
 * durationMs)` returns one row; a skipped or failed system is not measured again.
 */
export async function runInterleaved(ctx, systems, rounds = 3) {
  const best = new Map();
  const durationMs = ctx.durationMs / rounds;
  const steps = rounds * systems.length;
  for (let round = 0; round < rounds; round++) {
    for (const [i, { system, unit, better: direction = 'higher', measure }] of systems.entries()) {
      const previous = best.get(system);
      if (previous && (previous.skipped || previous.error)) continue;
      if (ctx.signal.aborted) {
        best.set(system, { system, value: null, unit, better: direction, error: 'aborted' });
        continue;
      }
      const onProgress = ctx.part(round * systems.length + i, steps, system);
      const [result] = await attempt(ctx, system, unit, () => measure(onProgress, durationMs), direction);
      best.set(system, result.skipped || result.error ? result : better(previous, result));
    }
  }
  return systems.map(({ system }) => best.get(system));
}
