/** Minting and verifying tokens; the format is described in index.ts. */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { canonicalRights, isRight, type Right } from './rights.js';
import { streamPatternProblem } from './scope.js';

export interface TokenClaims {
  streams: string[];
  rights: Right[];
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export interface MintOptions {
  streams: string[];
  /** Default: read and write. */
  rights?: Right[];
  /** Default: 24 hours. */
  ttlMs?: number;
  /** Default: Date.now(). */
  now?: number;
}

export const TOKEN_PREFIX = 'sl1';
export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_RIGHTS: readonly Right[] = Object.freeze(['read', 'write'] as const);
/** Longer tokens are refused unread, which bounds the work (and cache memory) a peer can cause. */
export const MAX_TOKEN_CHARS = 8192;
export const MIN_SECRET_BYTES = 16;

const SIGNATURE_BYTES = 32;
const SIGNATURE_CHARS = 43; // base64url of 32 bytes, unpadded
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** The largest time a JS Date can represent; later expiries could not be shown in a message. */
const MAX_DATE_MS = 8.64e15;

/** The key as bytes, copied so a caller changing its Buffer later cannot change ours. */
export function secretKey(secret: string | Buffer): Buffer {
  if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) {
    throw new Error('auth secret must be a string or a Buffer');
  }
  const key = Buffer.from(secret);
  if (key.length < MIN_SECRET_BYTES) {
    throw new Error(
      `auth secret is ${key.length} bytes; it must be at least ${MIN_SECRET_BYTES} (e.g. generate one with: openssl rand -base64 32)`,
    );
  }
  return key;
}

export function mintToken(secret: string | Buffer, options: MintOptions): string {
  const key = secretKey(secret);
  const claims = claimsToMint(options);
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  const token = `${TOKEN_PREFIX}.${payload}.${sign(key, payload).toString('base64url')}`;
  if (token.length > MAX_TOKEN_CHARS) {
    throw new Error(`token would be ${token.length} characters, over the limit of ${MAX_TOKEN_CHARS}; name fewer streams`);
  }
  return token;
}

function claimsToMint(options: MintOptions): TokenClaims {
  if (options === null || typeof options !== 'object') throw new Error('mintToken needs options { streams, rights?, ttlMs?, now? }');
  const { streams, rights = DEFAULT_RIGHTS, ttlMs = DEFAULT_TTL_MS, now = Date.now() } = options;
  if (!Array.isArray(streams) || streams.length === 0) {
    throw new Error('option "streams" must name at least one stream pattern: "*", "scope/*" or "scope/name"');
  }
  for (const pattern of streams) {
    const problem = streamPatternProblem(pattern);
    if (problem !== null) throw new Error(`option "streams": ${problem}`);
  }
  if (!Array.isArray(rights) || rights.length === 0) {
    throw new Error('option "rights" must hold at least one of read, write, admin');
  }
  for (const right of rights) {
    if (!isRight(right)) throw new Error(`option "rights": unknown right ${JSON.stringify(String(right)).slice(0, 70)}; the rights are read, write, admin`);
  }
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new Error(`option "ttlMs" must be a positive whole number of milliseconds; got ${ttlMs}`);
  if (!Number.isSafeInteger(now) || now < 0) throw new Error(`option "now" must be a whole number of milliseconds since the epoch; got ${now}`);
  const expiresAt = now + ttlMs;
  if (expiresAt > MAX_DATE_MS) throw new Error(`option "ttlMs" is too long: the token would expire after the year 275760`);
  return { streams: [...new Set(streams)], rights: canonicalRights(rights), expiresAt };
}

function sign(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(`${TOKEN_PREFIX}.${payload}`).digest();
}

export type VerifyResult = { ok: true; claims: Readonly<TokenClaims> } | { ok: false; message: string };

/**
 * Checks a token's shape and signature and returns its claims; expiry, scope and rights are the
 * caller's to check. Never throws; messages never contain the token or the key.
 */
export function verifyToken(key: Buffer, token: string): VerifyResult {
  if (token.length > MAX_TOKEN_CHARS) return malformed(`longer than ${MAX_TOKEN_CHARS} characters`);
  const parts = token.split('.');
  if (parts.length !== 3) return malformed(`expected 3 dot-separated parts, found ${parts.length}`);
  const [prefix, payload, signature] = parts as [string, string, string];
  if (prefix !== TOKEN_PREFIX) return malformed(`unknown format; expected a token starting with "${TOKEN_PREFIX}."`);
  if (!BASE64URL.test(payload)) return malformed('payload is not base64url');
  if (signature.length !== SIGNATURE_CHARS || !BASE64URL.test(signature)) return malformed('signature is not 32 bytes of base64url');
  const given = Buffer.from(signature, 'base64url');
  const expected = sign(key, payload);
  if (given.length !== SIGNATURE_BYTES || !timingSafeEqual(given, expected)) {
    return { ok: false, message: 'bad token signature (forged, altered, or signed with another secret)' };
  }
  // Signed by us, so the payload was written by mintToken; still parsed strictly (key rotation, bugs).
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return malformed('payload is not JSON');
  }
  const problem = claimsProblem(parsed);
  if (problem !== null) return malformed(problem);
  const claims = parsed as TokenClaims;
  return {
    ok: true,
    claims: Object.freeze({ streams: Object.freeze([...claims.streams]), rights: Object.freeze([...claims.rights]), expiresAt: claims.expiresAt }) as Readonly<TokenClaims>,
  };
}

function claimsProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'payload is not a JSON object';
  const keys = Object.keys(value).sort();
  if (keys.length !== 3 || keys[0] !== 'expiresAt' || keys[1] !== 'rights' || keys[2] !== 'streams') {
    return 'payload must have exactly the keys streams, rights, expiresAt';
  }
  const { streams, rights, expiresAt } = value as Record<string, unknown>;
  if (!Array.isArray(streams) || streams.length === 0) return 'streams must be a non-empty array';
  if (streams.some((pattern) => streamPatternProblem(pattern) !== null)) return 'streams holds an invalid stream pattern';
  if (!Array.isArray(rights) || rights.length === 0) return 'rights must be a non-empty array';
  if (!rights.every(isRight) || new Set(rights).size !== rights.length) return 'rights must be distinct values of read, write, admin';
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0 || expiresAt > MAX_DATE_MS) {
    return 'expiresAt must be a whole number of milliseconds since the epoch';
  }
  return null;
}

function malformed(why: string): { ok: false; message: string } {
  return { ok: false, message: `malformed token: ${why}` };
}
