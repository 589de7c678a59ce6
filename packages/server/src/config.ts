import { parseArgs } from 'node:util';

import { DEFAULT_LIMITS, formatAddress, parseAddress } from '@sluice/protocol';

import { parseDuration } from './auth/index.js';
import { DEFAULT_STORE_OPTIONS } from './store/index.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Everything a node is started with. Every field has a default (DEFAULT_CONFIG) and a flag. */
export interface ServerConfig {
  host: string;
  /** 0 picks a free port; the bound one is logged with msg "listening". */
  port: number;
  dataDir: string;
  containers: number;
  /** Members as host:port; null means a cluster of one: this node. */
  cluster: string[] | null;
  /** This node's address in the cluster; null means host:port (the bound port when port is 0). */
  node: string | null;
  /** etcd endpoints (host:port) of a coordinated cluster; null: static (--cluster) or single node. */
  coordinator: string[] | null;
  /** Replicas of every container in a coordinated cluster; null means 3 (only with --coordinator). */
  replicationFactor: number | null;
  /** TTL of this node's membership lease in etcd; etcd leases count whole seconds. */
  leaseTtlMs: number;
  logLevel: LogLevel;
  logPretty: boolean;
  fsync: 'always' | 'none';
  authSecret: string | null;
  authSecretFile: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  maxConnections: number;
  /** HTTP port of /metrics and /health on the same host; null: not served; 0: a free port. */
  metricsPort: number | null;
  maxFrameSize: number;
  maxEventSize: number;
  /** Request bytes received on one connection whose reply is not written yet; past it reading pauses. */
  maxUnackedBytes: number;
  maxWritersPerConnection: number;
  helloTimeoutMs: number;
  /** A frame that has started arriving must be complete within this time (slow-loris guard). */
  frameTimeoutMs: number;
  /** Upper bound on a ReadSegment's waitMs at the tail. */
  maxReadWaitMs: number;
  /** How long SIGTERM waits for in-flight requests before closing connections anyway. */
  shutdownTimeoutMs: number;
  autoScaleIntervalMs: number;
  cacheBytes: number;
  logFileBytes: number;
  checkpointIntervalBytes: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const DEFAULT_CONFIG: Readonly<ServerConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 9090,
  dataDir: './data',
  containers: 16,
  cluster: null,
  node: null,
  coordinator: null,
  replicationFactor: null,
  leaseTtlMs: 5_000,
  logLevel: 'info',
  logPretty: false,
  fsync: 'always',
  authSecret: null,
  authSecretFile: null,
  tlsCert: null,
  tlsKey: null,
  maxConnections: 4096,
  metricsPort: null,
  maxFrameSize: DEFAULT_LIMITS.maxFrameSize,
  maxEventSize: DEFAULT_LIMITS.maxEventSize,
  maxUnackedBytes: 32 * MiB,
  maxWritersPerConnection: 10_000,
  helloTimeoutMs: 10_000,
  frameTimeoutMs: 30_000,
  maxReadWaitMs: 60_000,
  shutdownTimeoutMs: 5_000,
  autoScaleIntervalMs: 10_000,
  cacheBytes: DEFAULT_STORE_OPTIONS.cacheBytes,
  logFileBytes: DEFAULT_STORE_OPTIONS.logFileBytes,
  checkpointIntervalBytes: DEFAULT_STORE_OPTIONS.checkpointIntervalBytes,
});

/** A flag or option value that cannot be used; the message names the flag and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Kind = 'string' | 'bool' | 'port' | 'int' | 'size' | 'duration' | 'level' | 'fsync' | 'addresses' | 'address' | 'etcd';

interface FlagSpec {
  key: keyof ServerConfig;
  kind: Kind;
  help: string;
  /** The value's name in --help; default: the kind. */
  arg?: string;
  min?: number;
  max?: number;
}

