import { createHmac } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createAuthorizer, mintToken, type AuthResult } from './index.js';

const SECRET = 'a-test-secret-of-32-bytes-length';
const OTHER_SECRET = 'another-secret-also-long-enough!';
const NOW = Date.parse('2030-01-01T00:00:00Z');

function denied(result: AuthResult): string {
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.message;
}

/** A token with the given payload text, correctly signed: what a bug or a leaked secret could produce. */
function signedWithPayload(secret: string, payloadJson: string): string {
  const payload = Buffer.from(payloadJson, 'utf8').toString('base64url');
  const sig = createHmac('sha256', secret).update(`sl1.${payload}`).digest('base64url');
  return `sl1.${payload}.${sig}`;
}

describe('mintToken and Authorizer.check', () => {
  const auth = createAuthorizer(SECRET);

  it('round trips: a minted token passes for its streams and rights', () => {
    const token = mintToken(SECRET, { streams: ['shop/orders'], rights: ['read', 'write'], now: NOW });
    expect(token).toMatch(/^sl1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(auth.enabled).toBe(true);
    expect(auth.check(token, 'shop/orders/0', 'read', NOW)).toMatchObject({ ok: true });
    expect(auth.check(token, 'shop/orders/7', 'write', NOW + 1000)).toMatchObject({ ok: true });
    expect(auth.check(token, 'shop/orders/#meta', 'read', NOW)).toMatchObject({ ok: true });
  });

  it('accepts a Buffer secret equal to the string one', () => {
    const token = mintToken(Buffer.from(SECRET), { streams: ['*'], rights: ['admin'], now: NOW });
    expect(auth.check(token, 'x/y/0', 'admin', NOW)).toMatchObject({ ok: true });
    expect(createAuthorizer(Buffer.from(SECRET)).check(token, 'x/y/0', 'admin', NOW)).toMatchObject({ ok: true });
  });

  it('defaults to read and write for 24 hours', () => {
    const token = mintToken(SECRET, { streams: ['shop/*'], now: NOW });
    expect(auth.check(token, 'shop/a/0', 'read', NOW)).toMatchObject({ ok: true });
    expect(auth.check(token, 'shop/a/0', 'write', NOW)).toMatchObject({ ok: true });
    expect(denied(auth.check(token, 'shop/a/0', 'admin', NOW))).toBe('token lacks right "admin"');
    expect(auth.check(token, 'shop/a/0', 'read', NOW + 24 * 3600_000 - 1)).toMatchObject({ ok: true });
    expect(denied(auth.check(token, 'shop/a/0', 'read', NOW + 24 * 3600_000))).toMatch(/^token expired at /);
  });

  it('matches stream patterns: exact, scope/*, and *', () => {
    const exact = mintToken(SECRET, { streams: ['shop/orders'], rights: ['read'], now: NOW });
    const scoped = mintToken(SECRET, { streams: ['shop/*'], rights: ['read'], now: NOW });
    const all = mintToken(SECRET, { streams: ['*'], rights: ['read'], now: NOW });
    const several = mintToken(SECRET, { streams: ['a/b', 'c/*'], rights: ['read'], now: NOW });

    expect(auth.check(exact, 'shop/orders/1', 'read', NOW).ok).toBe(true);
    expect(denied(auth.check(exact, 'shop/orders2/1', 'read', NOW))).toBe('token does not cover stream "shop/orders2"');
    expect(denied(auth.check(exact, 'shop/order/1', 'read', NOW))).toBe('token does not cover stream "shop/order"');
    expect(denied(auth.check(exact, 'shopx/orders/1', 'read', NOW))).toBe('token does not cover stream "shopx/orders"');

    expect(auth.check(scoped, 'shop/orders/1', 'read', NOW).ok).toBe(true);
    expect(auth.check(scoped, 'shop/anything/#meta', 'read', NOW).ok).toBe(true);
    expect(denied(auth.check(scoped, 'shopping/orders/1', 'read', NOW))).toBe('token does not cover stream "shopping/orders"');
    expect(denied(auth.check(scoped, 'other/orders/1', 'read', NOW))).toBe('token does not cover stream "other/orders"');

    expect(auth.check(all, 'any/thing/0', 'read', NOW).ok).toBe(true);

    expect(auth.check(several, 'a/b/0', 'read', NOW).ok).toBe(true);
    expect(auth.check(several, 'c/d/0', 'read', NOW).ok).toBe(true);
    expect(denied(auth.check(several, 'a/c/0', 'read', NOW))).toBe('token does not cover stream "a/c"');
  });

  it('refuses segment names that are not scope/name/<segment>, even with a * token', () => {
    const all = mintToken(SECRET, { streams: ['*'], rights: ['read'], now: NOW });
    const scoped = mintToken(SECRET, { streams: ['shop/*'], rights: ['read'], now: NOW });
    for (const segment of ['', 'shop', 'shop/orders', 'shop/orders/', 'shop/a/b/0', '/orders/0', '../x/0', 'shop//0']) {
      expect(denied(auth.check(all, segment, 'read', NOW))).toMatch(/is not "scope\/name\/<segment>"/);
      expect(auth.check(scoped, segment, 'read', NOW).ok).toBe(false);
    }
  });

  it('checks each right on its own (admin does not imply write)', () => {
    const adminOnly = mintToken(SECRET, { streams: ['*'], rights: ['admin'], now: NOW });
    expect(auth.check(adminOnly, 'a/b/0', 'admin', NOW).ok).toBe(true);
    expect(denied(auth.check(adminOnly, 'a/b/0', 'write', NOW))).toBe('token lacks right "write"');
    expect(denied(auth.check(adminOnly, 'a/b/0', 'read', NOW))).toBe('token lacks right "read"');
    const readOnly = mintToken(SECRET, { streams: ['*'], rights: ['read'], now: NOW });
    expect(denied(auth.check(readOnly, 'a/b/0', 'write', NOW))).toBe('token lacks right "write"');
  });

  it('refuses an expired token with the expiry time, on every check (also when cached)', () => {
    const token = mintToken(SECRET, { streams: ['*'], rights: ['read'], ttlMs: 60_000, now: NOW });
    expect(auth.check(token, 'a/b/0', 'read', NOW).ok).toBe(true); // now cached
    expect(denied(auth.check(token, 'a/b/0', 'read', NOW + 60_000))).toBe('token expired at 2030-01-01T00:01:00.000Z');
    expect(denied(auth.check(token, 'a/b/0', 'read', NOW + 10 ** 9))).toBe('token expired at 2030-01-01T00:01:00.000Z');
    expect(denied(auth.check(token, 'a/b/0', 'read', Number.NaN))).toMatch(/^token expired/);
  });

  it('uses the current time when now is not given', () => {
    const fresh = mintToken(SECRET, { streams: ['*'], rights: ['read'], ttlMs: 60_000 });
    expect(auth.check(fresh, 'a/b/0', 'read').ok).toBe(true);
    const old = mintToken(SECRET, { streams: ['*'], rights: ['read'], ttlMs: 1, now: Date.now() - 1000 });
    expect(denied(auth.check(old, 'a/b/0', 'read'))).toMatch(/^token expired at /);
  });

  it('refuses a missing token', () => {
    expect(denied(auth.check(undefined, 'a/b/0', 'read', NOW))).toBe('missing auth token');
    expect(denied(auth.check(null, 'a/b/0', 'read', NOW))).toBe('missing auth token');
    expect(denied(auth.check('', 'a/b/0', 'read', NOW))).toBe('missing auth token');
  });
});

describe('forged tokens', () => {
  const auth = createAuthorizer(SECRET);
  const token = mintToken(SECRET, { streams: ['shop/orders'], rights: ['read'], now: NOW });
  const [prefix, payload, signature] = token.split('.') as [string, string, string];

  it('refuses a token signed with another secret', () => {
    const other = mintToken(OTHER_SECRET, { streams: ['shop/orders'], rights: ['read'], now: NOW });
    expect(denied(auth.check(other, 'shop/orders/0', 'read', NOW))).toMatch(/^bad token signature/);
  });

  it('refuses a token whose payload was changed (wider scope, more rights, later expiry)', () => {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    for (const changed of [
      { ...claims, streams: ['*'] },
      { ...claims, rights: ['read', 'write', 'admin'] },
      { ...claims, expiresAt: claims.expiresAt + 1 },
    ]) {
      const forged = `${prefix}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`;
      expect(denied(auth.check(forged, 'shop/orders/0', 'read', NOW))).toMatch(/^bad token signature/);
    }
  });

  it('refuses a token whose signature was changed, in any character', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < signature.length; i++) {
      const replacement = alphabet[(alphabet.indexOf(signature[i]!) + 1) % 64]!;
      const forged = `${prefix}.${payload}.${signature.slice(0, i)}${replacement}${signature.slice(i + 1)}`;
      const result = auth.check(forged, 'shop/orders/0', 'read', NOW);
      // The last character carries 2 unused bits; a change there may decode to the same bytes.
      if (i < signature.length - 1) expect(denied(result)).toMatch(/^bad token signature/);
      else expect(result.ok === true || /^bad token signature/.test(denied(result))).toBe(true);
    }
  });

  it('refuses a token whose payload changed in one character (fuzzed)', () => {
    fc.assert(
      fc.property(fc.nat({ max: payload.length - 2 }), fc.constantFrom(...'ABCxyz019-_'), (at, c) => {
        fc.pre(payload[at] !== c);
        const forged = `${prefix}.${payload.slice(0, at)}${c}${payload.slice(at + 1)}.${signature}`;
        expect(auth.check(forged, 'shop/orders/0', 'read', NOW).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('a verified token does not pass for an authorizer with another secret (no shared cache)', () => {
    expect(auth.check(token, 'shop/orders/0', 'read', NOW).ok).toBe(true);
    expect(denied(createAuthorizer(OTHER_SECRET).check(token, 'shop/orders/0', 'read', NOW))).toMatch(/^bad token signature/);
  });

  it('refuses a signed payload that is not well-formed claims', () => {
    const cases = [
      'not json',
      '[]',
      'null',
      '"x"',
      '{}',
      '{"streams":["*"],"rights":["read"]}',
      '{"streams":["*"],"rights":["read"],"expiresAt":4102444800000,"extra":1}',
      '{"streams":[],"rights":["read"],"expiresAt":4102444800000}',
      '{"streams":"*","rights":["read"],"expiresAt":4102444800000}',
      '{"streams":[1],"rights":["read"],"expiresAt":4102444800000}',
      '{"streams":["a/b/c"],"rights":["read"],"expiresAt":4102444800000}',
      '{"streams":["*"],"rights":[],"expiresAt":4102444800000}',
      '{"streams":["*"],"rights":["read","read"],"expiresAt":4102444800000}',
      '{"streams":["*"],"rights":["root"],"expiresAt":4102444800000}',
      '{"streams":["*"],"rights":"rw","expiresAt":4102444800000}',
      '{"streams":["*"],"rights":["read"],"expiresAt":"4102444800000"}',
      '{"streams":["*"],"rights":["read"],"expiresAt":1.5}',
      '{"streams":["*"],"rights":["read"],"expiresAt":-1}',
      '{"streams":["*"],"rights":["read"],"expiresAt":1e300}',
    ];
    for (const json of cases) {
      expect(denied(auth.check(signedWithPayload(SECRET, json), 'a/b/0', 'read', NOW))).toMatch(/^malformed token: /);
    }
    // The helper itself makes valid tokens.
    const good = '{"streams":["*"],"rights":["read"],"expiresAt":4102444800000}';
    expect(auth.check(signedWithPayload(SECRET, good), 'a/b/0', 'read', NOW)).toMatchObject({ ok: true });
  });
});

describe('malformed tokens never throw', () => {
  const auth = createAuthorizer(SECRET);
  const valid = mintToken(SECRET, { streams: ['*'], rights: ['read'], now: NOW });

  it('refuses fixed garbage with "malformed token"', () => {
    const sig43 = 'A'.repeat(43);
    for (const token of [
      'garbage',
      '.',
      '..',
      '...',
      'sl1',
      'sl1.',
      'sl1..',
      `sl1..${sig43}`,
      `sl1.abc`,
      `sl1.abc.${sig43}.extra`,
      `sl2.abc.${sig43}`,
      `SL1.abc.${sig43}`,
      `sl1.ab c.${sig43}`,
      `sl1.abc=.${sig43}`,
      `sl1.abc.${sig43}=`,
      `sl1.abc.${'A'.repeat(42)}`,
      `sl1.abc.${'A'.repeat(44)}`,
      `sl1.abc.${'A'.repeat(42)}+`,
      `${valid} `,
      ` ${valid}`,
      `${valid}\n`,
      'x'.repeat(10_000_000),
      `sl1.${'A'.repeat(100_000)}.${sig43}`,
      '\u0000',
      'sl1.\u00e9\u00e9.' + sig43,
    ]) {
      const message = denied(auth.check(token, 'a/b/0', 'read', NOW));
      expect(message).toMatch(/^malformed token: /);
      expect(message.length).toBeLessThan(200);
    }
  });

  it('refuses values that are not strings (from a careless caller) without throwing', () => {
    for (const token of [42, {}, [], Symbol('t'), true, Buffer.from(valid)]) {
      expect(auth.check(token as unknown as string, 'a/b/0', 'read', NOW).ok).toBe(false);
    }
    expect(auth.check(valid, 42 as unknown as string, 'read', NOW).ok).toBe(false);
    expect(auth.check(valid, 'a/b/0', 'execute' as unknown as 'read', NOW).ok).toBe(false);
    expect(auth.check(valid, 'a/b/0', Symbol('r') as unknown as 'read', NOW).ok).toBe(false);
  });

  it('property: any string, or any mutation of a valid token, yields a result and never throws', () => {
    const mutated = fc
      .tuple(fc.nat({ max: valid.length }), fc.nat({ max: 5 }), fc.string({ maxLength: 8 }))
      .map(([at, drop, insert]) => valid.slice(0, at) + insert + valid.slice(at + drop));
    const dotted = fc
      .array(fc.oneof(fc.string(), fc.base64String(), fc.constant('sl1')), { maxLength: 5 })
      .map((parts) => parts.join('.'));
    const signed = fc.jsonValue().map((value) => signedWithPayload(SECRET, JSON.stringify(value) ?? 'null'));
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String(), mutated, dotted, signed),
        fc.string(),
        fc.constantFrom('read', 'write', 'admin'),
        fc.oneof(fc.integer(), fc.double()),
        (token, segment, right, now) => {
          const result = auth.check(token, segment, right, now);
          expect(typeof result.ok).toBe('boolean');
          if (!result.ok) {
            expect(typeof result.message).toBe('string');
            expect(result.message).not.toContain(SECRET);
          }
          if (token !== valid && result.ok) {
            // Only a valid signature can pass: a mutation that still passes decodes to the same bytes.
            expect(token.startsWith('sl1.')).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('messages never contain the secret or the token', () => {
    const token = mintToken(SECRET, { streams: ['shop/orders'], rights: ['read'], ttlMs: 1000, now: NOW });
    const results = [
      auth.check(token, 'shop/orders/0', 'admin', NOW),
      auth.check(token, 'other/orders/0', 'read', NOW),
      auth.check(token, 'shop/orders/0', 'read', NOW + 5000),
      auth.check(token + 'x', 'shop/orders/0', 'read', NOW),
      auth.check(token.replace('sl1.', 'sl1.A'), 'shop/orders/0', 'read', NOW),
      createAuthorizer(OTHER_SECRET).check(token, 'shop/orders/0', 'read', NOW),
    ];
    for (const result of results) {
      const message = denied(result);
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain(OTHER_SECRET);
      expect(message).not.toContain(token.split('.')[1]);
      expect(message).not.toContain(token.split('.')[2]);
    }
  });
});

describe('the verified-token cache', () => {
  it('stays correct past its bound: many tokens, each still checked', () => {
    const auth = createAuthorizer(SECRET);
    const tokens = Array.from({ length: 1500 }, (_, i) =>
      mintToken(SECRET, { streams: [`s${i}/x`], rights: ['read'], now: NOW }),
    );
    for (const [i, token] of tokens.entries()) {
      expect(auth.check(token, `s${i}/x/0`, 'read', NOW).ok).toBe(true);
      expect(auth.check(token, `s${i + 1}/x/0`, 'read', NOW).ok).toBe(false);
    }
    // Evicted ones verify again.
    expect(auth.check(tokens[0], 's0/x/0', 'read', NOW).ok).toBe(true);
  });
});

describe('mintToken validation', () => {
  it('refuses short or missing secrets', () => {
    expect(() => mintToken('short', { streams: ['*'] })).toThrow(/auth secret is 5 bytes; it must be at least 16/);
    expect(() => mintToken('', { streams: ['*'] })).toThrow(/at least 16/);
    expect(() => mintToken(Buffer.alloc(15), { streams: ['*'] })).toThrow(/at least 16/);
    expect(() => mintToken(null as unknown as string, { streams: ['*'] })).toThrow(/string or a Buffer/);
  });

  it('refuses bad options with a message naming the option', () => {
    expect(() => mintToken(SECRET, { streams: [] })).toThrow(/"streams"/);
    expect(() => mintToken(SECRET, { streams: ['shop'] })).toThrow(/"streams".*"shop"/);
    expect(() => mintToken(SECRET, { streams: ['shop/orders/0'] })).toThrow(/"streams"/);
    expect(() => mintToken(SECRET, { streams: ['*/*'] })).toThrow(/"streams"/);
    expect(() => mintToken(SECRET, { streams: ['shop/ord*'] })).toThrow(/"streams"/);
    expect(() => mintToken(SECRET, { streams: ['/*'] })).toThrow(/"streams"/);
    expect(() => mintToken(SECRET, { streams: ['*'], rights: [] })).toThrow(/"rights"/);
    expect(() => mintToken(SECRET, { streams: ['*'], rights: ['root' as 'read'] })).toThrow(/"rights".*root/);
    expect(() => mintToken(SECRET, { streams: ['*'], ttlMs: 0 })).toThrow(/"ttlMs"/);
    expect(() => mintToken(SECRET, { streams: ['*'], ttlMs: -5 })).toThrow(/"ttlMs"/);
    expect(() => mintToken(SECRET, { streams: ['*'], ttlMs: 1.5 })).toThrow(/"ttlMs"/);
    expect(() => mintToken(SECRET, { streams: ['*'], ttlMs: Number.MAX_SAFE_INTEGER })).toThrow(/"ttlMs" is too long/);
    expect(() => mintToken(SECRET, { streams: ['*'], now: Number.NaN })).toThrow(/"now"/);
    expect(() => mintToken(SECRET, { streams: Array.from({ length: 100 }, (_, i) => `scope${i}/${'n'.repeat(100)}`) })).toThrow(
      /over the limit/,
    );
  });

  it('writes canonical claims (rights in order, no duplicates)', () => {
    const token = mintToken(SECRET, { streams: ['a/b', 'a/b'], rights: ['admin', 'read', 'admin'], now: NOW, ttlMs: 1000 });
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toEqual({ streams: ['a/b'], rights: ['read', 'admin'], expiresAt: NOW + 1000 });
  });
});

describe('disabled authorizer', () => {
  it('allows everything', () => {
    const auth = createAuthorizer(null);
    expect(auth.enabled).toBe(false);
    expect(auth.check(undefined, 'a/b/0', 'admin')).toMatchObject({ ok: true });
    expect(auth.check('garbage', 'anything', 'write', 0)).toMatchObject({ ok: true });
  });

  it('an enabled authorizer refuses a short secret, and never shows its secret', () => {
    expect(() => createAuthorizer('')).toThrow(/at least 16/);
    expect(() => createAuthorizer('0123456789abcde')).toThrow(/15 bytes/);
    const auth = createAuthorizer(SECRET);
    expect(JSON.stringify(auth)).not.toContain(SECRET);
    expect(Object.values(auth).some((value) => String(value).includes(SECRET))).toBe(false);
  });
});
