import type { ClientContext } from '../client-context.js';
import { SegmentIsTruncatedError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Revision } from '../revisioned/revision.js';
import type { RevisionedClient } from '../revisioned/revisioned-client.js';
import { decodeState, encodeState, type GroupState } from './group-state.js';

/** Once the entries before the latest pass this many bytes, the writer of an entry truncates them. */
const COMPACT_AFTER_BYTES = 64 * 1024;
/** Pause after a failed watch read before the next one. */
const WATCH_RETRY_MS = 500;

/**
 * Keeps a local copy of a group's state in step with its revisioned stream (a state synchronizer):
 * `update(change)` applies a pure change to the latest state and appends the result at the revision
 * it was computed from; on a conflict it reads what others wrote and applies the change again.
 * `watch` parks one long-poll read at the tail, so a change by any reader is seen in about one round
 * trip without polling. Entries are whole states, so old ones are simply truncated away.
 */
export class GroupSynchronizer {
  #state: GroupState | null = null;
  #revision: Revision;
  #compactedTo = 0;
  #watching = false;
  #closed = false;

  constructor(
    private readonly context: ClientContext,
    private readonly revisioned: RevisionedClient,
    private readonly logger: Logger,
  ) {
    this.#revision = new Revision(revisioned.segment, 0);
  }

  get state(): GroupState {
    if (this.#state === null) throw new Error('group state read before it was loaded');
    return this.#state;
  }

  get loaded(): boolean {
    return this.#state !== null;
  }

  /** Loads the latest state; writes initial() first when the group has none yet. */
  async load(initial: () => Promise<GroupState>): Promise<GroupState> {
    await this.refresh();
    while (this.#state === null) {
      const state = await initial();
      const created = await this.revisioned.writeConditionally(this.#revision, encodeState(state));
      if (created === null) {
        await this.refresh();
      } else {
        this.#state = state;
        this.#revision = created;
      }
    }
    return this.#state;
  }

  /** Reads every entry written since the last one seen; the last is the state. */
  async refresh(): Promise<GroupState | null> {
    let from = this.#revision;
    for (;;) {
      try {
        let last: { revision: Revision; data: Buffer } | null = null;
        for await (const entry of this.revisioned.readFrom(from)) last = entry;
        if (last !== null) {
          this.#state = decodeState(last.data);
          this.#revision = last.revision;
        }
        return this.#state;
      } catch (error) {
        if (!(error instanceof SegmentIsTruncatedError)) throw error;
        // Compacted past what we saw: every entry is a whole state, so the oldest kept one will do.
        from = await this.revisioned.fetchOldestRevision();
      }
    }
  }

  /**
   * Applies change to the latest state and writes the result conditionally, again on each conflict.
   * Resolves with the state written, or null when change returned null (nothing to do).
   */
  async update(change: (state: GroupState) => GroupState | null): Promise<GroupState | null> {
    for (;;) {
      const next = change(this.state);
      if (next === null) return null;
      const at = this.#revision;
      const written = await this.revisioned.writeConditionally(at, encodeState(next));
      if (written === null) {
        await this.refresh();
        continue;
      }
      this.#state = next;
      this.#revision = written;
      await this.#compact(at);
      return next;
    }
  }

  /** Calls onChange after each change written by anyone (including this process), until close(). */
  watch(onChange: () => void): void {
    if (this.#watching) return;
    this.#watching = true;
    void this.#watchLoop(onChange);
  }

  close(): void {
    this.#closed = true;
  }

  async #watchLoop(onChange: () => void): Promise<void> {
    const segment = this.revisioned.segment;
    const waitMs = Math.min(10_000, Math.floor(this.context.settings.requestTimeoutMs / 2));
    while (!this.#closed && !this.context.closed) {
      try {
        const offset = this.#revision.offset;
        const reply = await this.context.segments.request(segment, (token) => ({
          type: 'ReadSegment',
          segment,
          offset,
          maxBytes: 1,
          waitMs,
          token,
        }));
        if (this.#closed) return;
        if (reply.data.byteLength > 0 || offset !== this.#revision.offset) {
          if (offset === this.#revision.offset) await this.refresh();
          onChange();
        }
      } catch (error) {
        if (this.#closed || this.context.closed) return;
        if (error instanceof SegmentIsTruncatedError) {
          await this.refresh().catch(() => undefined);
          continue;
        }
        this.logger.debug({ err: error, segment }, 'reader group: watching the state failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, WATCH_RETRY_MS));
      }
    }
  }

  /** Truncates the entries before `at` (the start of the entry just written) once they add up. */
  async #compact(at: Revision): Promise<void> {
    if (at.offset - this.#compactedTo < COMPACT_AFTER_BYTES) return;
    try {
      await this.revisioned.truncateToRevision(at);
      this.#compactedTo = at.offset;
    } catch (error) {
      // Another reader may have truncated further already; the next writer tries again.
      this.logger.debug({ err: error }, 'reader group: compacting the state stream failed');
    }
  }
}
