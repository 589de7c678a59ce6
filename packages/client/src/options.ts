import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { DEFAULT_LIMITS } from '@sluice/protocol';
import { InvalidOptionError } from './errors.js';
import { refuseUnknownOptions, shownValue } from './option-checks.js';
import { silentLogger, type Logger } from './logger.js';
import { parseEndpoint } from './connection/transport.js';

/** A token, or a function returning one (called per use, so it can rotate tokens). */
export type TokenSource = string | (() => string | Promise<string>);

export interface SluiceClientOptions {
  /** Any node(s) of the cluster as `host:port`; the rest are learned from the cluster map. */
  endpoints: string[];
  /** Shared connections per server node. Default 4. */
  maxConnectionsPerEndpoint?: number;
  /** Connections per node for writers with enableConnectionPooling: false. Default 256. */
  maxDedicatedConnectionsPerEndpoint?: number;
  /** Auth token, when the cluster wants one. */
  token?: TokenSource;
  /** node:tls options (ca, servername, rejectUnauthorized, …); TLS is used when given. */
  tls?: TlsOptions;
  /** A pino logger (or anything with its methods). Silent by default. */
  logger?: Logger;
  /** A request with no reply after this long fails with TimeoutError. Default 30 000. */
  requestTimeoutMs?: number;
  /** Opening a connection to a node gives up after this long. Default 5 000. */
  connectTimeoutMs?: number;
  /** A KeepAlive is sent after this long without receiving anything. Default 10 000. */
  keepAliveIntervalMs?: number;
  /** A connection whose KeepAlive gets no answer for this long is closed. Default 20 000. */
  keepAliveTimeoutMs?: number;
  /** A shared connection without flows is closed after this long. Default 60 000. */
  idleConnectionTimeoutMs?: number;
  /** How long writers keep resending across reconnects before pending writes fail. Default 60 000. */
  retryWindowMs?: number;
  /**
   * Largest frame accepted from a server (2 MiB .. 1 GiB). Default 16 MiB, as the node's
   * --max-frame-size. It must hold the largest reply: a read of up to 1 MiB, or one whole event.
   */
  maxFrameSize?: number;
}

export type ClientSettings = Required<Omit<SluiceClientOptions, 'token' | 'tls'>> &
  Pick<SluiceClientOptions, 'token' | 'tls'>;

const DEFAULTS = {
  maxConnectionsPerEndpoint: 4,
  maxDedicatedConnectionsPerEndpoint: 256,
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  keepAliveIntervalMs: 10_000,
  keepAliveTimeoutMs: 20_000,
  idleConnectionTimeoutMs: 60_000,
  retryWindowMs: 60_000,
  maxFrameSize: DEFAULT_LIMITS.maxFrameSize,
} as const;

type NumericOption = keyof typeof DEFAULTS;

/** A reply holds a read of up to 1 MiB (or one whole event) plus its fields: smaller frame limits break reads. */
const MIN_FRAME_SIZE = 2 * 1024 * 1024;
const MAX_FRAME_SIZE = 1024 * 1024 * 1024;

function positiveInteger(options: SluiceClientOptions, name: NumericOption): number {
  const value: unknown = options[name] ?? DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(name, `must be a positive integer, got ${shownValue(value)}`);
  }
  return value;
}

/** Every option name (a Record, so adding an option without listing it fails to compile). */
const CLIENT_OPTIONS = Object.keys({
  endpoints: true,
  maxConnectionsPerEndpoint: true,
  maxDedicatedConnectionsPerEndpoint: true,
  token: true,
  tls: true,
  logger: true,
  requestTimeoutMs: true,
  connectTimeoutMs: true,
  keepAliveIntervalMs: true,
  keepAliveTimeoutMs: true,
  idleConnectionTimeoutMs: true,
  retryWindowMs: true,
  maxFrameSize: true,
} satisfies Record<keyof SluiceClientOptions, true>);

/** Validates options at construction; each message names the option and what it accepts. */
export function resolveSettings(options: SluiceClientOptions): ClientSettings {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', "pass an object such as { endpoints: ['127.0.0.1:9090'] }");
  }
  refuseUnknownOptions(options, CLIENT_OPTIONS, 'client');
  const { endpoints } = options;
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new InvalidOptionError('endpoints', "must be a non-empty array of 'host:port' strings, e.g. ['127.0.0.1:9090']");
  }
  for (const endpoint of endpoints) {
    try {
      parseEndpoint(String(endpoint));
    } catch (error) {
      throw new InvalidOptionError('endpoints', (error as Error).message);
    }
  }
  const token = options.token;
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
    throw new InvalidOptionError('token', 'must be a string or a function returning one');
  }
  if (options.tls !== undefined && (typeof options.tls !== 'object' || options.tls === null || Array.isArray(options.tls))) {
    throw new InvalidOptionError('tls', "must be an object of node:tls connect options, e.g. { ca: readFileSync('ca.pem') }");
  }
  const numeric = Object.fromEntries(
    (Object.keys(DEFAULTS) as NumericOption[]).map((name) => [name, positiveInteger(options, name)]),
  ) as Record<NumericOption, number>;
  if (numeric.maxFrameSize < MIN_FRAME_SIZE || numeric.maxFrameSize > MAX_FRAME_SIZE) {
    throw new InvalidOptionError(
      'maxFrameSize',
      `must be from ${MIN_FRAME_SIZE} (2 MiB) to ${MAX_FRAME_SIZE} (1 GiB) bytes, got ${numeric.maxFrameSize}; ` +
        "it bounds the replies this client accepts (reads of up to 1 MiB, or one whole event): leave it at the node's --max-frame-size",
    );
  }
  return {
    ...numeric,
    endpoints: [...new Set(endpoints)],
    token,
    tls: options.tls,
    logger: options.logger ?? silentLogger,
  };
}
