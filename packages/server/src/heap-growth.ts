import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets a sluice-server's old generation grow past what the last mark-compact kept: 300 %
 * (4×, the most V8 itself grows a heap), instead of the factor V8 picks from how fast JavaScript fills
 * the heap. A node holds little JavaScript (~10 MB) and allocates it slowly, so V8 picks ~1.1× and
 * leaves 12–20 MB of room; but it counts external memory allocated since the last mark-compact (the
 * received append blocks, kept by the block cache) against that room, so under appends the node ran a
 * mark-compact every 12–20 MiB received: 7–15 per 1.5 M 100-byte appends, 18 % of its user CPU
 * (docs/benchmarks.md, "#14 append-100b, session 5"). At 4× it runs 3–4. The cost: up to 4× the live
 * JavaScript heap, and evicted blocks freed up to ~45 MB later.
 */
export const HEAP_GROWING_PERCENT = 300;

/**
 * Sets the growth for this process. Only the sluice-server program calls it: a V8 flag is
 * process-wide, so the library (startServer in an application's process) leaves the heap alone. V8
 * reads this flag each time it sizes the heap after a mark-compact, so setting it at start-up works.
 */
export function setHeapGrowth(setFlags: (flags: string) => void = setFlagsFromString): void {
  setFlags(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
