import { encodeHeaders, MAX_HEADER_NAME_BYTES, MAX_HEADERS_BYTES, utf8Length, type EventHeaders } from '@sluice/protocol';
import { HeadersTooLargeError, InvalidOptionError } from '../errors.js';
import type { TraceContextSource } from './trace-context.js';

/** The options of one `writer.write(routingKey, data, options)`. */
export interface WriteOptions {
  /** String names (1..255 UTF-8 bytes) and values, at most 16 KiB encoded; readers see them as `event.headers`. */
  headers?: EventHeaders;
}

/**
 * The encoded headers of one write (null for none): the caller's, plus the active span's trace context
 * when the writer propagates it and the caller did not set traceparent. Throws InvalidOptionError or
 * HeadersTooLargeError, naming what to change.
 */
export function writeHeaders(options: WriteOptions | undefined, traceContext: TraceContextSource | null): Uint8Array | null {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionError('options', "write options must be an object, e.g. { headers: { 'content-type': 'application/json' } }");
  }
  let headers = options?.headers;
  if (headers !== undefined) checkHeaders(headers);
  if (traceContext !== null && headers?.traceparent === undefined) {
    const trace = traceContext();
    if (trace !== null) headers = { ...headers, ...trace };
  }
  if (headers === undefined) return null;
  const encoded = encodeHeaders(headers);
  if (encoded !== null && encoded.byteLength > MAX_HEADERS_BYTES) throw new HeadersTooLargeError(encoded.byteLength, MAX_HEADERS_BYTES);
  return encoded;
}

function checkHeaders(headers: unknown): asserts headers is EventHeaders {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new InvalidOptionError('headers', "must be an object of string values, e.g. { traceparent: '00-…-01' }");
  }
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new InvalidOptionError('headers', `header ${JSON.stringify(name)} must be a string, got ${typeof value}`);
    if (name.length === 0) throw new InvalidOptionError('headers', 'a header name must not be empty');
    const nameBytes = utf8Length(name);
    if (nameBytes > MAX_HEADER_NAME_BYTES) {
      throw new HeadersTooLargeError(nameBytes, MAX_HEADER_NAME_BYTES, name);
    }
  }
}
