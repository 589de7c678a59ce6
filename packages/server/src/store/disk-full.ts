import { StoreError } from './types.js';

/** The disk is full, over quota or failing: no write to this log can succeed until an operator acts. */
const DISK_ERRORS: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EIO']);

/** A short write is how a full disk shows when part of a writev still fit. */
export class ShortWriteError extends Error {
  override readonly name = 'ShortWriteError';
}

/**
 * The error a log that failed this way keeps failing every later call with: DISK_FULL, naming the
 * directory and the cause, and saying what to do. Other failures are returned as they are.
 */
export function diskFailureOf(error: Error, directory: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (!(error instanceof ShortWriteError) && (code === undefined || !DISK_ERRORS.has(code))) return error;
  return new StoreError(
    'DISK_FULL',
    `the log in ${directory} cannot be written (${error.message}): the disk is full or failing. Appends and changes to ` +
      'this container fail until the node is restarted with space freed (a restart recovers everything acknowledged); ' +
      'the other containers go on',
  );
}