/** The flag table: order is the order of --help. Flag names are the keys in kebab-case. */
const FLAGS: readonly FlagSpec[] = [
  { key: 'port', kind: 'port', help: 'TCP port to listen on; 0 picks a free one (logged with msg "listening")' },
  { key: 'host', kind: 'string', arg: 'host', help: 'interface to listen on' },
  { key: 'dataDir', kind: 'string', arg: 'dir', help: 'directory of the durable logs' },
  { key: 'containers', kind: 'int', arg: 'count', min: 1, max: 65_536, help: 'container count; the same on every node of a cluster' },
  { key: 'cluster', kind: 'addresses', arg: 'host:port,...', help: 'members host:port,host:port,... (default: a cluster of one, this node)' },
  { key: 'node', kind: 'address', arg: 'host:port', help: "this node's host:port in --cluster or --coordinator (default: --host:--port)" },
  { key: 'coordinator', kind: 'etcd', arg: 'etcd://host:port,...', help: 'etcd endpoints of a coordinated cluster: members join at run time, containers are replicated and fail over (instead of --cluster)' },
  { key: 'replicationFactor', kind: 'int', arg: 'n', min: 1, max: 15, help: 'replicas of every container, with --coordinator [default: 3]' },
  { key: 'leaseTtlMs', kind: 'duration', min: 1_000, max: 600_000, help: "with --coordinator: this node's membership lease; its containers fail over this long after it dies" },
  { key: 'logLevel', kind: 'level', help: `log level: ${LOG_LEVELS.join(', ')}` },
  { key: 'logPretty', kind: 'bool', help: 'human-readable log lines instead of JSON' },
  { key: 'fsync', kind: 'fsync', arg: 'always|none', help: 'always: acknowledge appends after fsync. none: never fsync (UNSAFE, for tests only)' },
  { key: 'authSecret', kind: 'string', arg: 'secret', help: 'require tokens signed with this secret (>= 16 bytes); prefer --auth-secret-file' },
  { key: 'authSecretFile', kind: 'string', arg: 'file', help: 'require tokens signed with the secret in this file' },
  { key: 'tlsCert', kind: 'string', arg: 'file', help: 'PEM certificate file: serve TLS (with --tls-key)' },
  { key: 'tlsKey', kind: 'string', arg: 'file', help: 'PEM private key file (with --tls-cert)' },
  { key: 'maxConnections', kind: 'int', arg: 'count', min: 1, max: 1_000_000, help: 'connections beyond this are closed at once' },
  { key: 'metricsPort', kind: 'port', help: 'serve HTTP /metrics (Prometheus) and /health on --host at this port; 0 picks a free one (logged with msg "metrics listening")' },
  { key: 'maxFrameSize', kind: 'size', min: 64 * KiB, max: 1 * GiB, help: 'largest frame accepted' },
  { key: 'maxEventSize', kind: 'size', min: 1, max: 1 * GiB, help: 'largest event in an append block' },
  { key: 'maxUnackedBytes', kind: 'size', min: 64 * KiB, max: 64 * GiB, help: 'unanswered request bytes per connection before reading pauses' },
  { key: 'maxWritersPerConnection', kind: 'int', arg: 'count', min: 1, max: 10_000_000, help: 'SetupAppend (segment, writer) pairs per connection' },
  { key: 'helloTimeoutMs', kind: 'duration', min: 1, help: 'a connection without Hello within this time is closed' },
  { key: 'frameTimeoutMs', kind: 'duration', min: 1, help: 'a started frame must complete within this time' },
  { key: 'maxReadWaitMs', kind: 'duration', min: 0, help: 'cap on how long a read waits at the tail' },
  { key: 'shutdownTimeoutMs', kind: 'duration', min: 0, help: 'on SIGTERM, time given to in-flight requests' },
  { key: 'autoScaleIntervalMs', kind: 'duration', min: 100, help: 'how often streams with an auto-scaling policy whose metadata this node owns are evaluated' },
  { key: 'cacheBytes', kind: 'size', min: 0, max: 1024 * GiB, help: 'bytes of recent segment data kept in memory' },
  { key: 'logFileBytes', kind: 'size', min: 64 * KiB, max: 64 * GiB, help: 'a log file rolls over past this size' },
  { key: 'checkpointIntervalBytes', kind: 'size', min: 64 * KiB, max: 1024 * GiB, help: 'log bytes between checkpoints' },
];

