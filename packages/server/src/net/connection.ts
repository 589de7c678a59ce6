import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';

import {
  CONNECTION_FLOW_ID,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  LOCAL_VERSION_RANGE,
  ProtocolError,
  REPLICATION_REQUESTS,
  decodeFrameBody,
  encodeFrame,
  encodeFrameParts,
  formatRequestId,
  negotiateVersion,
  type Command,
  type CommandOf,
  type RawFrame,
  type ReplicationRequestName,
} from '@sluice/protocol';
import type { Logger } from 'pino';

import { errorMessage, errorReplyOf } from './error-replies.js';
import { FlowControl } from './flow-control.js';
import { listLocalStreams } from './stream-listing.js';
import { BULK_REPLY_BYTES } from './read-reply-frame.js';
import { ReplyBudget } from './reply-budget.js';
import { ReplyWriter } from './reply-writer.js';
import {
  isSegmentRequest,
  serveSegmentRequest,
  type SegmentRequest,
  type SegmentServices,
  type SegmentSession,
} from './segment-requests.js';

export interface ConnectionLimits {
  maxFrameSize: number;
  maxUnackedBytes: number;
  helloTimeoutMs: number;
  frameTimeoutMs: number;
}

export interface ConnectionServices extends SegmentServices {
  limits: ConnectionLimits;
  logger: Logger;
  /** A replicated node's data plane, answering its peers' replication requests; absent otherwise. */
  replication?: { serve(command: ReplicationRequest): Command | Promise<Command> };
}

const replicationRequestNames: ReadonlySet<string> = new Set(REPLICATION_REQUESTS);
type ReplicationRequest = CommandOf<ReplicationRequestName>;

/** One request between its arrival and its reply. */
interface PendingRequest {
  flowId: number;
  sequence: number;
  bytes: number;
  answered: boolean;
}

/**
 * A pending request's own memory (decoded command, bookkeeping), counted with its frame bytes
 * against --max-unacked-bytes: a flood of tiny requests (reads waiting at the tail or for reply
 * room) is bounded too, not only one of large ones.
 */
const REQUEST_MEMORY_BYTES = 512;

/** How long a closing connection may take to flush its last replies before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;

type State = 'awaiting-hello' | 'open' | 'draining' | 'closed';

/**
 * One client or peer connection: Hello first, then requests of any number of flows, each answered
 * exactly once with its request id. Requests are served independently (a read waiting at the tail
 * never delays another flow's append ack); replies are coalesced by ReplyWriter, large read replies
 * behind small ones, so a reader's megabytes do not hold up a writer's acks; FlowControl stops
 * reading while too many request bytes wait for replies. A protocol error closes this connection
 * only, after an ErrorMessage saying why.
 */
