import { randomUUID } from 'node:crypto';
import { segmentNameOf } from '@sluice/protocol';
import { EventEmitter } from 'node:events';
import type { ClientContext } from '../client-context.js';
import { ClientClosedError, InvalidOptionError, ReaderIdInUseError, SluiceError } from '../errors.js';
import type { ReadEvent } from '../reader/event-reader.js';
import type { ReaderPosition } from '../reader/reader-position.js';
import { MIN_SEGMENT_BUFFER, type Truncation } from '../reader/reader-options.js';
import { ReadySegments } from '../reader/ready-segments.js';
import { SegmentReader, type SegmentReaderHost } from '../reader/segment-reader.js';
import { RevisionedClient } from '../revisioned/revisioned-client.js';
import { activeSegments } from '../stream/stream-layout.js';
import { planAssignment } from './assignment.js';
import { resolveGroupReaderSettings, type GroupReaderOptions, type GroupReaderSettings } from './group-options.js';
import { acquire, commit, finish, initialState, isAssignable, isDrained, isMember, join, leave, release, segmentIndexOf, segmentsOf, type GroupState, type Member } from './group-state.js';
import { groupStart, lacksSuccessorRecord, successorsAfter } from './group-layout.js';
import { GroupSynchronizer } from './group-synchronizer.js';
import { Heartbeat, heartbeatKey, removeHeartbeat, SessionObserver } from './liveness.js';

/** One segment this reader owns: its reader, and where the loop stands in it. */
interface OwnedSegment {
  reader: SegmentReader;
  /** Offset after the last event handed to the loop. */
  delivered: number;
  /** Offset after the last event the loop finished (it asked for the next one since). */
  processed: number;
  /** Handed back to the group as soon as everything delivered from it is processed. */
  releasing: boolean;
}

/**
 * A member of a reader group: `for await (const event of reader)` yields events of the segments the
 * group assigned to this reader only. The reader joins by adding itself to the group's state, keeps a
 * heartbeat counter moving, watches the next reader's counter (in readerId order) and evicts it when it
 * stands still for sessionTimeoutMs. It takes and gives segments by the plan in assignment.ts; a
 * segment it gives stops delivering at once and is handed back at its processed position as soon as
 * the loop has finished every event delivered from it, so the next owner starts exactly there.
 *
 * An event counts as processed when the loop asks for the next one; processed positions are committed
 * every commitIntervalMs, on commit() and on close().
 */
export class GroupReader extends EventEmitter implements AsyncIterableIterator<ReadEvent> {
  readonly stream: string;
  readonly readerId: string;
  readonly group: string;
  readonly #context: ClientContext;
  readonly #settings: GroupReaderSettings;
  readonly #owned = new Map<string, OwnedSegment>();
  readonly #ready = new ReadySegments();
  readonly #observer: SessionObserver;
  #revisioned: RevisionedClient | null = null;
  #sync: GroupSynchronizer | null = null;
  #heartbeat: Heartbeat | null = null;
  #member: Member | null = null;
  #failure: unknown = null;
  /** Offsets by segment number for event positions; rebuilt after the state or the owned set changed. */
  #offsets: Record<number, number> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #timers: NodeJS.Timeout[] = [];
  /** Serialises changes this reader makes to the group. */
  #acting: Promise<void> = Promise.resolve();
  #actQueued = false;
  readonly #started: Promise<void>;

