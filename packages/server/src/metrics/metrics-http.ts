import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface Health {
  /**
   * 'ok' while serving; 'stopping' once shutdown began; 'failing' while containers cannot write their
   * logs (disk full): the last two are answered with 503 so balancers and operators notice.
   */
  status: 'ok' | 'stopping' | 'failing';
  [field: string]: unknown;
}

export interface MetricsHttpOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  health: () => Health;
}

export interface MetricsHttpServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The node's HTTP side: `GET /metrics` (Prometheus text format from the node's registry) and
 * `GET /health` (JSON; 200 while serving, 503 while stopping). Nothing else is served. Rejects with
 * a message naming --metrics-port when the port cannot be bound.
 */
export async function startMetricsHttp(options: MetricsHttpOptions, logger: Logger): Promise<MetricsHttpServer> {
  const server = http.createServer((request, response) => {
    serve(request, response, options).catch((error: unknown) => {
      logger.error({ err: error, url: request.url }, 'metrics request failed');
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('internal error\n');
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  const port = await new Promise<number>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const why = error.code === 'EADDRINUSE' ? 'the address is in use' : error.message;
      reject(new Error(`--metrics-port: cannot listen on ${options.host}:${options.port}: ${why}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
  server.on('error', (error) => logger.error({ err: error }, 'metrics server error'));
  let closing: Promise<void> | null = null;
  return {
    host: options.host,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // scrapers keep connections alive; they must not hold the exit up
      })),
  };
}

async function serve(request: http.IncomingMessage, response: http.ServerResponse, options: MetricsHttpOptions): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/health') {
    send(response, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /health\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  if (path === '/metrics') {
    send(response, 200, options.registry.contentType, await options.registry.metrics());
    return;
  }
  const health = options.health();
  send(response, health.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(health)}\n`);
}

function send(response: http.ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
