import net from 'node:net';
import tls from 'node:tls';
import { parseAddress, type NodeAddress } from '@sluice/protocol';
import { ConnectFailedError } from '../errors.js';

/** The byte pipe a Connection runs over: a TCP or TLS socket. Tests may pass any Duplex-like socket. */
export type Transport = net.Socket;

export interface TransportOptions {
  tls?: tls.ConnectionOptions | undefined;
  connectTimeoutMs: number;
}

export function parseEndpoint(endpoint: string): NodeAddress {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(endpoint)?.[1];
  if (scheme !== undefined || endpoint.includes('/')) {
    const drop = scheme !== undefined ? `: drop "${scheme}://"` : '';
    throw new Error(`endpoint "${endpoint}" must be "host:port", without a scheme or a path${drop}`);
  }
  const address = parseAddress(endpoint);
  if (typeof address === 'string') throw new Error(`endpoint ${address}: it must be "host:port" with a port from 1 to 65535`);
  return address;
}

/**
 * Where a socket's reads land and who is told (net.Socket's `onread`): target() is asked for the
 * memory of each next read, received(n) told how many bytes arrived there. The socket then emits no
 * 'data' events. received returning false stops reading.
 */
export interface ReadSink {
  target(): Buffer;
  received(bytes: number): boolean;
}

/** Opens a socket to endpoint and resolves once it is connected (and, with TLS, handshaken). */
export function connectTransport(endpoint: string, options: TransportOptions, sink: ReadSink): Promise<Transport> {
  const { host, port } = parseEndpoint(endpoint);
  const onread: net.OnReadOpts = { buffer: () => sink.target(), callback: (bytes) => sink.received(bytes) };
  return new Promise((resolve, reject) => {
    // tls.connect takes onread too (Node's docs), its option types do not list it.
    const socket = options.tls
      ? tls.connect({ servername: net.isIP(host) ? undefined : host, ...options.tls, host, port, onread } as tls.ConnectionOptions)
      : net.connect({ host, port, onread });
    const readyEvent = options.tls ? 'secureConnect' : 'connect';
    const fail = (reason: string, cause?: unknown): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ConnectFailedError(endpoint, reason, { cause }));
    };
    const timer = setTimeout(() => fail(`no connection within ${options.connectTimeoutMs} ms`), options.connectTimeoutMs);
    socket.once('error', (error) => fail(options.tls ? tlsFailureReason(error) : error.message, error));
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** Certificate checks that fail because the client does not trust the CA that signed the node's certificate. */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * What went wrong in a TLS connect, and what to change. Reasons start with "TLS" (ConnectFailedError
 * then leaves out its "is a server listening?" hint: one is, but the handshake failed).
 */
export function tlsFailureReason(error: Error & { code?: string }): string {
  const { code = '', message } = error;
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    return `TLS: the node's certificate is not signed by a CA this client trusts (${message}); pass the PEM of the CA that signed it as the client's tls.ca option`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `TLS: the node's certificate is not for this host name (${message}); connect with a name the certificate lists, or set tls.servername to one`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return `TLS: the node's certificate is outside its validity period (${message}); renew the certificate the node is started with (--tls-cert)`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(message)) {
    return "TLS: the node did not answer in TLS; it probably runs without --tls-cert/--tls-key: remove the client's `tls` option or start the node with TLS";
  }
  return `TLS handshake failed: ${message}`;
}
