// Timing loops and latency percentiles. Every loop is bounded twice: by time and by count, and
// stops early when its AbortSignal fires. Nothing here touches the network.
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** Milliseconds, sub-microsecond resolution, monotonic. */
export const now = () => performance.now();

/**
 * Latencies in microseconds, kept in a preallocated array: at most `capacity` samples (the rest are
 * counted but not kept), so a long run cannot grow memory without bound.
 */
export class LatencyRecorder {
  constructor(capacity = 1_000_000) {
    this.samples = new Float64Array(capacity);
    this.kept = 0;
    this.count = 0;
  }

  /** Records one latency given in microseconds. */
  record(us) {
    if (this.kept < this.samples.length) this.samples[this.kept++] = us;
    this.count += 1;
  }

  /** Records the time since `startMs` (a value of now()). */
  since(startMs) {
    this.record((now() - startMs) * 1000);
  }

  /** { count, p50Us, p99Us, p999Us, maxUs, meanUs } rounded to 0.1 µs; nulls when empty. */
  summary() {
    const sorted = this.samples.slice(0, this.kept).sort();
    const at = (q) => (sorted.length === 0 ? null : round1(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]));
    let sum = 0;
    for (const sample of sorted) sum += sample;
    return {
      count: this.count,
      p50Us: at(0.5),
      p99Us: at(0.99),
      p999Us: at(0.999),
      maxUs: sorted.length === 0 ? null : round1(sorted[sorted.length - 1]),
      meanUs: sorted.length === 0 ? null : round1(sum / sorted.length),
    };
  }
}

const round1 = (n) => Math.round(n * 10) / 10;

function reportProgress(onProgress, startMs, durationMs, done, max) {
  if (!onProgress) return;
  const byTime = (now() - startMs) / durationMs;
  const byCount = Number.isFinite(max) ? done / max : 0;
  onProgress(Math.min(1, Math.max(byTime, byCount)));
}

/**
 * A CPU-bound loop: calls `fn()` (which returns how many units it did, default 1) until durationMs
 * or maxUnits. Runs in slices of ~20 ms and yields between them so progress, timers and Ctrl-C still
 * work. Returns { units, calls, elapsedMs, perSecond }.
 */
export async function cpuLoop({ durationMs, maxUnits = Infinity, signal, onProgress }, fn) {
  const start = now();
  const deadline = start + durationMs;
  let units = 0;
  let calls = 0;
  while (units < maxUnits && !signal?.aborted) {
    const sliceEnd = Math.min(deadline, now() + 20);
    let t = now();
    while (t < sliceEnd && units < maxUnits) {
      for (let i = 0; i < 16 && units < maxUnits; i++) {
        units += fn() ?? 1;
        calls += 1;
      }
      t = now();
    }
    reportProgress(onProgress, start, durationMs, units, maxUnits);
    if (t >= deadline) break;
    await yieldToEventLoop();
  }
  const elapsedMs = now() - start;
  return { units, calls, elapsedMs, perSecond: (units / elapsedMs) * 1000 };
}

/**
 * One operation at a time (each awaited before the next): `fn()` resolves with the units it did
 * (default 1); each call's latency goes to `latency` when given. Returns { units, ops, elapsedMs,
 * perSecond }.
 */
export async function sequentialLoop({ durationMs, maxOps = Infinity, signal, onProgress, latency }, fn) {
  const start = now();
  const deadline = start + durationMs;
  let units = 0;
  let ops = 0;
  let lastReport = start;
  while (ops < maxOps && !signal?.aborted) {
    const t0 = now();
    if (t0 >= deadline) break;
    units += (await fn(ops)) ?? 1;
    ops += 1;
    if (latency) latency.since(t0);
    if (t0 - lastReport > 50) {
      lastReport = t0;
      reportProgress(onProgress, start, durationMs, ops, maxOps);
    }
  }
  const elapsedMs = now() - start;
  reportProgress(onProgress, start, durationMs, ops, maxOps);
  return { units, ops, elapsedMs, perSecond: (units / elapsedMs) * 1000 };
}

