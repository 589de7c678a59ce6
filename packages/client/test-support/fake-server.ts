import net from 'node:net';
import {
  CONNECTION_FLOW_ID,
  decodeFrameBody,
  encodeFrame,
  FrameDecoder,
  LOCAL_VERSION_RANGE,
  type Command,
  type DecodedFrame,
} from '@sluice/protocol';

/** One accepted socket of the fake server. */
export class FakeConnection {
  readonly requests: DecodedFrame[] = [];

  constructor(readonly socket: net.Socket) {}

  reply(request: DecodedFrame, command: Command): void {
    this.sendRaw(encodeFrame(request.flowId, request.sequence, command));
  }

  sendRaw(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }
}

export type RequestHandler = (request: DecodedFrame, connection: FakeConnection) => void;

/**
 * A scriptable server over a real loopback socket, for client tests that need replies the real
 * server would never send (shuffled, held back, for unknown flows) or a peer that goes silent.
 * It answers Hello, KeepAlive and GetClusterMap itself unless told otherwise.
 */
export class FakeServer {
  readonly connections: FakeConnection[] = [];
  handler: RequestHandler = (request, connection) => connection.reply(request, segmentInfoFor(request.command));
  /** When true, connection traffic (KeepAlive) is ignored: a peer that stopped answering. */
  silent = false;
  keepAlivesSeen = 0;

  private constructor(private readonly server: net.Server) {}

  static async start(): Promise<FakeServer> {
    const server = net.createServer();
    const fake = new FakeServer(server);
    server.on('connection', (socket) => fake.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get endpoint(): string {
    const address = this.server.address() as net.AddressInfo;
    return `127.0.0.1:${address.port}`;
  }

  get openConnections(): FakeConnection[] {
    return this.connections.filter((connection) => !connection.socket.destroyed);
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const connection = new FakeConnection(socket);
    this.connections.push(connection);
    const decoder = new FrameDecoder();
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (raw) => {
        const request = decodeFrameBody(raw);
        connection.requests.push(request);
        if (request.flowId === CONNECTION_FLOW_ID) this.answerConnectionTraffic(request, connection);
        else this.handler(request, connection);
      });
    });
  }

  private answerConnectionTraffic(request: DecodedFrame, connection: FakeConnection): void {
    const { command } = request;
    if (command.type === 'KeepAlive') this.keepAlivesSeen += 1;
    if (this.silent) return;
    if (command.type === 'Hello') {
      connection.reply(request, { type: 'Hello', ...LOCAL_VERSION_RANGE, clusterFingerprint: null, node: this.endpoint });
    } else if (command.type === 'KeepAlive') {
      connection.reply(request, { type: 'KeepAlive' });
    } else if (command.type === 'GetClusterMap') {
      const primaries = Array.from({ length: 4 }, () => this.endpoint);
      connection.reply(request, { type: 'ClusterMap', members: [this.endpoint], containerCount: 4, fingerprint: 'fake', epoch: 0, primaries, backups: primaries.map(() => []) });
    }
  }
}

/** The default answer: a SegmentInfo echoing the segment, so tests can tell replies apart. */
export function segmentInfoFor(command: Command): Command {
  const segment = 'segment' in command && typeof command.segment === 'string' ? command.segment : '';
  return { type: 'SegmentInfo', segment, startOffset: 0, length: 0, sealed: false };
}