export class Connection {
  private state: State = 'awaiting-hello';
  private readonly decoder: FrameDecoder;
  private readonly writer: ReplyWriter;
  private readonly flowControl: FlowControl;
  private readonly session: SegmentSession;
  private readonly readAbort = new AbortController();
  private readonly log: Logger;
  private readonly limits: ConnectionLimits;
  private inFlight = 0;
  private unackedBytes = 0;
  private reading = true;
  private onDrained: (() => void) | null = null;
  private helloTimer: NodeJS.Timeout | null;
  /** Slow-loris guard: set while the decoder holds part of a frame and the socket is read. */
  private frameTimer: NodeJS.Timeout | null = null;
  private partialFrameSince = 0;
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
    return this.inFlight;
  }

  /**
   * Stops taking new requests and lets the ones in flight finish; reads waiting at the tail stop
   * waiting and answer with what they have. Resolves when every request has been answered.
   */
  drain(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'draining';
    this.socket.pause();
    this.clearFrameTimer();
    this.readAbort.abort();
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.onDrained = resolve;
    });
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
    this.onDrained?.();
    this.onDrained = null;
    this.log.debug('connection closed');
  }

  private stopEverything(): void {
    this.clearFrameTimer();
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
    this.trackPartialFrame(this.framesDecoded !== framesBefore);
  }

  private onFrame(frame: RawFrame): void {
    if (!this.acceptsRequests) return;
    this.framesDecoded += 1;
    let command: Command;
    try {
      command = decodeFrameBody(frame).command;
    } catch (error) {
      this.failProtocol(error, frame.flowId, frame.sequence);
      return;
    }
    this.services.counts.request(command.type);
    const request: PendingRequest = {
      flowId: frame.flowId,
      sequence: frame.sequence,
      bytes: FRAME_HEADER_SIZE + frame.bodyLength + REQUEST_MEMORY_BYTES,
      answered: false,
    };
    this.inFlight += 1;
    this.unackedBytes += request.bytes;
    this.updateFlowControl();
    this.dispatch(request, command);
  }

  private dispatch(request: PendingRequest, command: Command): void {
    if (this.state === 'awaiting-hello' && command.type !== 'Hello') {
      this.answerAndClose(request, 'UNEXPECTED_COMMAND', `${command.type} before Hello; a connection must start with Hello`);
      return;
    }
    switch (command.type) {
      case 'Hello':
        this.onHello(request, command);
        return;
      case 'KeepAlive':
        this.answer(request, { type: 'KeepAlive' });
        return;
      case 'GetClusterMap': {
        this.answer(request, { type: 'ClusterMap', ...this.services.cluster.clusterMap() });
        return;
      }
      case 'ListStreams':
        this.answer(request, listLocalStreams(command, this.services));
        return;
      default:
        if (isSegmentRequest(command)) {
          this.serveSegment(request, command);
        } else if (replicationRequestNames.has(command.type) && this.services.replication) {
          this.serveReplication(request, command as ReplicationRequest, this.services.replication);
        } else {
          // A well-formed command a node does not serve (a reply type): refuse it, keep the connection.
          this.answer(request, { type: 'OperationUnsupported', message: `${command.type} is not a request a node serves` });
        }
    }
  }

  private onHello(request: PendingRequest, hello: CommandOf<'Hello'>): void {
    const { cluster } = this.services;
    const local = LOCAL_VERSION_RANGE;
    if (negotiateVersion(local, hello) === null) {
      this.answerAndClose(
        request,
        'UNSUPPORTED_VERSION',
        `protocol versions ${hello.minVersion}-${hello.maxVersion} are not supported; this node speaks ${local.minVersion}-${local.maxVersion}`,
      );
      return;
    }
    if (hello.clusterFingerprint !== null && hello.clusterFingerprint !== cluster.fingerprint) {
      const peer = hello.node ? ` of ${hello.node}` : '';
      this.answerAndClose(
        request,
        'CLUSTER_MISMATCH',
        `cluster fingerprint ${hello.clusterFingerprint}${peer} does not match this node's ${cluster.fingerprint} ` +
          `(${cluster.self}: members ${cluster.clusterMap().members.join(',')}, ${cluster.containerCount} containers); ` +
          'every node and client must use the same --cluster list and --containers',
      );
      return;
    }
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    this.state = 'open';
    this.answer(request, {
      type: 'Hello',
      minVersion: local.minVersion,
      maxVersion: local.maxVersion,
      clusterFingerprint: cluster.fingerprint,
      node: cluster.self,
    });
  }

  private serveSegment(request: PendingRequest, command: SegmentRequest): void {
    const onError = (error: unknown): void => this.answer(request, this.errorReply(error, command));
    let result: Command | Promise<Command>;
    try {
      result = serveSegmentRequest(command, this.session, this.services);
    } catch (error) {
      onError(error);
      return;
    }
    if (result instanceof Promise) {
      result
        .then((reply) => this.answer(request, reply), onError)
        .catch((error: unknown) => this.log.error({ err: error, command: command.type }, 'could not send a reply'));
    } else {
      this.answer(request, result);
    }
  }

  private serveReplication(request: PendingRequest, command: ReplicationRequest, replication: NonNullable<ConnectionServices['replication']>): void {
    const onError = (error: unknown): void => {
      const code = (error as { code?: unknown })?.code;
      this.answer(request, errorMessage(typeof code === 'string' ? code : 'INTERNAL_ERROR', (error as Error)?.message ?? String(error)));
    };
    let result: Command | Promise<Command>;
    try {
      result = replication.serve(command);
    } catch (error) {
      onError(error);
      return;
    }
    if (result instanceof Promise) result.then((reply) => this.answer(request, reply), onError);
    else this.answer(request, result);
  }

  private errorReply(error: unknown, command: SegmentRequest): Command {
    const writerId = 'writerId' in command ? command.writerId : null;
    const reply = errorReplyOf(error, command.segment, writerId);
    if (reply !== null) return reply;
    this.log.error({ err: error, command: command.type, segment: command.segment }, 'request failed');
    return errorMessage('INTERNAL_ERROR', `${command.type} on ${command.segment} failed: ${(error as Error)?.message ?? String(error)}`);
  }

  // --- replying -----------------------------------------------------------------------------

  /** Sends the request's one reply; later calls for the same request are ignored. */
  private answer(request: PendingRequest, reply: Command): void {
    if (request.answered) return;
    request.answered = true;
    this.services.counts.reply(reply);
    this.inFlight -= 1;
    this.unackedBytes -= request.bytes;
    if (this.state !== 'closed') {
      this.send(request, reply);
      this.updateFlowControl();
    }
    if (this.inFlight === 0 && this.onDrained !== null) {
      this.onDrained();
      this.onDrained = null;
    }
  }

  /** Large read replies take the writer's bulk lane, so they never hold up another flow's small reply. */
  private send(request: PendingRequest, reply: Command): void {
    if (reply.type === 'SegmentRead' && reply.data.byteLength >= BULK_REPLY_BYTES) {
      let parts: Buffer[] | null = null;
      try {
        // The data (a view of the cache or of a log read) goes out as it is, not copied into a frame.
        parts = encodeFrameParts(request.flowId, request.sequence, reply, BULK_REPLY_BYTES);
      } catch {
        // encodeReply below meets the same problem and answers with an error reply.
      }
      if (parts !== null) {
        this.writer.writeBulkFrame(parts);
        return;
      }
    }
    this.writer.write(this.encodeReply(request, reply));
  }

  private encodeReply(request: PendingRequest, reply: Command): Buffer {
    try {
      return encodeFrame(request.flowId, request.sequence, reply);
    } catch (error) {
      const id = formatRequestId(request.flowId, request.sequence);
      this.log.error({ err: error, reply: reply.type, request: id }, 'could not encode reply');
      return encodeFrame(request.flowId, request.sequence, errorMessage('INTERNAL_ERROR', `${reply.type} could not be encoded`));
    }
  }

  private answerAndClose(request: PendingRequest, code: string, message: string): void {
    this.log.info({ code, request: formatRequestId(request.flowId, request.sequence) }, message);
    this.answer(request, errorMessage(code, message));
    this.close(code);
  }

  /** The peer broke the protocol: tell it why (with the request id when known) and close. */
  private failProtocol(error: unknown, flowId: number, sequence: number): void {
    const code = error instanceof ProtocolError ? error.code : 'PROTOCOL_ERROR';
    this.sendErrorAndClose(code, (error as Error)?.message ?? String(error), flowId, sequence);
  }

  private sendErrorAndClose(code: string, message: string, flowId: number, sequence: number): void {
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
    this.flowControl.update(this.unackedBytes, this.outgoingBytes);
  }

  private pauseReading(): void {
    this.reading = false;
    this.socket.pause();
    this.clearFrameTimer();
    this.log.debug({ unackedBytes: this.unackedBytes }, 'reading paused');
  }

  private resumeReading(): void {
    this.reading = true;
    if (!this.acceptsRequests) return;
    this.socket.resume();
    // Time spent paused is ours, not the peer's: a partial frame's clock starts again.
    if (this.decoder.bufferedBytes > 0) this.startFrameTimer();
    this.log.debug('reading resumed');
  }

  // --- slow-loris guard: a frame that started arriving must complete in time -----------------

  private trackPartialFrame(completedFrames: boolean): void {
    if (this.decoder.bufferedBytes === 0) {
      this.clearFrameTimer();
    } else if (this.reading && (this.frameTimer === null || completedFrames)) {
      // A new partial frame (the previous one completed in this chunk): its clock starts now.
      this.startFrameTimer();
    }
  }

  private startFrameTimer(): void {
    this.partialFrameSince = Date.now();
    if (this.frameTimer === null) {
      this.frameTimer = setTimeout(() => this.onFrameTimer(), this.limits.frameTimeoutMs);
    }
  }

  private onFrameTimer(): void {
    this.frameTimer = null;
    if (this.decoder.bufferedBytes === 0 || !this.reading || !this.acceptsRequests) return;
    const age = Date.now() - this.partialFrameSince;
    if (age < this.limits.frameTimeoutMs) {
      this.frameTimer = setTimeout(() => this.onFrameTimer(), this.limits.frameTimeoutMs - age);
      return;
    }
    this.sendErrorAndClose(
      'FRAME_TIMEOUT',
      `a frame started ${age} ms ago is still incomplete after ${this.limits.frameTimeoutMs} ms`,
      CONNECTION_FLOW_ID,
      0,
    );
  }

  private clearFrameTimer(): void {
    if (this.frameTimer !== null) clearTimeout(this.frameTimer);
    this.frameTimer = null;
  }
}
