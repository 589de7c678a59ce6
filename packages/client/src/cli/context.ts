import type { SluiceClient } from '../sluice-client.js';
import type { Output } from './output.js';
import type { PayloadFormat } from './payload.js';

/** A parsed flag: a string, a boolean, the values of a repeatable option, or absent. */
export type FlagValue = string | boolean | (string | boolean)[] | undefined;

/** One option of the command line; `multiple` options may be given more than once. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly help: string;
  readonly short?: string;
  readonly multiple?: boolean;
}

/** What every command gets: its own arguments, the output, and a client made on first use. */
export interface CommandContext {
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, FlagValue>>;
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
  readonly options: Readonly<Record<string, OptionSpec>>;
  run(context: CommandContext): Promise<number | void>;
}
