import type { Right } from '@sluice/protocol';

export type { Right };

/** Rights are independent of each other: admin does not imply write, nor write read. */
export const ALL_RIGHTS: readonly Right[] = Object.freeze(['read', 'write', 'admin'] as const);

const RIGHT_BY_LETTER: Readonly<Record<string, Right>> = { r: 'read', w: 'write', a: 'admin' };

export function isRight(value: unknown): value is Right {
  return value === 'read' || value === 'write' || value === 'admin';
}

/** Rights in canonical order (read, write, admin), without duplicates. */
export function canonicalRights(rights: Iterable<Right>): Right[] {
  const present = new Set(rights);
  return ALL_RIGHTS.filter((right) => present.has(right));
}

/**
 * 'r', 'rw', 'rwa', 'read,write', 'admin' ... -> rights (case-insensitive, canonical order).
 * Throws an Error naming the bad letter or word.
 */
export function parseRights(text: string): Right[] {
  if (typeof text !== 'string') throw new Error(`rights must be a string such as "rw" or "read,write"`);
  const trimmed = text.trim().toLowerCase();
  if (trimmed === '') throw new Error(`rights are empty; use letters r, w, a (e.g. "rw") or words read,write,admin`);
  const shown = quoteInput(text);
  if (trimmed.includes(',') || isRight(trimmed)) {
    const rights = trimmed.split(',').map((word) => {
      const right = word.trim();
      if (!isRight(right)) {
        throw new Error(`unknown right ${quoteInput(word.trim())} in ${shown}; the rights are read, write, admin`);
      }
      return right;
    });
    return canonicalRights(rights);
  }
  const rights = [...trimmed].map((letter) => {
    const right = RIGHT_BY_LETTER[letter];
    if (right === undefined) {
      throw new Error(
        `unknown right letter ${quoteInput(letter)} in ${shown}; use r (read), w (write), a (admin), or words such as "read,write"`,
      );
    }
    return right;
  });
  return canonicalRights(rights);
}

/** User text in an error message: quoted, and cut short so a huge argument cannot flood a log. */
export function quoteInput(text: string, max = 64): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}
