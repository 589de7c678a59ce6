/**
 * A minimal protocol speaker for server end-to-end tests: one real socket, @sluice/protocol
 * frames, replies matched to requests by request id. No pooling, no retries: tests see exactly
 * what the node sends. Frames nobody waits for (e.g. an ErrorMessage on flowId 0 before a close)
 * are queued for nextFrame().
 *
 *   const client = await RawClient.connect(server.address);
 *   await client.hello();
 *   const reply = await client.call({ type: 'CreateSegment', segment: 'a/b/0', token: null });
 */
import net from 'node:net';
import tls from 'node:tls';

import {
  FrameDecoder,
  EVENT_HEADER_SIZE,
  LOCAL_VERSION_RANGE,
  decodeFrameBody,
  encodeEvents,
  encodeFrame,
  envelopesOf,
  outgoingEvent,
  type Command,
  type CommandName,
  type CommandOf,
  type DecodedFrame,
} from '@sluice/protocol';

export interface RawClientOptions {
  /** Connect with TLS using these options (e.g. { rejectUnauthorized: false }). */
  tls?: tls.ConnectionOptions;
  /** Frame limit for what the node sends us. Default 64 MiB (generous: tests look at the node). */
  maxFrameSize?: number;
  /** Default timeout of request()/call(). Default 10 s. */
  timeoutMs?: number;
}

interface Pending {
  resolve(frame: DecodedFrame): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class RawClient {
  /** Frames received that no request() was waiting for, oldest first. */
  readonly unmatched: DecodedFrame[] = [];
  /** Resolves when the socket has closed (by either side). */
  readonly closed: Promise<void>;
  /** A frame the node sent that we could not decode, if any. */
  decodeError: Error | null = null;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<string, Pending>();
  private readonly frameWaiters: Array<(frame: DecodedFrame | null) => void> = [];
  private readonly sequences = new Map<number, number>();
  private isClosed = false;

  private constructor(
    readonly socket: net.Socket,
    private readonly options: RawClientOptions,
  ) {
    this.decoder = new FrameDecoder({ maxFrameSize: options.maxFrameSize ?? 64 * 1024 * 1024 });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        for (const [key, pending] of this.pending) {
          clearTimeout(pending.timer);
          pending.reject(new Error(`connection closed before the reply to ${key}`));
        }
        this.pending.clear();
        for (const waiter of this.frameWaiters.splice(0)) waiter(null);
        resolve();
      }),
    );
  }

  static connect(address: string | { host: string; port: number }, options: RawClientOptions = {}): Promise<RawClient> {
    const { host, port } = typeof address === 'string' ? splitAddress(address) : address;
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tls.connect({ host, port, ...options.tls }, () => done())
        : net.connect({ host, port }, () => done());
      const done = (): void => {
        socket.off('error', reject);
        resolve(new RawClient(socket, options));
      };
      socket.once('error', reject);
    });
  }

  get closedYet(): boolean {
    return this.isClosed;
  }

  /** Hello on flowId 0 with our version range; fields may be overridden. Resolves with the reply. */
  async hello(overrides: Partial<Omit<CommandOf<'Hello'>, 'type'>> = {}): Promise<Command> {
    const frame = await this.request(0, this.nextSequence(0), {
      type: 'Hello',
      minVersion: LOCAL_VERSION_RANGE.minVersion,
      maxVersion: LOCAL_VERSION_RANGE.maxVersion,
      clusterFingerprint: null,
      node: null,
      ...overrides,
    });
    return frame.command;
  }

  /** Sends a request on a flow with the flow's next sequence number; resolves with the reply command. */
  async call(command: Command, flowId = 1, timeoutMs?: number): Promise<Command> {
    return (await this.request(flowId, this.nextSequence(flowId), command, timeoutMs)).command;
  }

  /** Sends one request and resolves with the frame that carries the same request id. */
  request(flowId: number, sequence: number, command: Command, timeoutMs = this.options.timeoutMs ?? 10_000): Promise<DecodedFrame> {
    const key = `${flowId >>> 0}:${sequence >>> 0}`;
    if (this.pending.has(key)) return Promise.reject(new Error(`request ${key} is already pending`));
    if (this.isClosed) return Promise.reject(new Error(`connection closed; cannot send ${key}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new Error(`no reply to ${command.type} ${key} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(key, { resolve, reject, timer });
      this.socket.write(encodeFrame(flowId, sequence, command));
    });
  }

  /** Writes a frame without waiting for anything. */
  sendFrame(flowId: number, sequence: number, command: Command): void {
    this.socket.write(encodeFrame(flowId, sequence, command));
  }

  /** Writes raw bytes (malformed frames, partial frames, ...). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next frame no request was waiting for; null if the connection closes first. */
  nextFrame(timeoutMs = 10_000): Promise<DecodedFrame | null> {
    const queued = this.unmatched.shift();
    if (queued) return Promise.resolve(queued);
    if (this.isClosed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.frameWaiters.indexOf(waiter);
        if (index >= 0) this.frameWaiters.splice(index, 1);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (frame: DecodedFrame | null): void => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.frameWaiters.push(waiter);
    });
  }

  /** Resolves true when the node closes the connection within timeoutMs, false otherwise. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }

  nextSequence(flowId: number): number {
    const sequence = this.sequences.get(flowId) ?? 0;
    this.sequences.set(flowId, (sequence + 1) >>> 0);
    return sequence;
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (raw) => this.onFrame(decodeFrameBody(raw)));
    } catch (error) {
      this.decodeError = error as Error;
      this.socket.destroy();
    }
  }

  private onFrame(frame: DecodedFrame): void {
    const key = `${frame.flowId}:${frame.sequence}`;
    const pending = this.pending.get(key);
    if (pending) {
      this.pending.delete(key);
      clearTimeout(pending.timer);
      pending.resolve(frame);
      return;
    }
    const waiter = this.frameWaiters.shift();
    if (waiter) waiter(frame);
    else this.unmatched.push(frame);
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Narrows a reply to the expected type, failing with the whole reply when it is something else. */
export function expectReply<N extends CommandName>(command: Command, type: N): CommandOf<N> {
  if (command.type !== type) throw new Error(`expected ${type}, got ${describe(command)}`);
  return command as CommandOf<N>;
}

function describe(command: Command): string {
  return JSON.stringify(command, (_key, value: unknown) =>
    value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' ? '<bytes>' : value,
  );
}

/** One event block from strings or bytes: each the data of an event with an empty routing key and no headers. */
export function block(events: ReadonlyArray<string | Uint8Array>): Buffer {
  return encodeEvents(events.map((data) => ({ data })));
}

/** Bytes an event takes in a segment: its u32 length, its envelope (key, no headers) and its data. */
export function storedSize(data: string | Uint8Array, routingKey = ''): number {
  return EVENT_HEADER_SIZE + outgoingEvent(routingKey, 0, null, typeof data === 'string' ? Buffer.from(data) : data).size;
}

/** The data of a block's (or of SegmentRead data's) events as strings. */
export function eventStrings(data: Buffer): string[] {
  return envelopesOf(data).map((event) => event.data.toString());
}
