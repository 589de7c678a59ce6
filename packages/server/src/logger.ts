import { pino, type DestinationStream, type Logger } from 'pino';

import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** One JSON log line -> `12:00:00.123 INFO  listening host=127.0.0.1 port=9090`. */
export function prettyLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[record.level as number] ?? String(record.level)).padEnd(5);
  const fields = Object.entries(record)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return `${time} ${level} ${String(record.msg ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}\n`;
}

/**
 * pino to stdout, JSON lines by default (tools and the test helper read the "listening" line).
 * Pretty output is a small synchronous formatter, not pino-pretty: it needs no worker thread and
 * no extra dependency, and it is only for people reading a terminal.
 */
export function createLogger(options: { level: LogLevel; pretty?: boolean; destination?: DestinationStream }): Logger {
  const base = { level: options.level, base: { pid: process.pid } };
  if (options.destination) return pino(base, options.destination);
  if (options.pretty) {
    return pino(base, { write: (line: string) => process.stdout.write(prettyLine(line)) });
  }
  return pino(base, pino.destination({ dest: 1, sync: true }));
}
