// One awaited durable write at a time, measured the same way for every system (Sluice, the peers,
// the disk's floor), back to back or paced like an application writing one event per request, and
// in turns: every system is opened first (its server stays up), then short slices of the run go to
// each system in turn (A B C A B C …). The disk's latency and the load of other processes here swing
// by several times within seconds; measured one after another, the systems of a row would each get a
// different machine, and the ratios the goals are about would say more about the moment than about
// the systems.
import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyRecorder, now, sig3 } from './measure.mjs';
import { attempt, lowerRow, row } from './rows.mjs';

/** append-sporadic's pace: one awaited write every this many milliseconds (an application writing one event per request). */
export const SPORADIC_INTERVAL_MS = 10;
/** Length of one system's turn: long enough for a few dozen sporadic writes, short against the swings. */
const SLICE_MS = { 'back-to-back': 150, sporadic: 300 };
/** Bounds on samples per system: a run cannot grow memory without bound. */
const MAX_SAMPLES = 1_000_000;
const WARMUP_OPS = { 'back-to-back': 2_000, sporadic: 20 };

/**
 * @typedef {'back-to-back' | 'sporadic'} Pace
 * @typedef {{ sample?: (i: number) => Promise<number>, run?: (durationMs: number) => Promise<{ units: number, elapsedMs: number }>, turnMs?: number, close?: () => Promise<unknown>, extra?: object }} Session
 *   sample(i): one measured operation; resolves with its latency in µs. Or, for a throughput row,
 *   run(durationMs): keeps its load going for about durationMs, resolves with the units (events)
 *   done and the time taken; its row is units/s over every turn. turnMs: its turns' length, when
 *   the load needs longer than SLICE_MS to fill its window and drain.
 * @typedef {{ system: string, open: () => Promise<Session | import('./types.js').RowInput> }} LatencySystem
 *   open() returns a session, or a (skipped) row when the system cannot run here.
 */

/** The unit of an awaited-write row: events/s back to back (unless asked for µs), p50 µs when sporadic. */
export const awaitedUnit = (pace, unit = 'events/s') => (pace === 'sporadic' ? 'µs' : unit);

/** A sample function timing one awaited op(i). */
export function timed(op) {
  return async (i) => {
    const t0 = now();
    await op(i);
    return (now() - t0) * 1000;
  };
}

/**
 * Opens every system, warms each up, then gives each ctx.durationMs of measurement in turns of
 * SLICE_MS. At pace 'sporadic' each sample is followed by a SPORADIC_INTERVAL_MS pause (every
 * process involved goes idle between writes: the latency includes waking up). Returns one row per
 * system: at 'back-to-back' with unit 'events/s', events/s with p50/p99 extras; otherwise (µs) the
 * p50 as value, lower is better, with p99 beside it. A system that fails becomes its error row and
 * leaves the rotation.
 * @param {import('./types.js').ScenarioContext} ctx
 * @param {(fraction: number) => void} onProgress
 * @param {LatencySystem[]} systems
 * @param {{ pace?: Pace, unit?: string }} options
 */
