import { streamNameProblem } from '@sluice/protocol';
import { InvalidOptionError } from './errors.js';

/** The option's value when it is a safe integer from min to max; InvalidOptionError naming it otherwise. */
export function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** InvalidOptionError('stream', …) saying what is wrong with a stream name given to the SDK. */
export function assertStreamName(stream: unknown): asserts stream is string {
  const problem = typeof stream === 'string' ? streamNameProblem(stream) : 'stream name must be a string';
  if (problem) throw new InvalidOptionError('stream', problem);
}
