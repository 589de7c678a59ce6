import type { AttributeValue, Command, CommandOf } from '@sluice/protocol';
import { ConnectFailedError, SegmentAlreadyExistsError, SluiceError, WrongHostError } from '../errors.js';
import type { ClientContext } from '../client-context.js';
import { deadlineAfter, withRetries } from '../connection/retry.js';

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

/** Bounds how many WrongHost redirects one call follows before giving up. */
const MAX_REDIRECTS = 4;

/**
 * Segment operations on the node that owns each segment. Follows WrongHost to the owner it names,
 * and retries retriable failures (connection lost, node restarting) until the request timeout.
 */
export class SegmentAdmin {
  constructor(private readonly context: ClientContext) {}

  /** Sends a request built for segment to its owner, with redirects and retries. */
  async request<R extends Command>(segment: string, build: (token: string | null) => Command): Promise<R> {
    const deadline = deadlineAfter(this.context.settings.requestTimeoutMs);
    let redirects = 0;
    return withRetries(
      async () => {
        const owner = await this.context.router.ownerOf(segment);
        try {
          return await this.context.adminFlow(owner).request<R>(build(await this.context.token()));
        } catch (error) {
          if (error instanceof WrongHostError) {
            this.context.router.noteWrongHost(segment, error.owner);
            redirects += 1;
          }
          throw error;
        }
      },
      { deadline, isRetriable: (error) => isRetriable(error) && redirects <= MAX_REDIRECTS },
    );
  }

  /** The node serving segment now (its primary, in a replicated cluster). */
  ownerOf(segment: string): Promise<string> {
    return this.context.router.ownerOf(segment);
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
    const { startOffset, length, sealed } = await this.request<CommandOf<'SegmentInfo'>>(segment, (token) => ({
      type: 'GetSegmentInfo',
      segment,
      token,
    }));
    return { segment, startOffset, length, sealed };
  }

  async sealSegment(segment: string): Promise<number> {
    const reply = await this.request<CommandOf<'SegmentSealed'>>(segment, (token) => ({ type: 'SealSegment', segment, token }));
    return reply.length;
  }

  /** Drops everything before offset (an event boundary); returns the new first readable offset. */
  async truncateSegment(segment: string, offset: number): Promise<number> {
    const reply = await this.request<CommandOf<'SegmentTruncated'>>(segment, (token) => ({
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
    const reply = await this.request<CommandOf<'Attribute'>>(segment, (token) => ({ type: 'GetAttribute', segment, key, token }));
    return reply.value;
  }

  /** Compare-and-set: sets value iff the attribute equals expected (null = absent). */
  async updateAttribute(
    segment: string,
    key: string,
    expected: AttributeValue,
    value: AttributeValue,
  ): Promise<AttributeUpdateResult> {
    const reply = await this.request<CommandOf<'AttributeUpdated'>>(segment, (token) => ({
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

/**
 * Worth another attempt: a redirect, a lost connection, a timeout. Not ConnectFailedError: the pool
 * already kept trying to connect for the whole acquire timeout before raising it.
 */
function isRetriable(error: unknown): boolean {
  return error instanceof SluiceError && error.retriable && !(error instanceof ConnectFailedError);
}