/**
 * Keeps `inFlight` operations running at once until durationMs or maxOps operations were started,
 * then waits for the ones in flight. `fn(i)` resolves with the units it did (default 1). The elapsed
 * time runs until the last operation settled. The first error stops the loop and is thrown.
 */
export function windowedLoop({ durationMs, maxOps = Infinity, inFlight, signal, onProgress }, fn) {
  return new Promise((resolve, reject) => {
    const start = now();
    const deadline = start + durationMs;
    let started = 0;
    let active = 0;
    let units = 0;
    let stopped = false;
    let failure = null;
    let lastReport = start;

    const finish = () => {
      const elapsedMs = now() - start;
      reportProgress(onProgress, start, durationMs, started, maxOps);
      if (failure) reject(failure);
      else resolve({ units, ops: started, elapsedMs, perSecond: (units / elapsedMs) * 1000 });
    };
    const settled = (done) => {
      units += done ?? 1;
      active -= 1;
      launch();
    };
    const failed = (error) => {
      failure ??= error;
      stopped = true;
      active -= 1;
      if (active === 0) finish();
    };
    function launch() {
      if (!stopped) {
        const t = now();
        if (t >= deadline || started >= maxOps || signal?.aborted) stopped = true;
        if (t - lastReport > 50) {
          lastReport = t;
          reportProgress(onProgress, start, durationMs, started, maxOps);
        }
      }
      while (!stopped && active < inFlight && started < maxOps) {
        const i = started++;
        active += 1;
        let pending;
        try {
          pending = Promise.resolve(fn(i));
        } catch (error) {
          pending = Promise.reject(error);
        }
        pending.then(settled, failed);
      }
      if (stopped && active === 0) finish();
    }
    launch();
  });
}

/** Throughput in events/s, or MB/s (10^6 bytes) when `bytesPerUnit` is given. */
export function rate(result, bytesPerUnit) {
  return bytesPerUnit ? (result.perSecond * bytesPerUnit) / 1e6 : result.perSecond;
}

/** Rounds to 3 significant digits: benchmark noise is larger than that anyway. */
export function sig3(n) {
  if (n === null || n === undefined || !Number.isFinite(n) || n === 0) return n ?? null;
  const digits = 3 - Math.ceil(Math.log10(Math.abs(n)));
  const factor = 10 ** digits;
  return Math.round(n * factor) / factor;
}

/** Distinct random payloads of `size` bytes, cycled by benchmarks so no value is all zeros. */
export function payloads(size, count = 1024) {
  const pool = [];
  for (let i = 0; i < count; i++) {
    const payload = Buffer.allocUnsafe(size);
    for (let j = 0; j < size; j++) payload[j] = (i * 31 + j * 7) & 0xff;
    pool.push(payload);
  }
  return pool;
}

let gcFunction = null;
/**
 * A full garbage collection, also without `node --expose-gc` (for heap-per-flow measurements):
 * exposes V8's gc at run time the first time it is needed.
 */
export function forceGc() {
  if (!gcFunction) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc');
  }
  gcFunction();
  gcFunction();
}

/** Heap in use after a full GC, in bytes. */
export function heapUsedAfterGc() {
  forceGc();
  return process.memoryUsage().heapUsed;
}

/**
 * The append-awaited measurement every system shares: a warm-up, then one awaited `op(i)` at a time
 * for the scenario's duration. Returns { perSecond, p50Us, p99Us, p999Us, maxUs }.
 */
export async function awaitedLoop(ctx, onProgress, op) {
  await sequentialLoop({ durationMs: ctx.warmupMs, maxOps: 100_000, signal: ctx.signal }, op);
  const latency = new LatencyRecorder();
  const result = await sequentialLoop({ durationMs: ctx.durationMs, maxOps: 1_000_000, signal: ctx.signal, onProgress, latency }, op);
  const { p50Us, p99Us, p999Us, maxUs } = latency.summary();
  return { perSecond: result.perSecond, p50Us, p99Us, p999Us, maxUs };
}

