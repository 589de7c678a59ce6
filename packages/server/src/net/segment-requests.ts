import {
  EVENT_HEADER_SIZE,
  ProtocolError,
  SEGMENT_REQUESTS,
  rightFor,
  validateEventBlock,
  type Command,
  type CommandOf,
  type SegmentRequestName,
} from '@sluice/protocol';

import type { Authorizer } from '../auth/index.js';
import type { ContainerRoles } from '../cluster/container-roles.js';
import type { RequestCounts } from '../metrics/request-counts.js';
import type { Container, ReadResult, SegmentStore } from '../store/types.js';
import { errorMessage, RequestError } from './error-replies.js';
import type { ReplyBudget } from './reply-budget.js';
import { SegmentReadReply } from './reply-frames.js';

export type SegmentRequest = CommandOf<SegmentRequestName>;

const segmentRequestNames: ReadonlySet<string> = new Set(SEGMENT_REQUESTS);
export function isSegmentRequest(command: Command): command is SegmentRequest {
  return segmentRequestNames.has(command.type);
}

/** What the node shares with every connection's segment requests. */
export interface SegmentServices {
  cluster: ContainerRoles;
  store: SegmentStore;
  authorizer: Authorizer;
  maxEventSize: number;
  maxReadBytes: number;
  maxReadWaitMs: number;
  maxWritersPerConnection: number;
  /** Plain counters the metrics registry reads when scraped. */
  counts: RequestCounts;
}

/** Per-connection state of segment requests. */
export interface SegmentSession {
  /**
   * (segment, writerId) pairs whose SetupAppend passed on this connection, oldest setup first, each
   * with the expiry of the token that allowed it (Infinity with auth off).
   */
  readonly appendSetups: Map<string, number>;
  /** Aborted when the connection closes or drains: waiting reads stop waiting and answer. */
  readonly readSignal: AbortSignal;
  /** Bounds the reply bytes this connection's reads produce at once. */
  readonly replyBudget: ReplyBudget;
}

function setupKey(segment: string, writerId: string): string {
  return `${segment}\u0000${writerId}`;
}

/**
 * WrongHost names the primary; a node with no primary to name (a container failing over, or this
 * node still listed but fenced after losing its lease) answers NOT_PRIMARY, which clients retry
 * after learning the map again.
 */
function notServedHere(segment: string, roles: ContainerRoles): Command {
  const owner = roles.ownerOf(segment);
  if (owner === null || owner === roles.self) {
    return errorMessage('NOT_PRIMARY', `${roles.self} does not serve ${segment} now and knows no primary for it; learn the cluster map again`);
  }
  return { type: 'WrongHost', segment, owner };
}

/**
 * Serves one segment request: ownership first (WrongHost names the owner), then the token, then
 * the store. Everything up to the store call runs synchronously, so requests reach the store in the
 * order they arrived on the connection (a writer's blocks stay in order) while their replies
 * complete independently. Throws (or rejects with) StoreError / RequestError / ProtocolError,
 * which the caller turns into the matching error reply.
 */
export function serveSegmentRequest(
  request: SegmentRequest,
  session: SegmentSession,
  services: SegmentServices,
): Command | Promise<Command> {
  const { segment } = request;
  // A release only forgets this connection's setup: it needs no owner and no token.
  if (request.type === 'ReleaseAppend') return releaseAppend(request, session);
  const containerId = services.cluster.localContainerOf(segment);
  if (containerId === null) return notServedHere(segment, services.cluster);
  let tokenExpiresAt = Infinity;
  if ('token' in request && services.authorizer.enabled) {
    const right = rightFor(request.type);
    if (right !== null) {
      const result = services.authorizer.check(request.token, segment, right);
      if (!result.ok) return { type: 'AuthTokenCheckFailed', segment, message: result.message };
      tokenExpiresAt = result.expiresAt;
    }
  }
  const container = services.store.container(containerId);
  switch (request.type) {
    case 'CreateSegment':
      return container.createSegment(segment).then(() => ({ type: 'SegmentCreated', segment }));
    case 'GetSegmentInfo':
      return { type: 'SegmentInfo', ...container.getInfo(segment) };
    case 'SealSegment':
      return container.seal(segment).then((length) => ({ type: 'SegmentSealed', segment, length }));
    case 'TruncateSegment':
      return container
        .truncate(segment, request.offset)
        .then((startOffset) => ({ type: 'SegmentTruncated', segment, startOffset }));
    case 'DeleteSegment':
      return container.delete(segment).then(() => ({ type: 'SegmentDeleted', segment }));
    case 'GetAttribute':
      return { type: 'Attribute', segment, key: request.key, value: container.getAttribute(segment, request.key) };
    case 'UpdateAttribute':
      return container
        .updateAttribute(segment, request.key, request.expected, request.value)
        .then((update) => ({ type: 'AttributeUpdated', segment, key: request.key, ...update }));
    case 'SetupAppend':
      return setupAppend(request, container, session, services, tokenExpiresAt);
    case 'AppendBlock':
      return appendBlock(request, container, session, services);
    case 'ConditionalAppend':
      return conditionalAppend(request, container, services);
    case 'ReadSegment':
      return readSegment(request, container, session, services);
  }
}

