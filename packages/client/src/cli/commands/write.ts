import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { EventHeaders } from '@sluice/protocol';
import type { CommandSpec, FlagValue } from '../context.js';
import { describeFailure } from '../failure.js';
import { UsageError } from '../usage-error.js';

/** Writes not yet acknowledged that the command keeps at most; the writer's own bound applies too. */
const MAX_OUTSTANDING = 10_000;

export const writeCommand: CommandSpec = {
  path: ['write'],
  summary: 'write one event per line of standard input; exits once every event is durable',
  usage: '<scope/name> [--key K] [--header name=value]…',
  arity: [1, 1],
  options: {
    key: { type: 'string', help: 'routing key of every event (keeps their order); default: a random key per event' },
    header: { type: 'string', multiple: true, help: 'a header name=value on every event; repeat for more' },
  },
  async run({ positionals, flags, output, client, stdin, progress, stopped }) {
    const [stream] = positionals as [string];
    const fixedKey = typeof flags.key === 'string' ? flags.key : null;
    const options = { headers: headersOf(flags.header) };
    const writer = client().createWriter(stream);
    const outstanding = new Set<Promise<void>>();
    let written = 0;
    let failed = 0;
    let firstFailure: unknown = null;
    const lines = createInterface({ input: stdin, crlfDelay: Infinity });
    // Ctrl-C stops reading; what was read is still made durable before the command exits.
    void stopped.then(() => lines.close());
    for await (const line of lines) {
      const write = writer.write(fixedKey ?? randomUUID(), line, options).then(
        () => {
          written += 1;
          outstanding.delete(write);
        },
        (error: unknown) => {
          failed += 1;
          firstFailure ??= error;
          outstanding.delete(write);
        },
      );
      outstanding.add(write);
      if (outstanding.size >= MAX_OUTSTANDING) await Promise.race(outstanding);
      progress(`written ${written} events`);
    }
    await Promise.all(outstanding);
    try {
      await writer.close();
    } catch (error) {
      firstFailure ??= error;
    }
    progress('');
    const summary = { stream, written, failed };
    if (failed === 0 && firstFailure === null) {
      output.record(summary, `wrote ${written} events to ${stream}`);
      return 0;
    }
    output.record({ ...summary, error: describeFailure(firstFailure).message });
    process.stderr.write(`sluice: ${failed} of ${written + failed} events were not written: ${describeFailure(firstFailure).message}\n`);
    return 1;
  },
};

/** `--header name=value` flags as headers; the value may hold '=' (only the first one splits). */
function headersOf(flag: FlagValue): EventHeaders {
  const headers: EventHeaders = {};
  for (const pair of Array.isArray(flag) ? flag.map(String) : []) {
    const split = pair.indexOf('=');
    if (split <= 0) throw new UsageError(`--header must be name=value, got "${pair}"`);
    headers[pair.slice(0, split)] = pair.slice(split + 1);
  }
  return headers;
}
