import type { SluiceClient } from '../sluice-client.js';
import type { Output } from './output.js';
import type { PayloadFormat } from './payload.js';

/** What every command gets: its own arguments, the output, and a client made on first use. */
export interface CommandContext {
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly output: Output;
  readonly format: PayloadFormat;
  client(): SluiceClient;
  /** Resolves when the user asks the command to stop (Ctrl-C, SIGTERM). */
  readonly stopped: Promise<void>;
  readonly stdin: NodeJS.ReadableStream;
  /** Progress for people: a line rewritten on stderr, shown only when stderr is a terminal. */
  progress(text: string): void;
}

export interface CommandSpec {
  /** Words that select it: ['stream', 'create']. */
  readonly path: readonly string[];
  readonly summary: string;
  /** `<scope/name> --segments N` */
  readonly usage: string;
  /** Positionals it takes: [min, max]. */
  readonly arity: readonly [number, number];
  readonly options: Readonly<Record<string, { type: 'string' | 'boolean'; help: string }>>;
  run(context: CommandContext): Promise<number | void>;
}