/** Flag names drop the "Ms" of duration keys: --hello-timeout 10s sets helloTimeoutMs. */
function flagNameOf(spec: FlagSpec): string {
  const key = spec.kind === 'duration' ? spec.key.replace(/Ms$/, '') : spec.key;
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

export function envNameOf(flag: string): string {
  return `SLUICE_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function formatSize(bytes: number): string {
  for (const [unit, size] of [['GiB', GiB], ['MiB', MiB], ['KiB', KiB]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

function formatDuration(ms: number): string {
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function formatDefault(spec: FlagSpec): string {
  const value = DEFAULT_CONFIG[spec.key];
  if (value === null) return '';
  if (spec.kind === 'size') return formatSize(value as number);
  if (spec.kind === 'duration') return formatDuration(value as number);
  return String(value);
}

const SIZE = /^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;
const SIZE_UNITS: Record<string, number> = { b: 1, k: KiB, kb: KiB, kib: KiB, m: MiB, mb: MiB, mib: MiB, g: GiB, gb: GiB, gib: GiB };

function rangeText(spec: FlagSpec, format: (n: number) => string): string {
  if (spec.max === undefined) return `at least ${format(spec.min ?? 0)}`;
  return `${format(spec.min ?? 0)}-${format(spec.max)}`;
}

function parseValue(spec: FlagSpec, flag: string, raw: string | boolean): ServerConfig[keyof ServerConfig] {
  const fail = (allowed: string): never => {
    throw new ConfigError(`--${flag}: ${allowed} (got ${JSON.stringify(String(raw)).slice(0, 80)})`);
  };
  if (spec.kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    const text = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(text)) return false;
    return fail('must be true or false');
  }
  const text = String(raw).trim();
  switch (spec.kind) {
    case 'string':
      return text === '' ? fail('must not be empty') : text;
    case 'port': {
      const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
      return port >= 0 && port <= 65535 ? port : fail('must be a port number 0-65535');
    }
    case 'int': {
      const value = /^\d+$/.test(text) ? Number(text) : NaN;
      const ok = value >= (spec.min ?? 0) && value <= (spec.max ?? Number.MAX_SAFE_INTEGER);
      return ok ? value : fail(`must be a whole number ${rangeText(spec, String)}`);
    }
    case 'size': {
      const match = SIZE.exec(text);
      const value = match ? Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]! : NaN;
      const ok = Number.isSafeInteger(value) && value >= (spec.min ?? 0) && value <= (spec.max ?? Number.MAX_SAFE_INTEGER);
      return ok ? value : fail(`must be a size ${rangeText(spec, formatSize)}, in bytes or with a unit KiB, MiB, GiB (e.g. 64MiB)`);
    }
    case 'duration': {
      let value = NaN;
      try {
        value = parseDuration(text);
      } catch {
        // reported below with the allowed forms
      }
      const ok = value >= (spec.min ?? 0) && value <= (spec.max ?? 2_147_483_647);
      return ok ? value : fail(`must be a duration ${rangeText(spec, formatDuration)} such as 10s, 500ms, 2m (plain numbers are ms)`);
    }
    case 'level':
      return (LOG_LEVELS as readonly string[]).includes(text) ? (text as LogLevel) : fail(`must be one of ${LOG_LEVELS.join(', ')}`);
    case 'fsync':
      return text === 'always' || text === 'none' ? text : fail('must be always or none');
    case 'address': {
      const address = parseAddress(text);
      return typeof address === 'string' ? fail(`must be host:port with a port 1-65535: ${address}`) : text;
    }
    case 'etcd': {
      const list = text.replace(/^etcd:\/\//, '');
      if (list === text) fail('must start with etcd:// (e.g. etcd://127.0.0.1:2379,10.0.0.2:2379)');
      const endpoints = list.split(',').map((endpoint) => endpoint.trim().replace(/^etcd:\/\//, ''));
      for (const endpoint of endpoints) {
        const address = parseAddress(endpoint);
        if (typeof address === 'string') fail(`must be etcd://host:port[,host:port...]: ${address}`);
      }
      return endpoints;
    }
    case 'addresses': {
      const members = text.split(',').map((member) => member.trim());
      for (const member of members) {
        const address = parseAddress(member);
        if (typeof address === 'string') fail(`must be a comma-separated list of host:port: ${address}`);
      }
      if (new Set(members).size !== members.length) fail('lists a member twice');
      return members;
    }
  }
}

