import net, { type Socket } from 'node:net';
import tls from 'node:tls';

import { CONNECTION_FLOW_ID, encodeFrame, type ErrorCode } from '@sluice/protocol';
import type { Logger } from 'pino';

import { errorMessage } from './error-replies.js';
import { Connection, type ConnectionServices } from './connection.js';
import { createTlsGate } from './tls-gate.js';

export interface ListenerOptions {
  host: string;
  port: number;
  /** PEM certificate and key: serve TLS instead of plain TCP. */
  tls: { cert: Buffer; key: Buffer } | null;
  maxConnections: number;
  /** Also the TLS handshake timeout: a peer that does not get to Hello in time is dropped. */
  helloTimeoutMs: number;
}

/**
 * Accepts connections (TCP or TLS) and keeps the set of live ones, so a shutdown can stop
 * accepting, drain every connection and close what is left. Connections over the maximum are
 * told so (ErrorMessage TOO_MANY_CONNECTIONS on flowId 0) and closed at once.
 */
export class Listener {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private services: ConnectionServices | null = null;
  private nextId = 1;

  constructor(
    private readonly options: ListenerOptions,
    private readonly logger: Logger,
  ) {
    if (options.tls !== null) {
      const tlsServer = tls.createServer({ ...options.tls, handshakeTimeout: options.helloTimeoutMs });
      tlsServer.on('secureConnection', (socket) => this.onSocket(socket));
      tlsServer.on('tlsClientError', (error) => logger.debug({ err: error }, 'TLS handshake failed'));
      this.server = createTlsGate(tlsServer, {
        firstByteTimeoutMs: options.helloTimeoutMs,
        onPlaintext: (socket) =>
          this.refuse(
            socket,
            'TLS_REQUIRED',
            "this node serves TLS only; set the client's `tls` option (e.g. { ca: <PEM of the CA that signed the node's certificate> })",
          ),
      });
    } else {
      this.server = net.createServer((socket) => this.onSocket(socket));
    }
    this.server.on('error', (error) => logger.error({ err: error }, 'listener error'));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Writers set up (SetupAppend per segment and writer id) over the live connections. */
  get writerCount(): number {
    let writers = 0;
    for (const connection of this.connections) writers += connection.writerCount;
    return writers;
  }

  /** Binds; connections are served once start() gives the services (until then they are refused). */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const why = error.code === 'EADDRINUSE' ? 'the address is in use' : error.message;
        reject(new Error(`cannot listen on ${this.options.host}:${this.options.port}: ${why}`, { cause: error }));
      };
      this.server.once('error', onError);
      this.server.listen({ host: this.options.host, port: this.options.port }, () => {
        this.server.off('error', onError);
        const address = this.server.address() as net.AddressInfo;
        resolve({ host: this.options.host, port: address.port });
      });
    });
  }

  start(services: ConnectionServices): void {
    this.services = services;
  }

  /** Stops accepting; live connections carry on until drained or closed. */
  stopAccepting(): void {
    this.server.close();
  }

  /**
   * Every connection stops taking requests and finishes those in flight, up to timeoutMs; then all
   * are closed (their last replies flushed). Resolves with the requests that were still pending.
   */
  async drainAndClose(timeoutMs: number): Promise<number> {
    const drained = Promise.all([...this.connections].map((connection) => connection.drain()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    let pending = 0;
    for (const connection of this.connections) {
      pending += connection.pendingRequests;
      connection.close('node shutting down');
    }
    await Promise.race([
      Promise.all([...this.connections].map((connection) => connection.closed)),
      new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
    ]);
    return pending;
  }

  private onSocket(socket: Socket): void {
    socket.on('error', () => {}); // a reset before the connection is set up is not our problem
    if (this.services === null || this.connections.size >= this.options.maxConnections) {
      const [code, message]: [ErrorCode, string] =
        this.services === null
          ? ['NODE_STARTING', 'the node is starting; try again']
          : ['TOO_MANY_CONNECTIONS', `the node has its maximum of ${this.options.maxConnections} connections; try again later or use fewer`];
      this.refuse(socket, code, message);
      return;
    }
    const connection = new Connection(socket, this.services, this.nextId++);
    this.connections.add(connection);
    void connection.closed.then(() => this.connections.delete(connection));
  }

  /** Tells the peer why (ErrorMessage on flowId 0, the request id of its Hello) and closes. */
  private refuse(socket: Socket, code: ErrorCode, message: string): void {
    this.services?.counts.error(code);
    this.logger.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}` }, `connection refused: ${message}`);
    socket.end(encodeFrame(CONNECTION_FLOW_ID, 0, errorMessage(code, message)));
    setTimeout(() => socket.destroy(), 1_000).unref();
  }
}
