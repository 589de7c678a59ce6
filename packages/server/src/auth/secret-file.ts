import { readFile } from 'node:fs/promises';

import { MIN_SECRET_BYTES } from './token.js';

/**
 * Reads an auth secret file, trimmed of surrounding whitespace (a trailing newline is usual).
 * Throws an Error naming the file if it is missing, unreadable, empty or shorter than 16 bytes;
 * the message never contains the file's contents.
 */
export async function readSecretFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const why =
      code === 'ENOENT'
        ? 'it does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : ((error as Error | undefined)?.message ?? String(error));
    throw new Error(`cannot read auth secret file ${JSON.stringify(path)}: ${why}`, { cause: error });
  }
  const secret = text.trim();
  if (secret === '') throw new Error(`auth secret file ${JSON.stringify(path)} is empty`);
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_SECRET_BYTES) {
    throw new Error(
      `auth secret in ${JSON.stringify(path)} is ${bytes} bytes; it must be at least ${MIN_SECRET_BYTES} (e.g. generate one with: openssl rand -base64 32 > ${path})`,
    );
  }
  return secret;
}