/** The config with cross-flag rules checked: cluster membership, TLS pairs, auth sources, limits. */
export function validateConfig(config: ServerConfig): ServerConfig {
  if (config.authSecret !== null && config.authSecretFile !== null) {
    throw new ConfigError('--auth-secret and --auth-secret-file: give one of them, not both');
  }
  if (config.authSecret !== null && Buffer.byteLength(config.authSecret) < 16) {
    throw new ConfigError('--auth-secret: must be at least 16 bytes (e.g. openssl rand -base64 32)');
  }
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    throw new ConfigError('--tls-cert and --tls-key: give both or neither');
  }
  if (config.maxEventSize + 4 + 1024 > config.maxFrameSize) {
    throw new ConfigError(
      `--max-event-size: must leave room for frame overhead within --max-frame-size (${formatSize(config.maxFrameSize)}); got ${formatSize(config.maxEventSize)}`,
    );
  }
  if (config.coordinator !== null && config.cluster !== null) {
    throw new ConfigError('--coordinator and --cluster: give one of them (a coordinated cluster learns its members from etcd)');
  }
  if (config.coordinator === null && config.replicationFactor !== null) {
    throw new ConfigError('--replication-factor: only with --coordinator (static and single-node clusters keep one copy)');
  }
  if (config.coordinator !== null && config.node === null && config.port === 0) {
    throw new ConfigError('--node: required with --coordinator when --port is 0 (other nodes and clients dial it)');
  }
  if (config.leaseTtlMs % 1000 !== 0) {
    throw new ConfigError(`--lease-ttl: etcd leases count whole seconds (got ${config.leaseTtlMs}ms)`);
  }
  if (config.cluster !== null) {
    const node = config.node ?? (config.port === 0 ? null : formatAddress(config.host, config.port));
    if (node === null) throw new ConfigError('--node: required with --cluster when --port is 0');
    if (!config.cluster.includes(node)) {
      throw new ConfigError(`--node: ${node} is not a member of --cluster (${config.cluster.join(',')})`);
    }
  }
  return config;
}

/** Reads flags, then SLUICE_* environment variables, then defaults. Throws ConfigError. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ServerConfig {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const spec of FLAGS) options[flagNameOf(spec)] = { type: spec.kind === 'bool' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError(`${describeParseError(error as Error & { code?: string })}; see --help`);
  }
  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const spec of FLAGS) {
    const flag = flagNameOf(spec);
    const raw = values[flag] ?? env[envNameOf(flag)];
    if (raw !== undefined) config[spec.key] = parseValue(spec, flag, raw);
  }
  return validateConfig(config as unknown as ServerConfig);
}

function describeParseError(error: Error & { code?: string }): string {
  const flag = /'(-[^' ]*)/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag ?? error.message}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(error.message)?.[1] ?? ''}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return error.message.includes('does not take') ? `${flag}: takes no value` : `${flag}: needs a value`;
    default:
      return error.message;
  }
}

/** Options given to startServer: any subset of the config; the rest takes the defaults. */
export type ServerOptions = Partial<ServerConfig>;

export function resolveConfig(options: ServerOptions = {}): ServerConfig {
  const config = { ...DEFAULT_CONFIG } as ServerConfig;
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  return validateConfig(config);
}

export function helpText(program = 'sluice-server'): string {
  const rows = FLAGS.map((spec) => {
    const flag = flagNameOf(spec);
    const name = spec.kind === 'bool' ? `--${flag}` : `--${flag} <${spec.arg ?? spec.kind}>`;
    const fallback = formatDefault(spec);
    return { name, text: `${spec.help}${fallback === '' ? '' : ` [default: ${fallback}]`} (${envNameOf(flag)})` };
  });
  const width = Math.max(...rows.map((row) => row.name.length)) + 2;
  return [
    `Usage: ${program} [flags]`,
    `       ${program} token (--auth-secret-file <file> | --auth-secret <secret>) --streams <patterns> [--rights rw] [--ttl 24h]`,
    `       ${program} repair --data-dir <dir> [--container <id>]`,
    '',
    'Runs a Sluice node. Every flag can also be set with the environment variable shown.',
    'Sizes take KiB/MiB/GiB units (64MiB); durations take ms/s/m/h (10s).',
    '',
    'Flags:',
    ...rows.map((row) => `  ${row.name.padEnd(width)}${row.text}`),
    `  ${'--help'.padEnd(width)}show this help`,
    `  ${'--version'.padEnd(width)}print the version`,
    '',
    'Subcommand token: prints an auth token for streams matching the comma-separated patterns',
    '("*", "scope/*" or "scope/name"), with rights r, w, a (default rw), valid for --ttl (default 24h).',
    '',
    'Subcommand repair (node stopped): cuts each container log that has a bad record after its checkpoint',
    'at the first one, keeping the good prefix, and prints what it dropped.',
    '',
  ].join('\n');
}
