import { quoteInput, type Right } from './rights.js';
import { patternCoversStream, streamOfValidSegment } from './scope.js';
import { secretKey, verifyToken, type TokenClaims } from './token.js';

/** On success, when the token expires (Infinity with auth off): a setup it allowed lasts until then. */
export type AuthResult = { ok: true; expiresAt: number } | { ok: false; message: string };

export interface Authorizer {
  readonly enabled: boolean;
  /** Checks a token for one operation on one segment. Never throws; never echoes the secret. */
  check(token: string | null | undefined, segment: string, right: Right, now?: number): AuthResult;
  /** Checks only that the token is present, genuine and unexpired (for requests that filter by it). */
  authenticate(token: string | null | undefined, now?: number): AuthResult;
  /**
   * Checks a token for an operation on the whole cluster rather than one stream (a peer node's
   * replication request, which may change any stream's data): it must cover every stream ("*").
   */
  checkCluster(token: string | null | undefined, right: Right, now?: number): AuthResult;
}

/** Verified tokens kept so a token sent with every request is verified once; bounded, LRU. */
export const VERIFIED_TOKEN_CACHE_SIZE = 512;

const ALLOW_FOREVER: AuthResult = Object.freeze({ ok: true, expiresAt: Infinity });

const DISABLED: Authorizer = Object.freeze({
  enabled: false,
  check: (): AuthResult => ALLOW_FOREVER,
  authenticate: (): AuthResult => ALLOW_FOREVER,
  checkCluster: (): AuthResult => ALLOW_FOREVER,
});

/**
 * secret null -> a disabled authorizer that allows everything. Otherwise throws if the secret is
 * shorter than 16 bytes. The secret lives only in this closure, so logging the authorizer shows
 * nothing of it.
 */
export function createAuthorizer(secret: string | Buffer | null): Authorizer {
  if (secret === null) return DISABLED;
  const key = secretKey(secret);
  const verified = new Map<string, Readonly<TokenClaims>>();

  function claimsOf(token: string): { ok: true; claims: Readonly<TokenClaims> } | { ok: false; message: string } {
    const cached = verified.get(token);
    if (cached !== undefined) {
      verified.delete(token); // re-insert: Map order is the LRU order
      verified.set(token, cached);
      return { ok: true, claims: cached };
    }
    const result = verifyToken(key, token);
    if (result.ok) {
      if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(token, result.claims);
    }
    return result;
  }

  function validClaims(
    token: string | null | undefined,
    now: number,
  ): { ok: true; claims: Readonly<TokenClaims> } | { ok: false; message: string } {
    if (token === null || token === undefined || token === '') return deny('missing auth token');
    if (typeof token !== 'string') return deny('malformed token: not a string');
    const result = claimsOf(token);
    if (!result.ok) return result;
    // Written so that a NaN `now` counts as expired: fail closed.
    if (!(now < result.claims.expiresAt)) return deny(`token expired at ${new Date(result.claims.expiresAt).toISOString()}`);
    return result;
  }

  function authenticate(token: string | null | undefined, now: number = Date.now()): AuthResult {
    try {
      const result = validClaims(token, now);
      return result.ok ? { ok: true, expiresAt: result.claims.expiresAt } : result;
    } catch {
      return deny('token check failed');
    }
  }

  function check(token: string | null | undefined, segment: string, right: Right, now: number = Date.now()): AuthResult {
    try {
      const result = validClaims(token, now);
      if (!result.ok) return result;
      const { claims } = result;
      const stream = streamOfValidSegment(segment);
      if (stream === null) return deny(`segment name ${quoteInput(String(segment), 300)} is not "scope/name/<segment>"`);
      if (!claims.streams.some((pattern) => patternCoversStream(pattern, stream))) {
        return deny(`token does not cover stream ${JSON.stringify(stream)}`);
      }
      return grants(claims, right);
    } catch {
      // Not expected; a check must never take the connection down with it.
      return deny('token check failed');
    }
  }

  function checkCluster(token: string | null | undefined, right: Right, now: number = Date.now()): AuthResult {
    try {
      const result = validClaims(token, now);
      if (!result.ok) return result;
      const { claims } = result;
      if (!claims.streams.includes('*')) return deny('token does not cover every stream ("*"), which requests between nodes need');
      return grants(claims, right);
    } catch {
      return deny('token check failed');
    }
  }

  return Object.freeze({ enabled: true, check, authenticate, checkCluster });
}

function grants(claims: Readonly<TokenClaims>, right: Right): AuthResult {
  if (!claims.rights.includes(right)) return deny(`token lacks right ${JSON.stringify(String(right).slice(0, 32))}`);
  return { ok: true, expiresAt: claims.expiresAt };
}

function deny(message: string): { ok: false; message: string } {
  return { ok: false, message };
}
