import { quoteInput } from './rights.js';

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i;

/**
 * '24h', '30m', '90s', '7d', '1500ms', '1.5h' or a plain number of milliseconds -> milliseconds
 * (a whole number, rounded). Throws an Error saying what is accepted otherwise.
 */
export function parseDuration(text: string): number {
  if (typeof text !== 'string') throw new Error(`a duration must be a string such as "24h", "30m" or "1500ms"`);
  const match = DURATION.exec(text.trim());
  if (match === null) {
    throw new Error(
      `invalid duration ${quoteInput(text)}; use a number with a unit ms, s, m, h or d (e.g. "24h", "30m", "90s", "7d", "1500ms") or plain milliseconds`,
    );
  }
  const unit = (match[2] ?? 'ms').toLowerCase();
  const ms = Math.round(Number(match[1]) * MS_PER_UNIT[unit]!);
  if (!Number.isSafeInteger(ms)) throw new Error(`duration ${quoteInput(text)} is too long`);
  return ms;
}
