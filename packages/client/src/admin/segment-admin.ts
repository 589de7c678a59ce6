import type { AttributeValue, Request, SuccessReplyOf } from '@sluice/protocol';
import { sleep } from '../connection/backoff.js';
import { ConnectFailedError, SegmentAlreadyExistsError, WrongHostError } from '../errors.js';
import type { ClientSettings } from '../options.js';
import { SegmentRoute, type RouteContext } from '../route/segment-route.js';

export interface SegmentInfo {
  segment: string;
  /** First readable offset (moves forward with truncation). */
  startOffset: number;
  /** Durable length in bytes: the offset the next event will get. */
  length: number;
  sealed: boolean;
}

export interface AttributeUpdateResult {
  success: boolean;
  /** The value after the call: the new one on success, the one that made the check fail otherwise. */
  current: AttributeValue;
}

/** Segment operations as writers, readers and the revisioned client use them. */
export interface SegmentOperations {
  /** The node that owns segment, as the router knows it now. */
  ownerOf(segment: string): Promise<string>;
  /** The other replicas of segment's container (none unless the cluster is replicated), as the router knows them now. */
  backupsOf(segment: string): Promise<string[]>;
  /** Sends a request built for segment to its owner (build is called once per attempt, with the token). */
  request<C extends Request>(segment: string, build: (token: string | null) => C): Promise<SuccessReplyOf<C['type']>>;
  createSegment(segment: string): Promise<boolean>;
  getSegmentInfo(segment: string): Promise<SegmentInfo>;
  sealSegment(segment: string): Promise<number>;
  truncateSegment(segment: string, offset: number): Promise<number>;
  deleteSegment(segment: string): Promise<void>;
  getAttribute(segment: string, key: string): Promise<AttributeValue>;
  updateAttribute(segment: string, key: string, expected: AttributeValue, value: AttributeValue): Promise<AttributeUpdateResult>;
}

/** What admin calls need from the client: routes, the request timeout that bounds their retries, the token. */
export interface AdminContext extends RouteContext {
  readonly settings: Pick<ClientSettings, 'requestTimeoutMs' | 'connectTimeoutMs'>;
  token(): Promise<string | null>;
}

/** Bounds how many WrongHost redirects one call follows before giving up. */
const MAX_REDIRECTS = 4;

/**
 * Segment operations on the node that owns each segment, over that node's shared admin flow. Follows
 * WrongHost to the owner it names, and retries retriable failures (connection lost, node restarting)
 * until the request timeout. A node never reached fails the call at once (a wrong endpoint); one that
 * answered before and cannot be reached now is tried again for the connect timeout (a restart), and
 * the new owner at once when the map learned again names another one (a failover).
 */
export class SegmentAdmin implements SegmentOperations {
  constructor(private readonly context: AdminContext) {}

  async request<C extends Request>(segment: string, build: (token: string | null) => C): Promise<SuccessReplyOf<C['type']>> {
    const deadline = Date.now() + this.context.settings.requestTimeoutMs;
    const route = new SegmentRoute(segment, this.context, 'admin');
    let redirects = 0;
    let unreachableSince: number | null = null;
    for (;;) {
      try {
        const flow = await route.flow();
        return await flow.request(build(await this.context.token()));
      } catch (error) {
        if (error instanceof WrongHostError) redirects += 1;
        if (!route.failed(error) || redirects > MAX_REDIRECTS) throw error;
        if (error instanceof ConnectFailedError && !(await this.rerouted(segment, error.endpoint))) {
          unreachableSince ??= Date.now();
          if (!error.reachedBefore || Date.now() - unreachableSince >= this.context.settings.connectTimeoutMs) throw error;
        }
        const delayMs = route.nextDelay();
        if (Date.now() + delayMs >= deadline) throw error;
        await sleep(delayMs);
      }
    }
  }

  /** Whether the map learned again after a failure names another owner than endpoint (a failover happened). */
  private rerouted(segment: string, endpoint: string): Promise<boolean> {
    return this.context.router.ownerOf(segment).then(
      (owner) => owner !== endpoint,
      () => false,
    );
  }

  /** The node serving segment now (its primary, in a replicated cluster). */
  ownerOf(segment: string): Promise<string> {
    return this.context.router.ownerOf(segment);
  }

  backupsOf(segment: string): Promise<string[]> {
    return this.context.router.backupsOf(segment);
  }

  /** Creates the segment; resolves false when it already existed. */
  async createSegment(segment: string): Promise<boolean> {
    try {
      await this.request(segment, (token) => ({ type: 'CreateSegment', segment, token }));
      return true;
    } catch (error) {
      if (error instanceof SegmentAlreadyExistsError) return false;
      throw error;
    }
  }

  async getSegmentInfo(segment: string): Promise<SegmentInfo> {
    const { startOffset, length, sealed } = await this.request(segment, (token) => ({
      type: 'GetSegmentInfo',
      segment,
      token,
    }));
    return { segment, startOffset, length, sealed };
  }

  async sealSegment(segment: string): Promise<number> {
    const reply = await this.request(segment, (token) => ({ type: 'SealSegment', segment, token }));
    return reply.length;
  }

  /** Drops everything before offset (an event boundary); returns the new first readable offset. */
  async truncateSegment(segment: string, offset: number): Promise<number> {
    const reply = await this.request(segment, (token) => ({
      type: 'TruncateSegment',
      segment,
      offset,
      token,
    }));
    return reply.startOffset;
  }

  async deleteSegment(segment: string): Promise<void> {
    await this.request(segment, (token) => ({ type: 'DeleteSegment', segment, token }));
  }

  async getAttribute(segment: string, key: string): Promise<AttributeValue> {
    const reply = await this.request(segment, (token) => ({ type: 'GetAttribute', segment, key, token }));
    return reply.value;
  }

  /** Compare-and-set: sets value iff the attribute equals expected (null = absent). */
  async updateAttribute(
    segment: string,
    key: string,
    expected: AttributeValue,
    value: AttributeValue,
  ): Promise<AttributeUpdateResult> {
    const reply = await this.request(segment, (token) => ({
      type: 'UpdateAttribute',
      segment,
      key,
      expected,
      value,
      token,
    }));
    return { success: reply.success, current: reply.current };
  }
}
