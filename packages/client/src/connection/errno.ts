/** The system error code (ECONNREFUSED, ENOTFOUND, …) behind error, following its causes; null when none. */
export function errnoOf(error: unknown): string | null {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && (cause as { syscall?: unknown }).syscall !== undefined) {
      return code;
    }
  }
  return null;
}

/** The host name did not resolve (for good, or for now: EAI_AGAIN): the hint is DNS, not the server. */
export function isNameResolutionFailure(code: string | null): boolean {
  return code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_FAIL' || code === 'EAI_AGAIN';
}

/** Nothing listens there or the name does not exist: a first connection fails at once instead of retrying. */
export function isRefusal(code: string | null): boolean {
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_NONAME';
}