  constructor(context: ClientContext, stream: string, options: GroupReaderOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'must be an object with a group');
    this.#settings = resolveGroupReaderSettings(options, stream);
    this.stream = stream;
    this.group = this.#settings.group;
    this.readerId = this.#settings.readerId;
    this.#context = context;
    this.#observer = new SessionObserver(this.#settings.sessionTimeoutMs);
    context.track(this);
    this.#started = this.#start().catch((error: unknown) => {
      this.#fail(error);
    });
  }

  /** The segments this reader holds now. */
  get segments(): string[] {
    return [...this.#owned.keys()];
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ReadEvent> {
    return this;
  }

  async next(): Promise<IteratorResult<ReadEvent, undefined>> {
    await this.#started;
    // Asking for the next event is what makes the ones delivered so far processed.
    let handBack = false;
    for (const owned of this.#owned.values()) {
      owned.processed = owned.delivered;
      handBack ||= owned.releasing || owned.reader.ended;
    }
    if (handBack) this.#act();
    for (;;) {
      if (this.#closed) return { done: true, value: undefined };
      if (this.#failure !== null) {
        const failure = this.#failure;
        await this.close();
        throw failure;
      }
      const event = this.#ready.take(this.#moved);
      if (event !== null) {
        event.position = this.#position();
        return { done: false, value: event };
      }
      if (this.#sync?.loaded === true && isDrained(this.#sync.state)) {
        await this.close();
        return { done: true, value: undefined };
      }
      await this.#ready.wait();
    }
  }

  /** Called by `break` in a for-await loop: closes the reader (committing and leaving the group). */
  async return(): Promise<IteratorResult<ReadEvent, undefined>> {
    await this.close();
    return { done: true, value: undefined };
  }

  /** Commits the processed positions of this reader's segments now. */
  async commit(): Promise<void> {
    await this.#started;
    if (this.#failure !== null) throw this.#failure;
    await this.#enqueue(() => this.#commit());
  }

  /**
   * Commits every delivered event as processed, leaves the group (its segments go to the others at
   * once) and frees the flows. Resolves when the group state says so.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#ready.wake();
    await this.#started;
    const positions = new Map<string, number>();
    for (const [segment, owned] of this.#owned) {
      owned.reader.close();
      positions.set(segment, owned.delivered);
    }
    this.#owned.clear();
    this.#ready.clear();
    try {
      await this.#acting;
      const member = this.#member;
      if (member !== null && this.#sync !== null && !this.#context.closed) {
        await this.#sync.update((state) => leave(state, member, positions));
        await this.#heartbeat?.stop();
      }
    } catch (error) {
      this.#context.logger.warn({ err: error, group: this.group, readerId: this.readerId }, 'reader group: leaving failed; the others take over after sessionTimeoutMs');
    } finally {
      this.#sync?.close();
      this.#revisioned?.close();
      this.#context.untrack(this);
    }
  }

  async #start(): Promise<void> {
    const context = this.#context;
    const settings = this.#settings;
    await context.streams.layout(this.stream); // NoSuchStreamError before the group is made
    await context.streams.createStream(settings.stateStream, { segments: 1 });
    this.#revisioned = new RevisionedClient(context, settings.stateStream);
    const sync = new GroupSynchronizer(context, this.#revisioned, context.logger);
    this.#sync = sync;
    const state = await sync.load(() => this.#initialState());
    if (settings.fromGiven && state.from !== settings.from) {
      context.logger.warn(
        { group: this.group, groupFrom: state.from, from: settings.from },
        `reader group ${this.group} exists and started at '${state.from}'; from '${settings.from}' is ignored (delete the group's state stream ${settings.stateStream} to start it again)`,
      );
    }
    await this.#join();
    if (this.#closed) return;
    sync.watch(() => this.#act());
    this.#timers.push(setInterval(() => this.#check(), settings.checkIntervalMs));
    this.#timers.push(setInterval(() => void this.#enqueue(() => this.#commit()).catch(() => undefined), settings.commitIntervalMs));
    for (const timer of this.#timers) timer.unref();
    this.#act();
  }

  async #initialState(): Promise<GroupState> {
    const layout = await this.#context.streams.refreshLayout(this.stream);
    const lengths = new Map<string, number>();
    if (this.#settings.from === 'tail') {
      const active = activeSegments(layout).map((record) => segmentNameOf(this.stream, record.number));
      for (const info of await Promise.all(active.map((name) => this.#context.segments.getSegmentInfo(name)))) lengths.set(info.segment, info.length);
    }
    const start = groupStart(this.stream, layout, this.#settings.from, lengths);
    return initialState(this.#settings.from, start.offsets, start.predecessors);
  }

  /** What follows segments read to their end, from the layout (read again when it lags behind a seal). */
  async #successorsOf(finished: string[]): Promise<Map<string, string[]>> {
    let layout = await this.#context.streams.layout(this.stream);
    if (lacksSuccessorRecord(layout, finished)) layout = await this.#context.streams.refreshLayout(this.stream);
    return successorsAfter(this.stream, layout, finished);
  }

  /**
   * Joins under readerId. When the state names another session for that id, it is taken over only
   * once judged dead (a restarted process reusing its id); while it lives, ReaderIdInUseError.
   */
  async #join(): Promise<void> {
    const sync = this.#sync!;
    const segment = this.#revisioned!.segment;
    const previous = sync.state.readers[this.readerId];
    if (previous !== undefined) await this.#awaitDeath(previous);
    const member = { readerId: this.readerId, session: randomUUID() };
    const heartbeat = new Heartbeat(
      this.#context.segments,
      segment,
      member.session,
      this.#settings.heartbeatIntervalMs,
      () => this.#act(),
      this.#context.logger,
    );
    await heartbeat.start();
    this.#heartbeat = heartbeat;
    try {
      await sync.update((state) => {
        const holder = state.readers[this.readerId];
        if (holder !== undefined && holder !== previous) throw new ReaderIdInUseError(this.group, this.readerId);
        return join(state, member);
      });
    } catch (error) {
      await heartbeat.stop().catch(() => undefined);
      throw error;
    }
    this.#member = member;
    if (previous !== undefined) await removeHeartbeat(this.#context.segments, segment, previous, await this.#heartbeatOf(previous)).catch(() => undefined);
  }

  /** Watches session's heartbeat until it is judged dead; throws ReaderIdInUseError if it moves. */
  async #awaitDeath(session: string): Promise<void> {
    const observer = new SessionObserver(this.#settings.sessionTimeoutMs);
    let first: number | null | undefined;
    for (;;) {
      const sentAt = performance.now();
      const value = await this.#heartbeatOf(session);
      if (value === null || observer.note(session, value, sentAt, performance.now())) return;
      if (first !== undefined && value !== first) throw new ReaderIdInUseError(this.group, this.readerId);
      first = value;
      if (this.#closed) throw new ClientClosedError('reader');
      await new Promise((resolve) => setTimeout(resolve, this.#settings.checkIntervalMs));
    }
  }

  async #heartbeatOf(session: string): Promise<number | null> {
    const value = await this.#context.segments.getAttribute(this.#revisioned!.segment, heartbeatKey(session));
    return typeof value === 'number' ? value : null;
  }

  /** Periodic: refresh, evict the next reader if it went silent, then re-plan. */
  #check(): void {
    void this.#enqueue(async () => {
      await this.#sync!.refresh();
      await this.#watchNeighbour();
      await this.#rebalance();
    }).catch((error: unknown) => this.#noteFailure(error));
  }

  /** Re-plan after a change: as soon as the queue is free, once. */
  #act(): void {
    if (this.#actQueued || this.#closed) return;
    this.#actQueued = true;
    void this.#enqueue(async () => {
      this.#actQueued = false;
      await this.#rebalance();
    }).catch((error: unknown) => this.#noteFailure(error));
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#acting.then(task);
    this.#acting = run.catch(() => undefined);
    return run;
  }

  async #watchNeighbour(): Promise<void> {
    const member = this.#member;
    if (member === null || this.#closed) return;
    const state = this.#sync!.state;
    const ids = Object.keys(state.readers).sort();
    if (ids.length < 2 || !ids.includes(member.readerId)) return;
    const neighbour = ids[(ids.indexOf(member.readerId) + 1) % ids.length]!;
    const session = state.readers[neighbour]!;
    this.#observer.retain(new Set([session]));
    const sentAt = performance.now();
    const value = await this.#heartbeatOf(session);
    if (value !== null && !this.#observer.note(session, value, sentAt, performance.now())) return;
    const evicted = { readerId: neighbour, session };
    this.#context.logger.info({ group: this.group, readerId: neighbour }, 'reader group: evicting a reader silent for sessionTimeoutMs');
    await this.#sync!.update((current) => leave(current, evicted));
    await removeHeartbeat(this.#context.segments, this.#revisioned!.segment, session, value).catch(() => undefined);
  }

  /** Brings this reader in line with the state and the plan: hand back, finish, take. */
  async #rebalance(): Promise<void> {
    this.#offsets = null;
    const member = this.#member;
    const sync = this.#sync;
    if (member === null || sync === null || this.#closed) return;
    if (isDrained(sync.state)) {
      this.#ready.wake(); // the loop ends
      return;
    }
    if (!isMember(sync.state, member)) {
      await this.#rejoin();
      return;
    }
    this.#dropLost(sync.state);
    await this.#handBack(member);
    const plan = planAssignment(sync.state, member.readerId);
    const giving = [...this.#owned.values()].filter((owned) => owned.releasing).length;
    if (plan.release > giving) {
      this.#startReleasing(plan.release - giving);
      await this.#handBack(member);
    }
    if (plan.acquire.length > 0) {
      const state = await sync.update((current) => acquire(current, member, planAssignment(current, member.readerId).acquire));
      if (state !== null) this.#startReading(state, member);
    }
  }

  /** Writes the releases and finished segments whose delivered events are all processed. */
  async #handBack(member: Member): Promise<void> {
    const released = new Map<string, number>();
    const ended = new Map<string, number>();
    for (const [segment, owned] of this.#owned) {
      if (owned.processed !== owned.delivered) continue;
      if (owned.reader.ended) ended.set(segment, owned.processed);
      else if (owned.releasing) released.set(segment, owned.processed);
    }
    if (released.size > 0) await this.#sync!.update((state) => release(state, member, released));
    if (ended.size > 0) {
      const successors = await this.#successorsOf([...ended.keys()]);
      await this.#sync!.update((state) => finish(state, member, ended, successors));
    }
    for (const segment of [...released.keys(), ...ended.keys()]) this.#stopReading(segment);
    if (ended.size > 0) this.#ready.wake();
  }

  /** Picks segments to give: first those with nothing delivered and unprocessed. */
  #startReleasing(count: number): void {
    const candidates = [...this.#owned.entries()].filter(([, owned]) => !owned.releasing && !owned.reader.ended);
    candidates.sort(([a, x], [b, y]) => Number(x.processed !== x.delivered) - Number(y.processed !== y.delivered) || b.localeCompare(a));
    for (const [, owned] of candidates.slice(0, count)) {
      owned.releasing = true;
      owned.reader.close();
      this.#ready.remove(owned.reader);
    }
  }

  #startReading(state: GroupState, member: Member): void {
    this.#offsets = null;
    const host: SegmentReaderHost = {
      context: this.#context,
      tailWaitMs: this.#settings.tailWaitMs,
      copyEventData: this.#settings.copyEventData,
      wake: (segment) => this.#wake(segment),
      truncated: (truncation) => this.#truncated(truncation),
    };
    const readable = Object.keys(state.segments).filter((segment) => state.segments[segment]!.owner !== null || isAssignable(state, segment));
    const bufferBytes = Math.max(MIN_SEGMENT_BUFFER, Math.floor(this.#settings.maxBufferedBytes / Math.max(1, readable.length)));
    for (const segment of segmentsOf(state, member.readerId)) {
      if (this.#owned.has(segment)) continue;
      const { offset } = state.segments[segment]!;
      const silentAt = state.from === 'head' && offset === 0 ? 0 : null;
      const reader = new SegmentReader(segment, segmentIndexOf(segment), offset, bufferBytes, host, silentAt);
      this.#owned.set(segment, { reader, delivered: offset, processed: offset, releasing: false });
      reader.start();
    }
  }

  /** Segments the state no longer gives this reader (it was evicted and rejoined, say). */
  #dropLost(state: GroupState): void {
    for (const segment of this.#owned.keys()) {
      if (state.segments[segment]?.owner !== this.readerId) this.#stopReading(segment);
    }
  }

  #stopReading(segment: string): void {
    const owned = this.#owned.get(segment);
    if (owned === undefined) return;
    this.#offsets = null;
    owned.reader.close();
    this.#ready.remove(owned.reader);
    this.#owned.delete(segment);
  }

  /** Evicted (it stood still too long, as the others judged): start over under a new session. */
  async #rejoin(): Promise<void> {
    this.#context.logger.warn({ group: this.group, readerId: this.readerId }, 'reader group: this reader was evicted; rejoining');
    for (const segment of [...this.#owned.keys()]) this.#stopReading(segment);
    const old = this.#heartbeat;
    this.#member = null;
    await old?.stop().catch(() => undefined);
    await this.#join();
    this.#act();
  }

  async #commit(): Promise<void> {
    const member = this.#member;
    if (member === null || this.#sync === null) return;
    const positions = new Map<string, number>();
    for (const [segment, owned] of this.#owned) {
      if (owned.processed > (this.#sync.state.segments[segment]?.offset ?? 0)) positions.set(segment, owned.processed);
    }
    if (positions.size > 0) await this.#sync.update((state) => commit(state, member, positions));
  }

  /** ReadySegments.take tells of each segment it moved (one function for the reader's life, not one per event). */
  readonly #moved = (segment: SegmentReader): void => {
    const owned = this.#owned.get(segment.segment);
    if (owned === undefined) return;
    owned.delivered = segment.deliveredOffset;
    if (this.#offsets !== null) this.#offsets[segment.index] = owned.delivered;
  };

  /** The offsets of this reader's segments where it delivered, the others' where they were committed. */
  #position(): ReaderPosition {
    if (this.#offsets === null) {
      this.#offsets = {};
      for (const [segment, entry] of Object.entries(this.#sync!.state.segments)) {
        this.#offsets[segmentIndexOf(segment)] = this.#owned.get(segment)?.delivered ?? entry.offset;
      }
    }
    return { stream: this.stream, offsets: { ...this.#offsets } };
  }

  #wake(segment: SegmentReader): void {
    if (this.#closed) return;
    if (segment.error !== null) this.#failure ??= segment.error;
    if (segment.ended) this.#act();
    this.#ready.add(segment);
  }

  #truncated(truncation: Truncation): void {
    this.#settings.onTruncated?.(truncation);
    this.emit('truncated', truncation);
  }

  /** Background failures: a typed non-retriable one ends the iteration; others are retried next check. */
  #noteFailure(error: unknown): void {
    if (error instanceof SluiceError && !error.retriable) this.#fail(error);
    else this.#context.logger.debug({ err: error, group: this.group }, 'reader group: a state change failed; trying again');
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    this.#ready.wake();
  }
}
