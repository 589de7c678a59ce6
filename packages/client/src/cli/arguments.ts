import { UsageError } from './usage-error.js';

/** A flag's value as a whole number from min to max, or a UsageError naming the flag. */
export function integerFlag(flags: Readonly<Record<string, unknown>>, name: string, min: number, max: number): number {
  const text = flags[name];
  if (typeof text !== 'string') throw new UsageError(`--${name} is required`);
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

export function choiceFlag<T extends string>(
  flags: Readonly<Record<string, unknown>>,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = flags[name];
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got "${String(value)}"`);
}
