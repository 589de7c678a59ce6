import { streamNameProblem } from '@sluice/protocol';

/**
 * Stream patterns in a token: '*' (every stream), 'scope/*' (every stream of that scope), or an
 * exact 'scope/name'.
 */
export const ALL_STREAMS = '*';

/** The stream a segment belongs to: 'shop/orders/3' and 'shop/orders/#meta' -> 'shop/orders'. */
export function streamOfSegment(segment: string): string {
  const slash = segment.lastIndexOf('/');
  return slash < 0 ? segment : segment.slice(0, slash);
}

/** The stream a segment belongs to, or null when the name is not 'scope/name/<part>'. */
export function streamOfValidSegment(segment: string): string | null {
  if (typeof segment !== 'string') return null;
  const stream = streamOfSegment(segment);
  if (stream.length === segment.length || stream.length + 1 === segment.length) return null;
  return streamNameProblem(stream) === null ? stream : null;
}

/** Why a stream pattern is unusable, or null when it is fine. */
export function streamPatternProblem(pattern: unknown): string | null {
  if (typeof pattern !== 'string') return 'a stream pattern must be a string';
  if (pattern === ALL_STREAMS) return null;
  if (pattern.endsWith('/*')) {
    // 'scope/*' is valid exactly when 'scope/x' would be a valid stream name.
    const scope = pattern.slice(0, -2);
    return streamNameProblem(`${scope}/x`) === null
      ? null
      : `stream pattern must be "*", "scope/*" or "scope/name"; the scope in ${JSON.stringify(pattern.slice(0, 300))} is not a valid name`;
  }
  return streamNameProblem(pattern) === null
    ? null
    : `stream pattern must be "*", "scope/*" or "scope/name" (each part 1-128 of [A-Za-z0-9_.-] starting with a letter or digit); got ${JSON.stringify(pattern.slice(0, 300))}`;
}

export function patternCoversStream(pattern: string, stream: string): boolean {
  if (pattern === ALL_STREAMS) return true;
  if (pattern.endsWith('/*')) {
    const scopePrefix = pattern.slice(0, -1); // 'scope/'
    return stream.startsWith(scopePrefix) && stream.indexOf('/', scopePrefix.length) < 0;
  }
  return pattern === stream;
}
