import { encodeEvents, envelopesOf, type Command, type CommandOf, type Request, type SuccessReplyOf } from '@sluice/protocol';
import type { ClientContext, ClientEvent } from '../src/client-context.js';
import type { ConnectionLostListener, Flow, FlowOptions, ReplyHandler, RequestOptions } from '../src/connection/flow.js';
import {
  ClientClosedError,
  ConnectFailedError,
  ConnectionLostError,
  InvalidEventNumberError,
  SegmentIsSealedError,
  ServerError,
  WrongHostError,
  type SluiceError,
} from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import type { ClientSettings } from '../src/options.js';
import { TailLookups } from '../src/reader/tail-lookups.js';
import { newBlockBufferPool, newFrameBufferPool } from '../src/buffer-pools.js';
import { initialLayout, type StreamLayout } from '../src/stream/stream-layout.js';

/**
 * An in-memory stand-in for one server node, speaking the writer's side of the protocol through
 * the Flow contract: SetupAppend per connection, AppendBlock with dedup by writer id and event
 * number, connection loss, a node that is down, held or delayed acknowledgements. For unit tests of
 * the writer's batching, back-pressure and resend logic without a server process.
 */
export class FakeNode {
  readonly segments = new Map<string, Buffer[]>();
  readonly sealed = new Set<string>();
  /** `${segment}|${writerId}` → last stored event number. */
  readonly writers = new Map<string, number>();
  readonly flows: FakeFlow[] = [];
  /**
   * Every AppendBlock received, in order: `data` is a copy, as a node reads it off the wire; `sent` is
   * the writer's own bytes (a view of its block buffer), which the writer may reuse once acknowledged.
   */
  readonly appends: ReceivedAppend[] = [];
  /**
   * AppendBlocks whose bytes in the writer's buffer changed before their reply or connection loss
   * settled them: on a socket those bytes could still be unsent, or be resent. Must stay 0.
   */
  changedBeforeSettled = 0;
  readonly emitted: Array<{ event: ClientEvent; detail: Record<string, unknown> }> = [];
  /** Most AppendBlock requests awaiting their reply at once, over all flows. */
  maxPendingAppends = 0;
  pendingAppends = 0;
  ackDelayMs = 0;
  /** While true, replies wait in `held` until release(). */
  hold = false;
  /** While true, requests fail as if no connection could be made. */
  down = false;
  /**
   * While false, AppendBlocks arrive (they are listed in `lost`) but are neither stored nor
   * answered: the node fails before storing them, and they fail only with their connection.
   */
  storing = true;
  /** While false, AppendBlocks are stored but never answered: the acks are lost with the connection. */
  answering = true;
  readonly lost: ReceivedAppend[] = [];
  /** SetupAppend requests served (each reconnect of a writer should cost one). */
  setupsServed = 0;
  segmentCount = 1;
  /** The stream's layout once a test scaled it (else epoch 0 of segmentCount segments). */
  layout: StreamLayout | null = null;
  /** The node that owns every segment; a flow to another endpoint gets WrongHost naming it. */
  owner = 'fake:1';
  /** Where the client's router sends a segment (it learns the owner from WrongHost). */
  routedOwner = 'fake:1';
  private held: Array<() => void> = [];
  private nextFlowId = 1;

