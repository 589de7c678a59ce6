import { InvalidOptionError } from '../errors.js';

/**
 * A point in a revisioned segment: the segment's length just after an entry (so the revision of an
 * empty segment is its start, and "the latest revision" is its current length). Revisions of one
 * segment compare by offset; `toString()` and `Revision.parse` round-trip (`scope/name/0:1234`), and
 * JSON.stringify writes the same string.
 */
export class Revision {
  constructor(
    readonly segment: string,
    readonly offset: number,
  ) {
    if (typeof segment !== 'string' || segment.length === 0 || segment.includes(':')) {
      throw new InvalidOptionError('revision', `segment must be a segment name, got ${String(segment)}`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidOptionError('revision', `offset must be a non-negative integer, got ${String(offset)}`);
    }
  }

  /** Negative, zero or positive as a is before, at or after b; both must be of one segment. */
  static compare(a: Revision, b: Revision): number {
    if (a.segment !== b.segment) {
      throw new InvalidOptionError('revision', `cannot compare revisions of ${a.segment} and ${b.segment}`);
    }
    return Math.sign(a.offset - b.offset);
  }

  static parse(text: string): Revision {
    const separator = typeof text === 'string' ? text.lastIndexOf(':') : -1;
    const offsetText = separator > 0 ? text.slice(separator + 1) : '';
    if (!/^\d{1,16}$/.test(offsetText)) {
      throw new InvalidOptionError('revision', `"${String(text)}" is not a revision; expected "segment:offset" from Revision.toString()`);
    }
    return new Revision(text.slice(0, separator), Number(offsetText));
  }

  compareTo(other: Revision): number {
    return Revision.compare(this, other);
  }

  equals(other: Revision | null | undefined): boolean {
    return other instanceof Revision && other.segment === this.segment && other.offset === this.offset;
  }

  toString(): string {
    return `${this.segment}:${this.offset}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
