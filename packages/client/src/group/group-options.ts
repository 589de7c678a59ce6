import { streamNameProblem } from '@sluice/protocol';
import { randomUUID } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import { integerIn } from '../option-checks.js';
import { resolveReaderSettings, type ReaderOptions, type ReaderSettings } from '../reader/reader-options.js';

export interface GroupReaderOptions extends Omit<ReaderOptions, 'from'> {
  /** Join (or create) this reader group of the stream. */
  group: string;
  /** This reader's name in the group. Default: random. A restarted process may reuse its id. */
  readerId?: string;
  /** Where a new group starts: 'head' (default) or 'tail'. Ignored when the group exists. */
  from?: 'head' | 'tail';
  /** A reader silent this long loses its segments to the others. Default 10 000. */
  sessionTimeoutMs?: number;
  /** How often processed positions are committed. Default 1 000. */
  commitIntervalMs?: number;
}

export interface GroupReaderSettings extends ReaderSettings {
  group: string;
  readerId: string;
  from: 'head' | 'tail';
  /** Whether from was given (a differing group start is then worth a warning). */
  fromGiven: boolean;
  sessionTimeoutMs: number;
  commitIntervalMs: number;
  /** The one-segment stream that holds the group's state. */
  stateStream: string;
  /** How often a reader moves its heartbeat counter. */
  heartbeatIntervalMs: number;
  /** How often a reader checks its neighbour's heartbeat and re-plans its segments. */
  checkIntervalMs: number;
}

export const GROUP_DEFAULTS = { sessionTimeoutMs: 10_000, commitIntervalMs: 1_000 } as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const READER_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The stream holding a group's state: beside the stream it reads, e.g. `shop/orders.group.billing`. */
export function groupStateStream(stream: string, group: string): string {
  return `${stream}.group.${group}`;
}

export function checkGroupName(stream: string, group: unknown): string {
  if (typeof group !== 'string' || !NAME.test(group)) {
    throw new InvalidOptionError('group', `must be 1-64 of [A-Za-z0-9_.-] starting with a letter or digit, got ${String(group)}`);
  }
  const problem = streamNameProblem(groupStateStream(stream, group));
  if (problem) throw new InvalidOptionError('group', `the group's state stream ${groupStateStream(stream, group)} is not a valid name; use a shorter group name`);
  return group;
}

export function resolveGroupReaderSettings(options: GroupReaderOptions, stream: string): GroupReaderSettings {
  const { group, readerId, from, sessionTimeoutMs, commitIntervalMs, ...plain } = options;
  if (from !== undefined && from !== 'head' && from !== 'tail') {
    throw new InvalidOptionError('from', "a reader group starts at 'head' or 'tail' (positions are the group's own)");
  }
  const id = readerId ?? randomUUID();
  if (typeof id !== 'string' || !READER_ID.test(id)) {
    throw new InvalidOptionError('readerId', `must be 1-128 of [A-Za-z0-9_.:-], got ${String(id)}`);
  }
  const sessionTimeout = integerIn('sessionTimeoutMs', sessionTimeoutMs ?? GROUP_DEFAULTS.sessionTimeoutMs, 500, 3_600_000);
  return {
    ...resolveReaderSettings(plain, stream),
    group: checkGroupName(stream, group),
    readerId: id,
    from: from ?? 'head',
    fromGiven: from !== undefined,
    sessionTimeoutMs: sessionTimeout,
    commitIntervalMs: integerIn('commitIntervalMs', commitIntervalMs ?? GROUP_DEFAULTS.commitIntervalMs, 10, 3_600_000),
    stateStream: groupStateStream(stream, group),
    heartbeatIntervalMs: Math.floor(sessionTimeout / 4),
    // Bounds how long past sessionTimeoutMs a dead reader keeps its segments.
    checkIntervalMs: Math.min(500, Math.floor(sessionTimeout / 5)),
  };
}
