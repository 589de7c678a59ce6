import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';

import {
  CONNECTION_FLOW_ID,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  OLDEST_REPLICATION_VERSION,
  ProtocolError,
  decodeFrameBody,
  encodeFrame,
  entryByCode,
  formatRequestId,
  isReplicationRequestCode,
  type Command,
  type CommandOf,
  type ErrorCode,
  type RawFrame,
} from '@sluice/protocol';
import type { Logger } from 'pino';

import { errorMessage } from './error-replies.js';
import { FlowControl } from './flow-control.js';
import { FrameTimeout } from './frame-timeout.js';
import { answerHello } from './handshake.js';
import { PendingRequests, type PendingRequest } from './pending-requests.js';
import { ReplyBudget } from './reply-budget.js';
import { sendReply } from './reply-frames.js';
import { ReplyWriter } from './reply-writer.js';
import { serveRequest, type RequestServices } from './request-dispatch.js';
import type { SegmentSession } from './segment-requests.js';

export interface ConnectionLimits {
  maxFrameSize: number;
  maxUnackedBytes: number;
  helloTimeoutMs: number;
  frameTimeoutMs: number;
}

export interface ConnectionServices extends RequestServices {
  limits: ConnectionLimits;
  logger: Logger;
}

/** How long a closing connection may take to flush its last replies before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;

type State = 'awaiting-hello' | 'open' | 'draining' | 'closed';

/**
 * One client or peer connection: Hello first (handshake.ts), then requests of any number of flows
 * (request-dispatch.ts), each answered exactly once with its request id (pending-requests.ts).
 * Requests are served independently (a read waiting at the tail never delays another flow's append
 * ack); replies are coalesced by ReplyWriter, large read replies behind small ones (reply-frames.ts),
 * so a reader's megabytes do not hold up a writer's acks; FlowControl stops reading while too many
 * request bytes wait for replies; FrameTimeout closes a connection whose frame stalls half-sent. A
 * protocol error closes this connection only, after an ErrorMessage saying why. This class keeps the
 * connection's state and wires those parts to its socket.
 */
