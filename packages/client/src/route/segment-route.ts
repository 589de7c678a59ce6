import { backoffDelay, Pauses } from '../connection/backoff.js';
import type { ConnectionLostListener, Flow, FlowOptions } from '../connection/flow.js';
import { ClientClosedError, SegmentIsSealedError, TimeoutError, WrongHostError } from '../errors.js';
import { isRetriable, isRouteChange, reasonOf } from './retriable.js';

/** Who owns a segment, as routes see the cluster router. */
export interface SegmentOwners {
  ownerOf(segment: string): Promise<string>;
  /** The other replicas of segment's container (none unless the cluster is replicated). */
  backupsOf(segment: string): Promise<string[]>;
  /**
   * A request for segment failed with error: follow a WrongHost to the owner it names; after a lost or
   * refused connection, a timeout, NOT_PRIMARY or FENCED, learn the map again (primaries move).
   */
  noteFailure(segment: string, error: unknown): void;
  /** Send segment's requests to owner next (what a WrongHost naming owner does). */
  noteWrongHost(segment: string, owner: string): void;
  /** Resolves when pause does (false), or earlier (true) once a newer cluster map is known. */
  untilNewMap(pause: Promise<void>): Promise<boolean>;
}

/** What a route needs from the client: the owners, flows to nodes, and the client's events. */
export interface RouteContext {
  readonly router: SegmentOwners;
  openFlow(endpoint: string, options?: FlowOptions): Flow;
  /** The flow admin requests to endpoint travel on (one per node, shared by every admin call). */
  adminFlow(endpoint: string): Flow;
  emit(event: 'reconnecting', detail: Record<string, unknown>): void;
}

/**
 * Which flow a route uses: one of its own, multiplexed on a pooled connection or on a dedicated one,
 * or the node's shared admin flow (which the route never closes).
 */
export type RouteFlow = 'pooled' | 'dedicated' | 'admin';

/**
 * The way from one SDK object (a segment writer, a segment reader, an admin call) to the node that
 * owns its segment: finding the owner, opening a flow to it, learning from a failed attempt where to
 * go next, and backing off between attempts. Its users decide when to try again (a writer within its
 * retry window, a reader for as long as it lives, an admin call until its deadline); what a failure
 * means for the way to the segment is decided here, and only here.
 */
export class SegmentRoute {
  #flow: Flow | null = null;
  #attempt = 0;
  /** Made on the first backoff pause: most routes never need one. */
  #pauses: Pauses | null = null;
  #closed = false;
  /**
   * The reply that found the segment sealed: no attempt on this route succeeds again. A scale
   * sealed it when the stream's layout names successors; the writer moves its events there.
   */
  sealedBy: SegmentIsSealedError | null = null;

  constructor(
    readonly segment: string,
    private readonly context: RouteContext,
    private readonly kind: RouteFlow,
    /** Told when the route's own flow loses its connection (not used with the shared admin flow). */
    private readonly listener: ConnectionLostListener | null = null,
    /** What the route serves, named in the ClientClosedError of an attempt made after close. */
    private readonly user = 'client',
  ) {}

  /** The flow in use, or null before the first attempt and after the route left it. */
  get current(): Flow | null {
    return this.#flow;
  }

  /** Failed attempts since the last success. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The flow in use, or a new one to the node the router names as the owner now. */
  async flow(): Promise<Flow> {
    if (this.#flow !== null && !this.#flow.closed) return this.#flow;
    const owner = await this.context.router.ownerOf(this.segment);
    if (this.#closed) throw new ClientClosedError(this.user);
    let flow: Flow;
    if (this.kind === 'admin') {
      flow = this.context.adminFlow(owner);
    } else {
      flow = this.context.openFlow(owner, { pooled: this.kind === 'pooled' });
      if (this.listener !== null) flow.onConnectionLost(this.listener);
    }
    this.#flow = flow;
    return flow;
  }

  /**
   * An attempt on this route failed with error: learns what that says about the way to the segment
   * and tells whether another attempt may succeed. WrongHost names the new owner; a node that is not
   * (or no longer) the primary, or cannot be reached, makes the router learn the map again. After a
   * timeout, replies on the old flow may still come for requests that will be sent again, so the next
   * attempt takes a fresh flow. A sealed segment is kept in sealedBy for the user to look for its successors.
   */
  failed(error: unknown): boolean {
    if (error instanceof SegmentIsSealedError) {
      this.sealedBy ??= error;
      return false;
    }
    if (!isRetriable(error)) return false;
    this.context.router.noteFailure(this.segment, error);
    if (error instanceof WrongHostError || isRouteChange(error)) {
      this.leave();
    } else if (error instanceof TimeoutError) {
      this.leave();
    }
    return true;
  }

  /** An attempt worked: the next failure backs off from the shortest pause again. */
  succeeded(): void {
    this.#attempt = 0;
  }

  /** The pause before the next attempt: exponential with jitter, longer with each failure in a row. */
  nextDelay(): number {
    return backoffDelay(this.#attempt++);
  }

  /** Tells the client's 'reconnecting' listeners that the route tries again after delayMs. */
  announceRetry(delayMs: number, cause: unknown, detail?: Record<string, unknown>): void {
    this.context.emit('reconnecting', {
      segment: this.segment,
      ...detail,
      attempt: this.#attempt,
      delayMs: Math.round(delayMs),
      reason: reasonOf(cause),
    });
  }

  /**
   * Resolves after delayMs, or at once when the route is closed, or as soon as a newer cluster map
   * is known (a failover's new primary was chosen): the next attempt goes there, and a failure then
   * (the new primary still fencing its replicas) backs off from the shortest pause again.
   */
  async pause(delayMs: number): Promise<void> {
    this.#pauses ??= new Pauses();
    if (await this.context.router.untilNewMap(this.#pauses.pause(delayMs))) this.#attempt = 0;
  }

  /** Stops using the current flow (closing it unless it is the shared admin flow). */
  leave(): void {
    if (this.kind !== 'admin') this.#flow?.close();
    this.#flow = null;
  }

  /** Hands the route's own flow to the caller, who closes it (a closing writer's release goes on it last). */
  takeFlow(): Flow | null {
    const flow = this.kind === 'admin' ? null : this.#flow;
    if (flow !== null) this.#flow = null;
    return flow;
  }

  /** Leaves the flow and ends any pause; later attempts fail with ClientClosedError. */
  close(): void {
    this.#closed = true;
    this.#pauses?.endAll();
    this.leave();
  }
}