function setupAppend(
  request: CommandOf<'SetupAppend'>,
  container: Container,
  session: SegmentSession,
  services: SegmentServices,
  tokenExpiresAt: number,
): Command {
  const { segment, writerId } = request;
  container.getInfo(segment); // NoSuchSegment for a segment that does not exist
  const key = setupKey(segment, writerId);
  const setups = session.appendSetups;
  if (setups.has(key)) {
    setups.delete(key); // set up again: now the newest
  } else if (setups.size >= services.maxWritersPerConnection) {
    // The bound protects the node without refusing anyone: the oldest setup goes, and its writer
    // (most likely one that was dropped without close()) sets up again if it ever appends.
    setups.delete(setups.keys().next().value!);
    services.counts.appendSetupEvicted();
  }
  setups.set(key, tokenExpiresAt);
  return { type: 'AppendSetup', segment, writerId, lastEventNumber: container.lastEventNumber(segment, writerId) };
}

function releaseAppend(request: CommandOf<'ReleaseAppend'>, session: SegmentSession): Command {
  const { segment, writerId } = request;
  session.appendSetups.delete(setupKey(segment, writerId));
  return { type: 'AppendReleased', segment, writerId };
}

/** The block's event count, after checking its framing against the limit and the count claimed. */
function validatedEventCount(data: Buffer, claimed: number | null, maxEventSize: number): number {
  let count: number;
  try {
    count = validateEventBlock(data, maxEventSize);
  } catch (error) {
    if (error instanceof ProtocolError && error.code === 'EVENT_TOO_LARGE') {
      // Say what to change: the writer can refuse such events itself, before sending them.
      throw new RequestError(
        'EVENT_TOO_LARGE',
        `${error.message} (the node's --max-event-size); split the event, ` +
          `or set the writer option maxEventSize to ${maxEventSize} so the client refuses it before sending`,
      );
    }
    throw error;
  }
  if (count === 0) throw new RequestError('MALFORMED_BLOCK', 'the event block holds no events');
  if (claimed !== null && count !== claimed) {
    throw new RequestError('EVENT_COUNT_MISMATCH', `the block holds ${count} events but eventCount says ${claimed}`);
  }
  return count;
}

/** Not async: the checks throw synchronously (the caller answers them), the store's promise is handed on. */
function appendBlock(
  request: CommandOf<'AppendBlock'>,
  container: Container,
  session: SegmentSession,
  services: SegmentServices,
): Promise<Command> {
  const { segment, writerId, lastEventNumber, eventCount, data } = request;
  const key = setupKey(segment, writerId);
  const tokenExpiresAt = session.appendSetups.get(key);
  if (tokenExpiresAt === undefined) {
    throw new RequestError('NO_APPEND_SETUP', `writer ${writerId} sent AppendBlock to ${segment} without SetupAppend on this connection`);
  }
  // A setup lasts as long as the token it was made with; `!(<)` counts a NaN clock as expired.
  if (tokenExpiresAt !== Infinity && !(Date.now() < tokenExpiresAt)) {
    session.appendSetups.delete(key);
    throw new RequestError(
      'APPEND_SETUP_EXPIRED',
      `the token writer ${writerId} set up ${segment} with expired at ${new Date(tokenExpiresAt).toISOString()}; ` +
        'set up again with a fresh token (the client does, calling its token function)',
    );
  }
  validatedEventCount(data, eventCount, services.maxEventSize);
  return appended(container, services, segment, data, eventCount, writerId, { writer: { writerId, lastEventNumber, eventCount } });
}

