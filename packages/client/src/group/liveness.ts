import type { SegmentOperations } from '../admin/segment-admin.js';
import type { Logger } from '../logger.js';

/** The attribute of the group's state segment that holds a session's heartbeat counter. */
export function heartbeatKey(session: string): string {
  return `heartbeat.${session}`;
}

/**
 * Judges a session dead when its heartbeat counter did not move for timeoutMs, measured on this
 * process's own monotonic clock between two reads of it: no timestamp written by one process is ever
 * compared with another's clock, so clock offsets between machines cannot evict a live reader. The
 * time counts from when the answer that first showed a value arrived to when a later read showing the
 * same value was sent, so a pause of this process (GC, SIGSTOP) cannot be mistaken for silence of the
 * other: the first read sent after the pause sees the counter the other moved meanwhile.
 */
export class SessionObserver {
  readonly #seen = new Map<string, { value: unknown; since: number }>();

  constructor(private readonly timeoutMs: number) {}

  /** One read of session's counter, sent at sentAt and answered at receivedAt; true when it is dead. */
  note(session: string, value: number | null, sentAt: number, receivedAt: number): boolean {
    const seen = this.#seen.get(session);
    if (seen === undefined || seen.value !== value) {
      this.#seen.set(session, { value, since: receivedAt });
      return false;
    }
    return sentAt - seen.since >= this.timeoutMs;
  }

  /** Keeps only what is known about these sessions (the others left or changed watcher). */
  retain(sessions: ReadonlySet<string>): void {
    for (const session of this.#seen.keys()) if (!sessions.has(session)) this.#seen.delete(session);
  }
}

/**
 * Keeps one session alive: every intervalMs, moves its counter (an attribute only this session
 * writes, so the compare-and-set never contends). A counter found removed means others evicted the
 * session: onLost is called.
 */
export class Heartbeat {
  #count: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #beating: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly segments: SegmentOperations,
    private readonly segment: string,
    readonly session: string,
    private readonly intervalMs: number,
    private readonly onLost: () => void,
    private readonly logger: Logger,
  ) {}

  /** Sets the counter (before the session joins the group, so watchers always find one). */
  async start(): Promise<void> {
    const { current } = await this.segments.updateAttribute(this.segment, heartbeatKey(this.session), null, 1);
    this.#count = typeof current === 'number' ? current : 1;
    this.#schedule();
  }

  /** Stops beating and removes the counter. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#beating;
    if (this.#count !== null) await removeHeartbeat(this.segments, this.segment, this.session, this.#count);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#beating = this.#beat();
    }, this.intervalMs);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    this.#timer = null;
    const count = this.#count;
    if (this.#stopped || count === null) return;
    try {
      const { success, current } = await this.segments.updateAttribute(this.segment, heartbeatKey(this.session), count, count + 1);
      if (success) {
        this.#count = count + 1;
      } else if (current === null) {
        this.#count = null;
        if (!this.#stopped) this.onLost();
        return;
      } else {
        this.#count = typeof current === 'number' ? current : count;
      }
    } catch (error) {
      this.logger.debug({ err: error, session: this.session }, 'reader group: heartbeat failed; trying again');
    }
    this.#schedule();
  }
}

/** Removes a session's counter if it still reads `expected` (ignored when it moved or is gone). */
export async function removeHeartbeat(segments: SegmentOperations, segment: string, session: string, expected: number | null): Promise<void> {
  if (expected === null) return;
  await segments.updateAttribute(segment, heartbeatKey(session), expected, null);
}
