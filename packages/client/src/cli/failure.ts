import { ServerError, SluiceError } from '../errors.js';
import { UsageError } from './usage-error.js';

export const EXIT_FAILURE = 1;
/** A bad command line, as getopt tools do; distinct from a failure to run. */
export const EXIT_USAGE = 2;

/**
 * One line for stderr that says what failed and what to do about it, and the exit code. The
 * client's own messages already name the option or the stream; the CLI adds the flag to change.
 */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof UsageError) return { message: `${error.message}; see sluice --help`, exitCode: EXIT_USAGE };
  if (error instanceof SluiceError) {
    return { message: `${error.message}${hintFor(error)} [${error.code}]`, exitCode: EXIT_FAILURE };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: oneLine(message), exitCode: EXIT_FAILURE };
}

function hintFor(error: SluiceError): string {
  switch (error.code) {
    case 'CONNECT_FAILED':
      return '; point --endpoints (or SLUICE_ENDPOINTS) at a running node';
    case 'NO_SUCH_STREAM':
      return ' (from the CLI: sluice stream create <scope/name> --segments N)';
    case 'AUTH_TOKEN_CHECK_FAILED':
      return '; pass a token that covers it with --token (or SLUICE_TOKEN)';
    case 'SERVER_ERROR':
      return (error as ServerError).serverCode === 'TLS_REQUIRED' ? ' (from the CLI: --tls-ca <PEM file of that CA>)' : '';
    default:
      return '';
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
