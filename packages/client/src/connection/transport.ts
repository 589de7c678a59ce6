import net from 'node:net';
import tls from 'node:tls';
import { ConnectFailedError } from '../errors.js';

/** The byte pipe a Connection runs over: a TCP or TLS socket. Tests may pass any Duplex-like socket. */
export type Transport = net.Socket;

export interface TransportOptions {
  tls?: tls.ConnectionOptions | undefined;
  connectTimeoutMs: number;
}

export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(endpoint.slice(colon + 1));
  if (colon <= 0 || !host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`endpoint "${endpoint}" must be "host:port" with a port from 1 to 65535`);
  }
  return { host, port };
}

/** Opens a socket to endpoint and resolves once it is connected (and, with TLS, handshaken). */
export function connectTransport(endpoint: string, options: TransportOptions): Promise<Transport> {
  const { host, port } = parseEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    const socket = options.tls
      ? tls.connect({ servername: net.isIP(host) ? undefined : host, ...options.tls, host, port })
      : net.connect({ host, port });
    const readyEvent = options.tls ? 'secureConnect' : 'connect';
    const fail = (reason: string, cause?: unknown): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ConnectFailedError(endpoint, reason, { cause }));
    };
    const timer = setTimeout(() => fail(`no connection within ${options.connectTimeoutMs} ms`), options.connectTimeoutMs);
    socket.once('error', (error) => fail(error.message, error));
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