export async function measureInTurns(ctx, onProgress, systems, { pace = 'back-to-back', unit = 'events/s' } = {}) {
  const rowUnit = awaitedUnit(pace, unit);
  const better = rowUnit === 'µs' ? 'lower' : 'higher';
  const results = new Map();
  const live = [];
  try {
    for (const { system, open } of systems) {
      const [opened] = await attempt(ctx, system, rowUnit, async () => [await open()], better);
      if (typeof opened.sample !== 'function' && typeof opened.run !== 'function') {
        results.set(system, { ...opened, unit: rowUnit, better });
        continue;
      }
      const entry = { system, session: opened, latency: new LatencyRecorder(), measuredMs: 0, ops: 0 };
      try {
        await runSlice(ctx, entry, pace, ctx.warmupMs, WARMUP_OPS[pace], false);
        live.push(entry);
      } catch (error) {
        results.set(system, failedRow(ctx, system, rowUnit, better, error));
        await opened.close?.().catch(() => undefined);
      }
    }
    const slice = SLICE_MS[pace];
    while (live.length > 0 && !ctx.signal.aborted) {
      const pending = live.filter((entry) => entry.measuredMs < ctx.durationMs && entry.latency.count < MAX_SAMPLES);
      if (pending.length === 0) break;
      for (const entry of pending) {
        try {
          const turnMs = entry.session.turnMs ?? slice;
          await runSlice(ctx, entry, pace, Math.min(turnMs, ctx.durationMs - entry.measuredMs), MAX_SAMPLES - entry.latency.count, true);
        } catch (error) {
          results.set(entry.system, failedRow(ctx, entry.system, rowUnit, better, error));
          live.splice(live.indexOf(entry), 1);
          await entry.session.close?.().catch(() => undefined);
        }
      }
      const done = live.reduce((sum, entry) => sum + Math.min(1, entry.measuredMs / ctx.durationMs), 0);
      onProgress(done / Math.max(1, live.length));
    }
    for (const entry of live) results.set(entry.system, rowOf(entry, pace, rowUnit));
  } finally {
    for (const { session } of live) await session.close?.();
  }
  return systems.map(({ system }) => results.get(system));
}

/** One system's turn: samples for about durationMs (at most maxOps), recorded when `record`. */
async function runSlice(ctx, entry, pace, durationMs, maxOps, record) {
  if (entry.session.run) {
    const { units, elapsedMs } = await entry.session.run(durationMs);
    if (record) {
      entry.units = (entry.units ?? 0) + units;
      entry.measuredMs += elapsedMs;
    }
    return;
  }
  const start = now();
  let ops = 0;
  let busyMs = 0;
  while (ops < maxOps && !ctx.signal.aborted && now() - start < durationMs) {
    const t0 = now();
    const us = await entry.session.sample(entry.ops + ops);
    busyMs += now() - t0;
    ops += 1;
    if (record) entry.latency.record(us);
    if (pace === 'sporadic') await sleep(SPORADIC_INTERVAL_MS);
  }
  if (record) {
    entry.measuredMs += now() - start;
    entry.busyMs = (entry.busyMs ?? 0) + busyMs;
  }
  entry.ops += ops;
}

function rowOf(entry, pace, unit) {
  if (entry.session.run) return row(entry.system, sig3((entry.units / entry.measuredMs) * 1000), unit, entry.session.extra);
  const { count, p50Us, p99Us, p999Us, maxUs } = entry.latency.summary();
  const extra = { p50Us, p99Us, p999Us, maxUs, samples: count, ...entry.session.extra };
  if (unit === 'µs') return lowerRow(entry.system, p50Us, 'µs', extra);
  // Back to back, a system is busy for all of its turns: events/s over the time it was measured.
  return row(entry.system, sig3((count / entry.busyMs) * 1000), unit, extra);
}

function failedRow(ctx, system, unit, better, error) {
  if (ctx.signal.aborted) return { system, value: null, unit, better, error: 'aborted' };
  ctx.log(`${ctx.id}/${system} failed: ${error?.stack ?? error}`);
  return { system, value: null, unit, better, error: String(error?.message ?? error).split('\n')[0] };
}

/**
 * The Sluice side of a latency scenario, as its module exports it: `sluiceSession` (what
 * bench/compare.mjs opens for each tree, measured in turns) and `runSluice` (that side alone).
 */
export function sluiceSide(open, options = {}) {
  const sluiceSession = { options, open };
  const runSluice = async (ctx, onProgress) => {
    const [sluice] = await measureInTurns(ctx, onProgress, [{ system: 'sluice', open: () => open(ctx) }], options);
    return sluice;
  };
  return { sluiceSession, runSluice };
}
