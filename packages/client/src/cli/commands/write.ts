import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { CommandSpec } from '../context.js';
import { describeFailure } from '../failure.js';

/** Writes not yet acknowledged that the command keeps at most; the writer's own bound applies too. */
const MAX_OUTSTANDING = 10_000;

export const writeCommand: CommandSpec = {
  path: ['write'],
  summary: 'write one event per line of standard input; exits once every event is durable',
  usage: '<scope/name> [--key K]',
  arity: [1, 1],
  options: {
    key: { type: 'string', help: 'routing key of every event (keeps their order); default: a random key per event' },
  },
  async run({ positionals, flags, output, client, stdin, progress, stopped }) {
    const [stream] = positionals as [string];
    const fixedKey = typeof flags.key === 'string' ? flags.key : null;
    const writer = client().createWriter(stream);
    const outstanding = new Set<Promise<void>>();
    let written = 0;
    let failed = 0;
    let firstFailure: unknown = null;
    const lines = createInterface({ input: stdin, crlfDelay: Infinity });
    // Ctrl-C stops reading; what was read is still made durable before the command exits.
    void stopped.then(() => lines.close());
    for await (const line of lines) {
      const write = writer.write(fixedKey ?? randomUUID(), line).then(
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
