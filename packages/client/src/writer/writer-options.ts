import { randomUUID } from 'node:crypto';
import { DEFAULT_LIMITS } from '@sluice/protocol';
import { InvalidOptionError } from '../errors.js';
import { integerIn, refuseUnknownOptions, shownValue } from '../option-checks.js';
import { loadTraceContext, type TraceContextSource } from './trace-context.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface WriterOptions {
  /**
   * True (default): this writer's flows share the client's pooled connections. False: each of its
   * segment writers gets a connection of its own.
   */
  enableConnectionPooling?: boolean;
  /**
   * Identifies the writer to the server, which drops events it already stored by writer id and event
   * number. A random UUID by default; a given id must not be used by two live writers at once.
   */
  writerId?: string;
  /** Bytes written but not yet acknowledged, over all segments; `write` waits for room. Default 8 MiB. */
  maxInflightBytes?: number;
  /** Largest append block sent in one request. Default 1 MiB (16 KiB .. 8 MiB). */
  maxBlockBytes?: number;
  /**
   * While blocks are in flight, how long new events may wait for more to join their block.
   * Default 2 ms. With nothing in flight, events are sent at once whatever this is.
   */
  lingerMs?: number;
  /** How long pending writes survive reconnects before they fail. Default: the client's retryWindowMs. */
  retryWindowMs?: number;
  /**
   * Events larger than this (data, routing key and headers, plus 13 bytes of envelope) are refused at
   * once. Default 8 MiB, the server's default limit.
   */
  maxEventSize?: number;
  /**
   * True: each write made while an OpenTelemetry span is active carries that span's W3C trace context
   * (`traceparent`, and `tracestate` when set) in its headers, unless the write sets traceparent itself.
   * Needs the optional peer dependency `@opentelemetry/api`. Default false.
   */
  traceContext?: boolean;
}

export interface WriterSettings {
  pooled: boolean;
  writerId: string;
  maxInflightBytes: number;
  maxBlockBytes: number;
  lingerMs: number;
  retryWindowMs: number;
  maxEventSize: number;
  /** Headers of the active span, when the writer propagates trace context. */
  traceContext: TraceContextSource | null;
}

export const WRITER_DEFAULTS = {
  maxInflightBytes: 8 * MiB,
  maxBlockBytes: 1 * MiB,
  lingerMs: 2,
  maxEventSize: DEFAULT_LIMITS.maxEventSize,
} as const;

const MIN_BLOCK_BYTES = 16 * KiB;
/** A block plus its frame header and fields must stay under the default 16 MiB frame limit. */
const MAX_BLOCK_BYTES = 8 * MiB;
/** An event travels in a block of its own when it is large; it too must fit in a frame. */
const MAX_EVENT_BYTES = DEFAULT_LIMITS.maxFrameSize - 64 * KiB;

/** Every option name (a Record, so adding an option to WriterOptions without listing it fails to compile). */
const WRITER_OPTIONS = Object.keys({
  enableConnectionPooling: true,
  writerId: true,
  maxInflightBytes: true,
  maxBlockBytes: true,
  lingerMs: true,
  retryWindowMs: true,
  maxEventSize: true,
  traceContext: true,
} satisfies Record<keyof WriterOptions, true>);

/** Validates writer options at construction; each message names the option. */
export function resolveWriterSettings(options: WriterOptions | undefined, clientRetryWindowMs: number): WriterSettings {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionError('options', 'writer options must be an object, e.g. { enableConnectionPooling: true }');
  }
  const given = options ?? {};
  refuseUnknownOptions(given, WRITER_OPTIONS, 'writer');
  const pooled = given.enableConnectionPooling ?? true;
  if (typeof pooled !== 'boolean') {
    throw new InvalidOptionError('enableConnectionPooling', `must be true or false, got ${shownValue(pooled)}`);
  }
  const writerId = given.writerId ?? randomUUID();
  if (typeof writerId !== 'string' || writerId.length === 0 || writerId.length > 200) {
    throw new InvalidOptionError('writerId', 'must be a non-empty string of at most 200 characters');
  }
  const traceContext = traceContextOption(given.traceContext ?? false);
  const maxEventSize = integerIn('maxEventSize', given.maxEventSize ?? WRITER_DEFAULTS.maxEventSize, 1, MAX_EVENT_BYTES);
  return {
    pooled,
    writerId,
    maxInflightBytes: integerIn('maxInflightBytes', given.maxInflightBytes ?? WRITER_DEFAULTS.maxInflightBytes, 1, 2 ** 40),
    maxBlockBytes: integerIn('maxBlockBytes', given.maxBlockBytes ?? WRITER_DEFAULTS.maxBlockBytes, MIN_BLOCK_BYTES, MAX_BLOCK_BYTES),
    lingerMs: integerIn('lingerMs', given.lingerMs ?? WRITER_DEFAULTS.lingerMs, 0, 1_000),
    retryWindowMs: integerIn('retryWindowMs', given.retryWindowMs ?? clientRetryWindowMs, 1, 2 ** 31 - 1),
    maxEventSize,
    traceContext,
  };
}

function traceContextOption(enabled: unknown): TraceContextSource | null {
  if (typeof enabled !== 'boolean') throw new InvalidOptionError('traceContext', `must be true or false, got ${String(enabled)}`);
  if (!enabled) return null;
  const source = loadTraceContext();
  if (source === null) {
    throw new InvalidOptionError('traceContext', 'needs the package @opentelemetry/api: install it (npm install @opentelemetry/api) or leave traceContext off');
  }
  return source;
}