  context(settings: Partial<ClientSettings> = {}): ClientContext {
    const layout = async (): Promise<StreamLayout> => this.layout ?? initialLayout(this.segmentCount);
    const segmentCount = async (): Promise<number> => this.segmentCount;
    const unused = async (): Promise<never> => {
      throw new Error('a writer does not call this');
    };
    // A writer's only admin calls: sealing a segment again and SetupAppend, when it hands a sealed segment over.
    const admin = {
      sealSegment: async (segment: string) => {
        this.sealed.add(segment);
        return 0;
      },
      request: <C extends Request>(_segment: string, build: (token: string | null) => C) => this.openFlow(this.owner).request(build(null)),
    };
    return {
      settings: { requestTimeoutMs: 30_000, retryWindowMs: 60_000, ...settings } as ClientSettings,
      logger: silentLogger,
      router: {
        ownerOf: async () => this.routedOwner,
        backupsOf: async () => [],
        noteFailure: (_segment: string, error: unknown) => {
          if (error instanceof WrongHostError) this.routedOwner = error.owner;
        },
        noteWrongHost: (_segment: string, owner: string) => {
          this.routedOwner = owner;
        },
        untilNewMap: (pause: Promise<void>) => pause.then(() => false),
      },
      segments: admin as unknown as ClientContext['segments'],
      streams: { segmentCount, claimForRevisions: async () => undefined, createStream: unused, layout, refreshLayout: layout },
      closed: false,
      tails: new TailLookups(),
      blockBuffers: newBlockBufferPool(),
      frameBuffers: newFrameBufferPool(),
      openFlow: (endpoint: string, options?: FlowOptions) => this.openFlow(endpoint, options),
      adminFlow: (endpoint: string) => this.openFlow(endpoint),
      token: async () => null,
      emit: (event, detail) => this.emitted.push({ event, detail }),
      track: () => undefined,
      untrack: () => undefined,
    };
  }

  openFlow(endpoint: string, _options?: FlowOptions): FakeFlow {
    const flow = new FakeFlow(this.nextFlowId++, endpoint, this);
    this.flows.push(flow);
    return flow;
  }

  events(segment: string): string[] {
    return (this.segments.get(segment) ?? []).map((event) => event.toString());
  }

  /** Drops every flow's connection: pending requests fail with ConnectionLostError. */
  dropConnections(): void {
    for (const flow of this.flows) flow.lose();
  }

  release(): void {
    this.hold = false;
    const held = this.held;
    this.held = [];
    for (const deliver of held) deliver();
  }

  deliver(reply: () => void, delayMs = 0): void {
    if (this.hold) this.held.push(reply);
    else if (this.ackDelayMs + delayMs > 0) setTimeout(reply, this.ackDelayMs + delayMs);
    else setImmediate(reply);
  }

  /** Serves a request when it arrives (so arrival order is storage order); the reply goes later. */
  serve(flow: FakeFlow, command: Command, sent: Buffer | null = null): Command | SluiceError {
    if ((command.type === 'SetupAppend' || command.type === 'AppendBlock' || command.type === 'ReadSegment') && flow.endpoint !== this.owner) {
      return new WrongHostError(command.segment, this.owner);
    }
    switch (command.type) {
      case 'SetupAppend': {
        const key = `${command.segment}|${command.writerId}`;
        flow.setups.add(key);
        this.setupsServed += 1;
        return { type: 'AppendSetup', segment: command.segment, writerId: command.writerId, lastEventNumber: this.writers.get(key) ?? -1 };
      }
      case 'AppendBlock': {
        this.appends.push({ ...command, flowId: flow.flowId, sent: sent ?? command.data });
        const key = `${command.segment}|${command.writerId}`;
        if (!flow.setups.has(key)) return new ServerError('NO_APPEND_SETUP', 'AppendBlock without SetupAppend on this connection');
        if (this.sealed.has(command.segment)) return new SegmentIsSealedError(command.segment, 0);
        const last = this.writers.get(key) ?? -1;
        const first = command.lastEventNumber - command.eventCount + 1;
        if (first > last + 1) return new InvalidEventNumberError(command.segment, command.writerId, last);
        if (command.lastEventNumber > last) {
          const events = envelopesOf(Buffer.from(command.data)).slice(last + 1 - first);
          const stored = this.segments.get(command.segment) ?? [];
          for (const event of events) stored.push(Buffer.from(event.data));
          this.segments.set(command.segment, stored);
          this.writers.set(key, command.lastEventNumber);
        }
        const length = (this.segments.get(command.segment) ?? []).length;
        return { type: 'DataAppended', segment: command.segment, writerId: command.writerId, lastEventNumber: Math.max(last, command.lastEventNumber), length };
      }
      case 'ReadSegment': {
        // Every stored event from offset (an event boundary), however many bytes were asked for.
        const events = this.segments.get(command.segment) ?? [];
        const all = encodeEvents(events.map((data) => ({ data })));
        const data = all.subarray(command.offset);
        return { type: 'SegmentRead', segment: command.segment, offset: command.offset, length: all.length, endOfSegment: false, data };
      }
      default:
        return new ServerError('UNSUPPORTED', `the fake node does not serve ${command.type}`);
    }
  }
}

