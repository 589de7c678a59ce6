import {
  CONNECTION_FLOW_ID,
  decodeFrameCommand,
  encodeFrame,
  entryByName,
  FrameReceiver,
  LOCAL_VERSION_RANGE,
  negotiateVersion,
  nextSequence,
  ProtocolError,
  type BufferPool,
  type Command,
  type CommandOf,
  type RawFrame,
} from '@sluice/protocol';
import { ConnectionLostError, ProtocolViolationError, ServerError, type SluiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { EndpointCounters } from './counters.js';
import { FrameWriter } from './frame-writer.js';
import { PendingRequests } from './pending-requests.js';
import { connectTransport, type ReadSink, type Transport, type TransportOptions } from './transport.js';

/** What a connection needs from each flow placed on it. */
export interface FlowEndpoint {
  readonly flowId: number;
  /**
   * A frame for this flow. Its bytes may be the connection's reused read buffer: decode it here and
   * keep only the decoded command (a command with bytes fields gets a frame of its own; FrameReceiver).
   */
  onFrame(frame: RawFrame, connection: Connection): void;
  connectionLost(error: ConnectionLostError): void;
}

export interface ConnectionSettings {
  transport: TransportOptions;
  requestTimeoutMs: number;
  /** Send a KeepAlive after this long without receiving anything. */
  keepAliveIntervalMs: number;
  /** Declare the peer dead when nothing arrives this long after a KeepAlive. */
  keepAliveTimeoutMs: number;
  maxFrameSize: number;
  /** Where large frames are read into (handed back by consumers done with them). */
  frameBuffers: BufferPool;
  /** The cluster map fingerprint to present in Hello, or null before the map is known. */
  clusterFingerprint: () => string | null;
  logger: Logger;
}

let nextConnectionId = 1;
const ERROR_MESSAGE_CODE = entryByName('ErrorMessage').code;

/**
 * One socket to one node. It owns the frame decoder, write coalescing, the Hello exchange and
 * keep-alives, and routes every incoming frame by the flowId in its header alone: a frame for an
 * unknown flow is counted and dropped without decoding its body. It knows nothing of pooling.
 */
export class Connection {
  readonly id = nextConnectionId++;
  private readonly flows = new Map<number, FlowEndpoint>();
  private readonly control: PendingRequests;
  private readonly writer: FrameWriter;
  private readonly frames: FrameReceiver;
  private readonly keepAliveTimer: NodeJS.Timeout;
  private readonly closeListeners: Array<(error: ConnectionLostError) => void> = [];
  private controlSequence = 0;
  private lastReceivedAt = Date.now();
  private keepAliveSentAt: number | null = null;
  private closedWith: ConnectionLostError | null = null;
  /** Bytes of requests sent on this connection whose replies have not arrived. */
  outstandingBytes = 0;
  inFlightRequests = 0;
  /** The node address the peer announced in its Hello. */
  peerNode: string | null = null;

  static async open(endpoint: string, settings: ConnectionSettings, counters: EndpointCounters): Promise<Connection> {
    const frames = new FrameReceiver({ maxFrameSize: settings.maxFrameSize, buffers: settings.frameBuffers });
    let opened: Connection | null = null;
    // The socket reads into memory the frame receiver chooses (no fresh buffer per read, large frames
    // read straight into their own buffer). The node sends nothing before our Hello, so nothing arrives
    // before the connection exists; if something did, reading stops and the Hello times out.
    const sink: ReadSink = { target: () => frames.target(), received: (bytes) => opened !== null && opened.receive(bytes) };
    const socket = await connectTransport(endpoint, settings.transport, sink);
    const connection = new Connection(endpoint, socket, frames, settings, counters);
    opened = connection;
    try {
      await connection.hello();
    } catch (error) {
      connection.close(`hello failed: ${(error as Error).message}`);
      throw error;
    }
    counters.connectionsOpened += 1;
    return connection;
  }

  constructor(
    readonly endpoint: string,
    private readonly socket: Transport,
    frames: FrameReceiver,
    private readonly settings: ConnectionSettings,
    private readonly counters: EndpointCounters,
  ) {
    this.control = new PendingRequests(this, CONNECTION_FLOW_ID);
    this.writer = new FrameWriter(socket);
    this.frames = frames;
    socket.on('error', (error) => this.close(error.message));
    socket.on('close', () => this.close('closed by the server'));
    const tick = Math.max(10, Math.min(settings.keepAliveIntervalMs, settings.keepAliveTimeoutMs) / 4);
    this.keepAliveTimer = setInterval(() => this.checkLiveness(), tick);
    this.keepAliveTimer.unref();
  }

  get isOpen(): boolean {
    return this.closedWith === null;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  attach(flow: FlowEndpoint): void {
    this.flows.set(flow.flowId, flow);
  }

  detach(flowId: number): void {
    this.flows.delete(flowId);
  }

  /** Queues one whole frame; its bytes count as outstanding until noteSettled. */
  /** Writes one request frame, given as its parts (encodeFrameParts). */
  send(parts: readonly Buffer[], bytes: number): void {
    this.outstandingBytes += bytes;
    this.inFlightRequests += 1;
    this.writer.write(parts);
  }

  noteSettled(bytes: number): void {
    this.outstandingBytes -= bytes;
    this.inFlightRequests -= 1;
  }

  /** A request on the connection's own flow (0): cluster map, keep-alive. */
  requestControl<R extends Command>(command: Command, timeoutMs = this.settings.requestTimeoutMs): Promise<R> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const sequence = this.controlSequence;
    this.controlSequence = nextSequence(sequence);
    const frame = encodeFrame(CONNECTION_FLOW_ID, sequence, command);
    const reply = new Promise<Command>((resolve, reject) => {
      this.control.add(sequence, command.type, frame.byteLength, timeoutMs, null, resolve, reject);
    });
    this.send([frame], frame.byteLength);
    return reply as Promise<R>;
  }

  onClose(listener: (error: ConnectionLostError) => void): void {
    if (this.closedWith) listener(this.closedWith);
    else this.closeListeners.push(listener);
  }

  /** Closes the socket and tells every flow on it; idempotent. */
  close(reason: string, cause?: unknown): void {
    if (this.closedWith) return;
    const error = new ConnectionLostError(this.endpoint, reason, { cause });
    this.closedWith = error;
    clearInterval(this.keepAliveTimer);
    this.socket.destroy();
    this.control.rejectAll(error);
    const flows = [...this.flows.values()];
    this.flows.clear();
    for (const flow of flows) flow.connectionLost(error);
    for (const listener of this.closeListeners.splice(0)) listener(error);
    this.settings.logger.debug({ endpoint: this.endpoint, connection: this.id, reason }, 'connection closed');
  }

  private async hello(): Promise<void> {
    const reply = await this.requestControl<CommandOf<'Hello'>>({
      type: 'Hello',
      ...LOCAL_VERSION_RANGE,
      clusterFingerprint: this.settings.clusterFingerprint(),
      node: null,
    });
    if (negotiateVersion(LOCAL_VERSION_RANGE, reply) === null) {
      throw new ServerError(
        'UNSUPPORTED_VERSION',
        `server speaks protocol ${reply.minVersion}-${reply.maxVersion}, this client ${LOCAL_VERSION_RANGE.minVersion}-${LOCAL_VERSION_RANGE.maxVersion}`,
      );
    }
    this.peerNode = reply.node;
  }

  /** bytes arrived where the frame receiver asked the socket to read; true: read on. */
  private receive(bytes: number): boolean {
    this.lastReceivedAt = Date.now();
    this.keepAliveSentAt = null;
    try {
      this.frames.received(bytes, this.routeFrame);
    } catch (error) {
      this.failProtocol(error);
    }
    return true;
  }

  private readonly routeFrame = (frame: RawFrame): void => this.route(frame);

  private route(frame: RawFrame): void {
    if (frame.flowId === CONNECTION_FLOW_ID) {
      if (!this.control.settle(frame)) this.unsolicited(frame);
      return;
    }
    const flow = this.flows.get(frame.flowId);
    if (flow) flow.onFrame(frame, this);
    else this.counters.droppedUnknownFlow += 1;
  }

  /**
   * An ErrorMessage nobody asked for is the node saying why it is closing the connection (a frame
   * over its size limit, a timeout): keep that reason for the flows, instead of "closed by the server".
   */
  private unsolicited(frame: RawFrame): void {
    if (frame.type !== ERROR_MESSAGE_CODE) {
      this.counters.droppedUnknownSequence += 1;
      return;
    }
    const notice = decodeFrameCommand(frame) as CommandOf<'ErrorMessage'>;
    this.close(`${notice.code}: ${notice.message}`);
  }

  private failProtocol(error: unknown): void {
    const reason = error instanceof ProtocolError ? `${error.code}: ${error.message}` : String(error);
    this.settings.logger.warn({ endpoint: this.endpoint, connection: this.id, reason }, 'protocol violation by server');
    this.close(`protocol violation: ${reason}`, new ProtocolViolationError(reason));
  }

  /** Called by a flow for a reply that matches none of its pending requests (e.g. one that timed out). */
  reportUnknownSequence(): void {
    this.counters.droppedUnknownSequence += 1;
  }

  /** Called by a flow whose reply did not decode: the whole connection is no longer trustworthy. */
  reportProtocolViolation(error: unknown): void {
    this.failProtocol(error);
  }

  private checkLiveness(): void {
    const now = Date.now();
    if (this.keepAliveSentAt !== null) {
      if (now - this.keepAliveSentAt >= this.settings.keepAliveTimeoutMs) {
        this.close(`no reply to keep-alive within ${this.settings.keepAliveTimeoutMs} ms`);
      }
    } else if (now - this.lastReceivedAt >= this.settings.keepAliveIntervalMs) {
      this.keepAliveSentAt = now;
      this.requestControl({ type: 'KeepAlive' }, this.settings.keepAliveTimeoutMs * 2).catch(
        (error: SluiceError) => this.settings.logger.debug({ endpoint: this.endpoint, error: error.message }, 'keep-alive failed'),
      );
    }
  }
}
