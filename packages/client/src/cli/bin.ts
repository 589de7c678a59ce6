import { runCli } from './main.js';

/** A stop that did not finish in this long (a call still waiting on a node) ends the process anyway. */
const STOP_GRACE_MS = 2_000;

/** The `sluice` process: real stdio and signals around runCli. */
const stopped = new Promise<void>((resolve) => {
  const stop = (signal: NodeJS.Signals): void => {
    resolve();
    setTimeout(() => process.exit(signal === 'SIGINT' ? 130 : 143), STOP_GRACE_MS).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
// `sluice cat … | head` closes the pipe early: that is a normal way to stop, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

void runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  stopped,
}).then((exitCode) => {
  // Exit once stdout has taken everything: a client that leaves a timer behind must not hold the process.
  process.stdout.write('', () => process.exit(exitCode));
});