const TAIL_WAIT_MS = 20;

type ReceivedAppend = CommandOf<'AppendBlock'> & { flowId: number; sent: Buffer };

interface PendingRequest {
  settled: boolean;
  isAppend: boolean;
  /** An AppendBlock's bytes as the writer sent them and as they arrived (a copy). */
  sent: Buffer | null;
  arrived: Buffer | null;
  resolve(reply: Command): void;
  reject(error: SluiceError): void;
}

export class FakeFlow implements Flow {
  generation = 0;
  closed = false;
  readonly setups = new Set<string>();
  private connected = false;
  private readonly pending = new Set<PendingRequest>();
  private listeners: ConnectionLostListener[] = [];

  constructor(
    readonly flowId: number,
    readonly endpoint: string,
    private readonly node: FakeNode,
  ) {}

  request<C extends Request>(request: C, _options?: RequestOptions): Promise<SuccessReplyOf<C['type']>> {
    if (this.closed) return Promise.reject(new ClientClosedError('flow'));
    if (this.node.down) {
      return new Promise((_, reject) => setTimeout(() => reject(new ConnectFailedError(this.endpoint, 'connection refused')), 1));
    }
    if (!this.connected) {
      this.connected = true;
      this.generation += 1;
      this.setups.clear();
    }
    const sent = request.type === 'AppendBlock' ? (request as CommandOf<'AppendBlock'>).data : null;
    const arrived = sent === null ? null : Buffer.from(sent);
    const command: Command = arrived === null ? request : { ...(request as CommandOf<'AppendBlock'>), data: arrived };
    return new Promise<SuccessReplyOf<C['type']>>((resolve, reject) => {
      const entry: PendingRequest = {
        settled: false,
        isAppend: sent !== null,
        sent,
        arrived,
        resolve: resolve as (reply: Command) => void,
        reject,
      };
      this.pending.add(entry);
      if (entry.isAppend) {
        this.node.pendingAppends += 1;
        this.node.maxPendingAppends = Math.max(this.node.maxPendingAppends, this.node.pendingAppends);
        if (!this.node.storing) {
          this.node.lost.push({ ...(command as CommandOf<'AppendBlock'>), flowId: this.flowId, sent: sent! });
          return;
        }
      }
      const outcome = this.node.serve(this, command, sent);
      if (entry.isAppend && !this.node.answering) return;
      // A read at the tail answers after a while, as a node's bounded wait for data would.
      const atTail = !(outcome instanceof Error) && outcome.type === 'SegmentRead' && outcome.data.length === 0;
      this.node.deliver(() => {
        if (outcome instanceof Error) this.settle(entry, (pending) => pending.reject(outcome));
        else this.settle(entry, (pending) => pending.resolve(outcome));
      }, atTail ? TAIL_WAIT_MS : 0);
    });
  }

  send<C extends Request>(command: C, handler: ReplyHandler<SuccessReplyOf<C['type']>>, options?: RequestOptions): void {
    this.request(command, options).then(
      (reply) => handler.onReply(reply),
      (error: unknown) => handler.onError(error),
    );
  }

  onConnectionLost(listener: ConnectionLostListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((other) => other !== listener);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners = [];
    this.failAll(new ClientClosedError('flow'));
  }

  lose(): void {
    if (!this.connected) return;
    this.connected = false;
    const error = new ConnectionLostError(this.endpoint, 'dropped by the test');
    this.failAll(error);
    for (const listener of [...this.listeners]) {
      if (typeof listener === 'function') listener(error);
      else listener.connectionLost(error);
    }
  }

  private failAll(error: SluiceError): void {
    for (const entry of [...this.pending]) this.settle(entry, (pending) => pending.reject(error));
  }

  private settle(entry: PendingRequest, outcome: (entry: PendingRequest) => void): void {
    if (entry.settled) return;
    entry.settled = true;
    this.pending.delete(entry);
    if (entry.isAppend) {
      this.node.pendingAppends -= 1;
      if (!entry.sent!.equals(entry.arrived!)) this.node.changedBeforeSettled += 1;
    }
    outcome(entry);
  }
}