export class Connection {
  private state: State = 'awaiting-hello';
  private readonly decoder: FrameDecoder;
  private readonly writer: ReplyWriter;
  private readonly flowControl: FlowControl;
  private readonly frameTimeout: FrameTimeout;
  private readonly pending = new PendingRequests();
  private readonly session: SegmentSession;
  private readonly readAbort = new AbortController();
  private readonly log: Logger;
  private readonly limits: ConnectionLimits;
  private reading = true;
  private helloTimer: NodeJS.Timeout | null;
  /** The protocol version negotiated at Hello (null before). */
  private version: number | null = null;
  private framesDecoded = 0;
  readonly closed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly services: ConnectionServices,
    readonly id: number,
  ) {
    this.limits = services.limits;
    this.log = services.logger.child({ conn: id, peer: `${socket.remoteAddress}:${socket.remotePort}` });
    this.decoder = new FrameDecoder({ maxFrameSize: this.limits.maxFrameSize });
    this.writer = new ReplyWriter(socket);
    // Every read parked at the tail listens on this one signal, and a reader of a many-segment stream
    // parks dozens per connection; each listener goes when its wait ends, so there is no leak to warn of.
    setMaxListeners(0, this.readAbort.signal);
    this.flowControl = new FlowControl(this.limits.maxUnackedBytes, {
      pause: () => this.pauseReading(),
      resume: () => this.resumeReading(),
    });
    this.frameTimeout = new FrameTimeout(
      this.limits.frameTimeoutMs,
      () => this.decoder.bufferedBytes > 0 && this.reading && this.acceptsRequests,
      (age) =>
        this.sendErrorAndClose(
          'FRAME_TIMEOUT',
          `a frame started ${age} ms ago is still incomplete after ${this.limits.frameTimeoutMs} ms`,
          CONNECTION_FLOW_ID,
          0,
        ),
    );
    this.session = {
      appendSetups: new Map(),
      readSignal: this.readAbort.signal,
      replyBudget: new ReplyBudget(this.limits.maxUnackedBytes, () => this.outgoingBytes, this.readAbort.signal),
    };
    this.helloTimer = setTimeout(() => this.onHelloTimeout(), this.limits.helloTimeoutMs);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));

    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.updateFlowControl();
      this.session.replyBudget.pump();
    });
    socket.on('error', (error) => this.log.debug({ err: error }, 'connection error'));
    socket.on('end', () => this.close('peer ended the connection'));
    socket.on('close', () => this.onSocketClosed());
    this.log.debug('connection opened');
  }

  /** (segment, writer) pairs set up with SetupAppend on this connection. */
  get writerCount(): number {
    return this.session.appendSetups.size;
  }

  /** Requests received and not answered yet. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /**
   * Stops taking new requests and lets the ones in flight finish; reads waiting at the tail stop
   * waiting and answer with what they have. Resolves when every request has been answered.
   */
  drain(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'draining';
    this.socket.pause();
    this.frameTimeout.clear();
    this.readAbort.abort();
    return this.pending.allAnswered();
  }

  /** Flushes what is written, ends the socket, and destroys it if the peer does not close in time. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.log.debug({ reason }, 'closing connection');
    this.stopEverything();
    this.writer.flushAll();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private onSocketClosed(): void {
    this.state = 'closed';
    this.stopEverything();
    this.pending.release();
    this.log.debug('connection closed');
  }

  private stopEverything(): void {
    this.frameTimeout.clear();
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    this.readAbort.abort();
  }

  private get acceptsRequests(): boolean {
    return this.state === 'awaiting-hello' || this.state === 'open';
  }

  // --- receiving ----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (!this.acceptsRequests) return;
    const framesBefore = this.framesDecoded;
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame));
    } catch (error) {
      // The decoder refused a length prefix: the header was not read, so no request id is known.
      this.failProtocol(error, CONNECTION_FLOW_ID, 0);
      return;
    }
    this.frameTimeout.track(this.decoder.bufferedBytes > 0, this.framesDecoded !== framesBefore, this.reading);
  }

  private onFrame(frame: RawFrame): void {
    if (!this.acceptsRequests) return;
    this.framesDecoded += 1;
    if (this.version !== null && this.version < OLDEST_REPLICATION_VERSION && isReplicationRequestCode(frame.type)) {
      this.refuseReplication(frame, this.version);
      return;
    }
    let command: Command;
    try {
      command = decodeFrameBody(frame).command;
    } catch (error) {
      this.failProtocol(error, frame.flowId, frame.sequence);
      return;
    }
    this.services.counts.request(command.type);
    const request = this.pending.open(frame.flowId, frame.sequence, FRAME_HEADER_SIZE + frame.bodyLength);
    this.updateFlowControl();
    if (command.type === 'Hello') {
      this.onHello(request, command);
    } else if (this.state === 'awaiting-hello') {
      this.answerAndClose(request, 'UNEXPECTED_COMMAND', `${command.type} before Hello; a connection must start with Hello`);
    } else {
      serveRequest(command, (reply) => this.answer(request, reply), this.session, this.services, this.log);
    }
  }

  private onHello(request: PendingRequest, hello: CommandOf<'Hello'>): void {
    const outcome = answerHello(hello, this.services.cluster);
    if (!outcome.accepted) {
      this.answerAndClose(request, outcome.code, outcome.message);
      return;
    }
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    this.state = 'open';
    this.version = outcome.version;
    this.answer(request, outcome.reply);
  }

  /**
   * A replication request on a connection negotiated below the version whose replication commands
   * this node reads (a peer node of an older release): refused by name, never decoded in a shape it
   * was not sent in. The connection stays: its other requests are served.
   */
  private refuseReplication(frame: RawFrame, version: number): void {
    const name = entryByCode(frame.type)!.name;
    this.services.counts.request(name);
    const request = this.pending.open(frame.flowId, frame.sequence, FRAME_HEADER_SIZE + frame.bodyLength);
    this.updateFlowControl();
    const message = `${name} needs protocol version ${OLDEST_REPLICATION_VERSION} or later on both nodes, and this connection speaks ${version}: upgrade the node that sent it`;
    this.answer(request, errorMessage('UNSUPPORTED_VERSION', message));
  }

  // --- replying -----------------------------------------------------------------------------

  /** Sends the request's one reply; later calls for the same request are ignored. */
  private answer(request: PendingRequest, reply: Command): void {
    if (!this.pending.settle(request)) return;
    this.services.counts.reply(reply);
    if (this.state !== 'closed') {
      sendReply(this.writer, request.flowId, request.sequence, reply, this.log);
      this.updateFlowControl();
    }
    this.pending.notifyIfAllAnswered();
  }

  private answerAndClose(request: PendingRequest, code: ErrorCode, message: string): void {
    this.log.info({ code, request: formatRequestId(request.flowId, request.sequence) }, message);
    this.answer(request, errorMessage(code, message));
    this.close(code);
  }

  /** The peer broke the protocol: tell it why (with the request id when known) and close. */
  private failProtocol(error: unknown, flowId: number, sequence: number): void {
    const code = error instanceof ProtocolError ? error.code : 'PROTOCOL_ERROR';
    this.sendErrorAndClose(code, (error as Error)?.message ?? String(error), flowId, sequence);
  }

  private sendErrorAndClose(code: ErrorCode, message: string, flowId: number, sequence: number): void {
    if (this.state === 'closed') return;
    this.services.counts.error(code);
    this.log.info({ code, request: formatRequestId(flowId, sequence) }, message);
    this.writer.write(encodeFrame(flowId, sequence, errorMessage(code, message)));
    this.close(code);
  }

  private onHelloTimeout(): void {
    this.helloTimer = null;
    if (this.state !== 'awaiting-hello') return;
    this.sendErrorAndClose('HELLO_TIMEOUT', `no Hello within ${this.limits.helloTimeoutMs} ms`, CONNECTION_FLOW_ID, 0);
  }

  // --- flow control -------------------------------------------------------------------------

  /** Reply bytes written and not yet taken by the peer. */
  private get outgoingBytes(): number {
    return this.writer.pendingBytes + this.socket.writableLength;
  }

  private updateFlowControl(): void {
    this.flowControl.update(this.pending.unackedBytes, this.outgoingBytes);
  }

  private pauseReading(): void {
    this.reading = false;
    this.socket.pause();
    this.frameTimeout.clear();
    this.log.debug({ unackedBytes: this.pending.unackedBytes }, 'reading paused');
  }

  private resumeReading(): void {
    this.reading = true;
    if (!this.acceptsRequests) return;
    this.socket.resume();
    // Time spent paused is ours, not the peer's: a partial frame's clock starts again.
    if (this.decoder.bufferedBytes > 0) this.frameTimeout.start();
    this.log.debug('reading resumed');
  }
}
