/**
 * A group waits only if it is decided on within this long after the acknowledgement: writers that
 * take longer to append again are not in a tight loop, and waiting for them would only add latency.
 */
const RETURN_WINDOW_MS = 2;
/** How long a group waits at most (a timer: Node's granularity is 1 ms). */
export const RETURN_DEADLINE_MS = 1;
/** Groups written without waiting after a wait that ended at its deadline: doubles with each miss, up to MAX. */
const MIN_PAUSE_GROUPS = 8;
const MAX_PAUSE_GROUPS = 1024;

/** A queued append, as far as waiting is concerned: which writer made it, if any. */
export interface Appended {
  readonly origin?: string;
}

/**
 * Decides when a group commit should wait for writers that are about to append again.
 *
 * With one sync in flight at a time and writers that each await their append, N writers settle into
 * two alternating groups of N/2: the writers acknowledged by one sync append again while the next
 * group is already being written, so each sync covers half of them. Postgres (commit_delay) and MySQL
 * (binlog_group_commit_sync_delay) answer with a fixed delay before every sync, which a lone writer
 * pays too. This waits only for writers known to be coming: those the last sync acknowledged less than
 * RETURN_WINDOW_MS ago that have not appended again yet (they will, one round trip after their
 * acknowledgement). A lone writer has nobody to wait for and is written at once. When most of the
 * writers do not come back (they stopped, or their next append went to another container), the wait
 * ends at the deadline and the next groups are written without waiting, for a number of groups that
 * doubles with each such miss, so a pattern that never pays costs almost nothing.
 */
export class ReturningWriters {
  /** Writers the last durable group acknowledged. */
  private acknowledged = new Set<string>();
  private acknowledgedAt = 0;
  /** Whether the next group has been decided on since the last acknowledgement. */
  private decided = true;
  /** While waiting: the acknowledged writers not back yet, and how many there were at the start. */
  private missing: Set<string> | null = null;
  private awaited = 0;
  private pausedGroups = 0;
  private nextPause = MIN_PAUSE_GROUPS;

  constructor(private readonly now: () => number = performance.now.bind(performance)) {}

  /** A group is durable and its writers acknowledged: they are the ones expected back. */
  acknowledge(group: readonly Appended[]): void {
    this.acknowledged = new Set();
    for (const { origin } of group) if (origin) this.acknowledged.add(origin);
    this.acknowledgedAt = this.now();
    this.decided = false;
  }

  /**
   * Whether to wait before writing `queued`, decided once per acknowledged group: true when writers it
   * acknowledged are not in the queue yet and may still come back in time. Then call arrived() for each
   * later append, and write when it says so or at the deadline (deadlinePassed()).
   */
  shouldWait(queued: readonly Appended[]): boolean {
    if (this.decided) return false;
    this.decided = true;
    if (this.acknowledged.size === 0 || this.now() - this.acknowledgedAt >= RETURN_WINDOW_MS) return false;
    if (this.pausedGroups > 0) {
      this.pausedGroups -= 1;
      return false;
    }
    const missing = new Set(this.acknowledged);
    for (const { origin } of queued) if (origin) missing.delete(origin);
    if (missing.size === 0) return false;
    this.missing = missing;
    this.awaited = missing.size;
    return true;
  }

  /** An append arrived while waiting; true when the wait is over (enough writers are back). */
  arrived(origin: string | undefined): boolean {
    if (this.missing === null || origin === undefined || !this.missing.delete(origin)) return false;
    // The last eighth are not worth a round trip of everyone else: they join the next group.
    if (this.missing.size > this.awaited >> 3) return false;
    this.missing = null;
    this.nextPause = Math.max(MIN_PAUSE_GROUPS, this.nextPause >> 1);
    return true;
  }

  /** The deadline passed before enough writers came back; a miss unless at least half of them did. */
  deadlinePassed(): void {
    const stillMissing = this.missing?.size ?? 0;
    this.missing = null;
    if (stillMissing * 2 <= this.awaited) return;
    this.pausedGroups = this.nextPause;
    this.nextPause = Math.min(MAX_PAUSE_GROUPS, this.nextPause * 2);
  }
}
