/**
 * Signed auth tokens. A node started with an auth secret requires, on every segment or stream
 * operation, a token that covers the segment's stream and holds the right the command needs
 * (its entry in @sluice/protocol's command table); a disabled authorizer (no secret) allows everything.
 *
 * Token format, version 1:
 *
 *     sl1.<payload>.<signature>
 *
 * - payload: base64url (no padding) of the UTF-8 JSON object
 *   `{"streams":[...],"rights":[...],"expiresAt":<ms since epoch>}`, exactly these three keys:
 *   - streams: a non-empty array of stream patterns, each '*' (every stream), 'scope/*' (every
 *     stream of that scope) or an exact 'scope/name';
 *   - rights: a non-empty array of distinct 'read' | 'write' | 'admin'. They are independent:
 *     admin does not imply write, nor write read;
 *   - expiresAt: an integer, milliseconds since the Unix epoch; the token is refused from then on.
 * - signature: base64url (no padding, 43 characters) of HMAC-SHA256(secret, 'sl1.' + payload).
 *
 * Secrets are at least 16 bytes. Verification compares the signature in constant time before the
 * payload is parsed; a token of any other shape, or longer than 8192 characters, is "malformed".
 * A different format would get a different prefix ('sl2.'). Tokens are bearer credentials: anyone
 * holding one has its rights until it expires, so keep TTLs short and send tokens over TLS.
 * Failure messages say what was wrong but never contain the secret or the token.
 */
export { parseRights, type Right } from './rights.js';
export { parseDuration } from './duration.js';
export { streamOfSegment } from './scope.js';
export { mintToken, type MintOptions, type TokenClaims } from './token.js';
export { createAuthorizer, type AuthResult, type Authorizer } from './authorizer.js';
export { readSecretFile } from './secret-file.js';
