import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { SluiceClient } from '../sluice-client.js';
import { choiceFlag } from './arguments.js';
import { catCommand } from './commands/cat.js';
import { clusterCommand } from './commands/cluster.js';
import { groupCommand } from './commands/group.js';
import { streamCommands } from './commands/stream.js';
import { writeCommand } from './commands/write.js';
import type { CommandContext, CommandSpec, FlagValue, OptionSpec } from './context.js';
import { describeFailure, EXIT_USAGE } from './failure.js';
import { createOutput } from './output.js';
import { PAYLOAD_FORMATS } from './payload.js';
import { createProgress } from './progress.js';
import { UsageError } from './usage-error.js';

const COMMANDS: readonly CommandSpec[] = [...streamCommands, writeCommand, catCommand, groupCommand, clusterCommand];

const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  endpoints: { type: 'string', help: 'nodes as host:port,… (env SLUICE_ENDPOINTS; default 127.0.0.1:9090)' },
  token: { type: 'string', help: 'auth token (env SLUICE_TOKEN)' },
  'tls-ca': { type: 'string', help: 'PEM file of the CA that signed the nodes\' certificates: connect with TLS' },
  json: { type: 'boolean', help: 'machine output: one JSON object per line' },
  format: { type: 'string', help: 'how event data is shown: text (default, control bytes escaped), hex, base64' },
  help: { type: 'boolean', short: 'h', help: 'show help (also after a command)' },
  version: { type: 'boolean', short: 'V', help: 'print the version' },
};

export interface CliIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** Resolves when the user asks to stop (Ctrl-C, SIGTERM). */
  stopped: Promise<void>;
}

/** Runs one `sluice …` invocation and resolves with its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let client: SluiceClient | null = null;
  try {
    const { command, values, positionals } = parseCommandLine(argv);
    if (values.version === true) {
      io.stdout(`sluice ${packageVersion()}\n`);
      return 0;
    }
    if (command === null || values.help === true) {
      io.stdout(helpFor(command, positionals));
      return command === null && values.help !== true ? EXIT_USAGE : 0;
    }
    const own = positionals.slice(command.path.length);
    const [min, max] = command.arity;
    if (own.length < min || own.length > max) {
      throw new UsageError(`${command.path.join(' ')} takes ${usageLine(command)}`);
    }
    const context: CommandContext = {
      positionals: own,
      flags: values,
      output: createOutput(io.stdout, values.json === true),
      format: choiceFlag(values, 'format', PAYLOAD_FORMATS, 'text'),
      client: () => (client ??= new SluiceClient(clientOptions(values, io.env))),
      stopped: io.stopped,
      stdin: io.stdin,
      progress: createProgress(io.stderr),
    };
    return (await command.run(context)) ?? 0;
  } catch (error) {
    const { message, exitCode } = describeFailure(error);
    io.stderr.write(`sluice: ${message}\n`);
    return exitCode;
  } finally {
    if (client !== null) await closeWithin(client, CLOSE_GRACE_MS);
  }
}

/**
 * The command's work is done (writes are durable before it returns): closing the client only frees
 * connections, and a close that stalls must not keep a terminal command from exiting.
 */
const CLOSE_GRACE_MS = 2_000;

async function closeWithin(client: SluiceClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.close(), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function parseCommandLine(argv: readonly string[]): {
  command: CommandSpec | null;
  values: Record<string, FlagValue>;
  positionals: string[];
} {
  // First pass, knowing every option, only to find the command words among the arguments.
  const everyOption = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((command) => command.options)) as Record<string, OptionSpec>;
  const loose = parseArgs({ args: [...argv], options: everyOption, strict: false, allowPositionals: true });
  const command = findCommand(loose.positionals);
  const options = command === null ? GLOBAL_OPTIONS : { ...GLOBAL_OPTIONS, ...command.options };
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    return { command, values, positionals };
  } catch (error) {
    if (command === null) return { command, values: loose.values, positionals: loose.positionals };
    throw new UsageError(`${command.path.join(' ')}: ${(error as Error).message.split('\n')[0]!}`);
  }
}

function findCommand(positionals: readonly string[]): CommandSpec | null {
  return COMMANDS.find((command) => command.path.every((word, index) => positionals[index] === word)) ?? null;
}

function clientOptions(values: Record<string, FlagValue>, env: NodeJS.ProcessEnv) {
  const endpoints = String(values.endpoints ?? env.SLUICE_ENDPOINTS ?? '127.0.0.1:9090')
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '');
  const token = (values.token as string | undefined) ?? env.SLUICE_TOKEN;
  const caFile = values['tls-ca'] as string | undefined;
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (error) {
      throw new UsageError(`--tls-ca ${caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return {
    endpoints,
    ...(token ? { token } : {}),
    ...(ca ? { tls: { ca } } : {}),
    // A terminal tool should answer quickly when no node is there.
    connectTimeoutMs: 3_000,
    requestTimeoutMs: 15_000,
  };
}

function usageLine(command: CommandSpec): string {
  return `sluice ${command.path.join(' ')} ${command.usage}`.trimEnd();
}

function helpFor(command: CommandSpec | null, positionals: readonly string[]): string {
  const options = (specs: Readonly<Record<string, OptionSpec>>): string =>
    Object.entries(specs)
      .map(([name, spec]) => {
        const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ' <value>' : ''}`;
        return `  ${flag.padEnd(28)} ${spec.help}\n`;
      })
      .join('');
  if (command !== null) {
    return `usage: ${usageLine(command)}\n\n${command.summary}\n\n${
      Object.keys(command.options).length > 0 ? `options:\n${options(command.options)}\n` : ''
    }global options:\n${options(GLOBAL_OPTIONS)}`;
  }
  const group = positionals[0];
  const listed = COMMANDS.filter((spec) => group === undefined || spec.path[0] === group);
  const shown = listed.length > 0 ? listed : COMMANDS;
  const unknown = positionals.length > 0 && listed.length === 0 ? `sluice: unknown command "${positionals.join(' ')}"\n\n` : '';
  return (
    `${unknown}usage: sluice [global options] <command>\n\ncommands:\n` +
    shown.map((spec) => `  ${`${spec.path.join(' ')} ${spec.usage}`.padEnd(60)} ${spec.summary}\n`).join('') +
    `\nglobal options:\n${options(GLOBAL_OPTIONS)}\n'sluice <command> --help' shows a command's options.\n`
  );
}

/** The version of @sluice/client: its package.json is the nearest one above this module (dist/ or src/cli/). */
function packageVersion(): string {
  const require = createRequire(import.meta.url);
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const manifest = require(candidate) as { name?: string; version: string };
      if (manifest.name === '@sluice/client') return manifest.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}
