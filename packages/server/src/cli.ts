#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { mintToken, parseDuration, parseRights, readSecretFile } from './auth/index.js';
import { ConfigError, envNameOf, helpText, parseConfig } from './config.js';
import { setHeapGrowth } from './heap-growth.js';
import { createLogger } from './logger.js';
import { startServer, type SluiceServer } from './server.js';
import { repairDataDir } from './store/repair.js';

const PROGRAM = 'sluice-server';
/** Exit code for a bad flag or value (as getopt tools do), distinct from a failure to run. */
const EXIT_USAGE = 2;

function fail(message: string, code: number): never {
  process.stderr.write(`${PROGRAM}: ${message}\n`);
  process.exit(code);
}

/** `sluice-server token --auth-secret-file F --streams 'scope/*' [--rights rw] [--ttl 24h]` */
async function tokenCommand(argv: string[]): Promise<void> {
  const flags = ['auth-secret', 'auth-secret-file', 'streams', 'rights', 'ttl'] as const;
  let values: Partial<Record<(typeof flags)[number], string>>;
  try {
    values = parseArgs({
      args: argv,
      options: Object.fromEntries(flags.map((flag) => [flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }).values as typeof values;
  } catch (error) {
    fail(`token: ${(error as Error).message}; see --help`, EXIT_USAGE);
  }
  const value = (flag: (typeof flags)[number]): string | undefined => values[flag] ?? process.env[envNameOf(flag)];
  const secretText = value('auth-secret');
  const secretFile = value('auth-secret-file');
  if ((secretText === undefined) === (secretFile === undefined)) {
    fail('token: give exactly one of --auth-secret-file <file> or --auth-secret <secret>', EXIT_USAGE);
  }
  const streams = value('streams');
  if (streams === undefined) fail('token: --streams is required: comma-separated "*", "scope/*" or "scope/name"', EXIT_USAGE);
  let options: { streams: string[]; rights?: ReturnType<typeof parseRights>; ttlMs?: number };
  try {
    const rights = value('rights');
    const ttl = value('ttl');
    options = { streams: streams.split(',').map((stream) => stream.trim()) };
    if (rights !== undefined) options.rights = parseRights(rights);
    if (ttl !== undefined) options.ttlMs = parseDuration(ttl);
  } catch (error) {
    fail(`token: ${(error as Error).message}`, EXIT_USAGE);
  }
  try {
    const secret = secretText ?? (await readSecretFile(secretFile!));
    process.stdout.write(`${mintToken(secret, options)}\n`);
  } catch (error) {
    fail(`token: ${(error as Error).message}`, 1);
  }
}

/** `sluice-server repair --data-dir D [--container N]`: cut damaged logs at their first bad record. */
async function repairCommand(argv: string[]): Promise<void> {
  let values: { 'data-dir'?: string; container?: string };
  try {
    values = parseArgs({
      args: argv,
      options: { 'data-dir': { type: 'string' }, container: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    fail(`repair: ${(error as Error).message}; usage: sluice-server repair --data-dir <dir> [--container <id>]`, EXIT_USAGE);
  }
  const dataDir = values['data-dir'] ?? process.env[envNameOf('data-dir')] ?? './data';
  const container = values.container === undefined ? null : Number(values.container);
  if (container !== null && (!Number.isSafeInteger(container) || container < 0)) {
    fail(`repair: --container must be a container id (a whole number), got ${JSON.stringify(values.container)}`, EXIT_USAGE);
  }
  let repairs;
  try {
    repairs = await repairDataDir(dataDir, container);
  } catch (error) {
    fail(`repair: ${(error as Error).message}`, 1);
  }
  for (const { container: id, cut } of repairs) {
    if (cut === null) {
      process.stdout.write(`container ${id}: log intact, nothing cut\n`);
      continue;
    }
    const removed = cut.removedFiles.length > 0 ? ` and removed ${cut.removedFiles.length} later file(s): ${cut.removedFiles.join(', ')}` : '';
    const lost = cut.validRecordsDropped ? ' (whole records were among them: their events are lost)' : '';
    process.stdout.write(
      `container ${id}: cut ${cut.file} at byte ${cut.position} (${cut.reason}); dropped ${cut.droppedBytes} bytes${removed}${lost}\n`,
    );
  }
}

async function serve(argv: string[]): Promise<void> {
  setHeapGrowth();
  let config;
  try {
    config = parseConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, EXIT_USAGE);
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });

  // Signals are handled from before the node listens: a SIGTERM that arrives while the store
  // recovers (or right after "listening") still gets a clean shutdown once startup completes.
  let server: SluiceServer | null = null;
  let stopping = false;
  const shutdown = (running: SluiceServer): void => {
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received');
    if (server !== null) shutdown(server);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    server = await startServer(config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    fail((error as Error).message, error instanceof ConfigError ? EXIT_USAGE : 1);
  }
  if (stopping) shutdown(server);
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--version') || argv.includes('-V')) {
    // dist/cli.js sits beside the package's package.json, one level down.
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${PROGRAM} ${version}\n`);
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(PROGRAM));
    return;
  }
  if (argv[0] === 'token') return tokenCommand(argv.slice(1));
  if (argv[0] === 'repair') return repairCommand(argv.slice(1));
  return serve(argv);
}

main(process.argv.slice(2)).catch((error: unknown) => fail((error as Error)?.stack ?? String(error), 1));