async function conditionalAppend(
  request: CommandOf<'ConditionalAppend'>,
  container: Container,
  services: SegmentServices,
): Promise<Command> {
  const { segment, writerId, eventNumber, expectedOffset, data } = request;
  const eventCount = validatedEventCount(data, null, services.maxEventSize);
  const writer = writerId !== null && eventNumber >= 0 ? { writerId, lastEventNumber: eventNumber, eventCount } : undefined;
  return appended(container, services, segment, data, eventCount, writerId, { writer, expectedOffset });
}

/** Stores a validated block, counts what was really written (not duplicates), and acknowledges it. */
function appended(
  container: Container,
  services: SegmentServices,
  segment: string,
  data: Buffer,
  eventCount: number,
  writerId: string | null,
  options: Parameters<Container['append']>[3],
): Promise<Command> {
  return container.append(segment, data, eventCount, options).then((result) => {
    if (!result.duplicate) services.counts.appended(container.id, data.byteLength);
    return { type: 'DataAppended', segment, writerId, lastEventNumber: result.lastEventNumber, length: result.length };
  });
}

/** One ReadSegment as the node runs it: where, how much, and the connection whose reply budget it uses. */
interface PlannedRead {
  container: Container;
  segment: string;
  offset: number;
  maxBytes: number;
  /** Room it takes in the connection's reply budget. */
  replyBytes: number;
  session: SegmentSession;
}

async function readSegment(
  request: CommandOf<'ReadSegment'>,
  container: Container,
  session: SegmentSession,
  services: SegmentServices,
): Promise<Command> {
  const { segment, offset, waitMs } = request;
  const maxBytes = Math.max(1, Math.min(request.maxBytes, services.maxReadBytes));
  // A read returns at least one whole event, so its reply may be as large as the largest event.
  const replyBytes = Math.max(maxBytes, services.maxEventSize + EVENT_HEADER_SIZE);
  const read: PlannedRead = { container, segment, offset, maxBytes, replyBytes, session };
  let result = await budgetedRead(read);
  const waitFor = Math.min(waitMs, services.maxReadWaitMs);
  if (result.byteLength === 0 && !result.endOfSegment && waitFor > 0 && !session.readSignal.aborted) {
    services.counts.readWaited();
    await container.waitForData(segment, offset, waitFor, session.readSignal);
    // Woken by a drain rather than by data: answer with the nothing we have, at once.
    if (!session.readSignal.aborted) result = await wokenRead(read);
  }
  services.counts.read(result.byteLength);
  return new SegmentReadReply(segment, result);
}

/**
 * The read of a request woken at the tail by the appends that just became durable. It runs once the
 * microtasks settling those appends have sent their acks (called from a microtask, a nextTick runs
 * only when the microtask queue is empty), so the order stays ack first: a reply written first would
 * wake the reader's process and delay every such ack (docs/decisions.md, "Tail reads answered before
 * the acks"). It then reads from the block cache, where those appends left their blocks, with no
 * further promise per read; the async read only when the cache or the reply budget says no.
 */
async function wokenRead(read: PlannedRead): Promise<ReadResult> {
  await new Promise<void>((resolve) => process.nextTick(resolve));
  return cachedRead(read) ?? budgetedRead(read);
}

/** The read from the block cache within the reply budget, at once; null when either cannot be had now. */
function cachedRead({ container, segment, offset, maxBytes, replyBytes, session }: PlannedRead): ReadResult | null {
  if (!session.replyBudget.tryAcquire(replyBytes)) return null;
  try {
    return container.readNow(segment, offset, maxBytes);
  } finally {
    session.replyBudget.release(replyBytes);
  }
}

/** A read within the connection's reply budget: it waits for room for replyBytes, reads, gives the room back. */
async function budgetedRead({ container, segment, offset, maxBytes, replyBytes, session }: PlannedRead): Promise<ReadResult> {
  try {
    await session.replyBudget.acquire(replyBytes);
  } catch {
    throw new RequestError('SHUTTING_DOWN', 'the connection closed or the node is shutting down before this read could run; retry it');
  }
  try {
    return await container.read(segment, offset, maxBytes);
  } finally {
    session.replyBudget.release(replyBytes);
  }
}
