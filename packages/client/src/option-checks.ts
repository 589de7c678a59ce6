import { streamNameProblem } from '@sluice/protocol';
import { InvalidOptionError } from './errors.js';

/**
 * The checks every options object of the SDK goes through, written once: a value shown with its
 * type (so `'4'` does not read as `4`), integers in a range, and option names that do not exist
 * (a typo in plain JavaScript would otherwise be ignored silently).
 */

/** How a wrong value reads in a message: strings quoted and typed, other kinds named. */
export function shownValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

export function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `must be an integer from ${min} to ${max}, got ${shownValue(value)}`);
  }
  return value;
}

/** Refuses option names that are not among known, naming the closest known one. */
export function refuseUnknownOptions(given: object, known: readonly string[], what: string): void {
  for (const name of Object.keys(given)) {
    if (known.includes(name)) continue;
    const lower = name.toLowerCase();
    const close = known.find((candidate) => candidate.toLowerCase() === lower || candidate.toLowerCase().startsWith(lower.slice(0, 5)));
    const hint = close === undefined ? '' : `; did you mean ${close}?`;
    throw new InvalidOptionError(name, `is not a ${what} option (known: ${known.join(', ')})${hint}`);
  }
}

/** InvalidOptionError('stream', …) saying what is wrong with a stream name given to the SDK. */
export function assertStreamName(stream: unknown): asserts stream is string {
  const problem = typeof stream === 'string' ? streamNameProblem(stream) : 'stream name must be a string';
  if (problem) throw new InvalidOptionError('stream', problem);
}
