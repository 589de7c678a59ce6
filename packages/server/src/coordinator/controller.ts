import type { Campaign, Namespace } from 'etcd3';
import type { Logger } from 'pino';

import type { EtcdMirror } from './etcd-mirror.js';
import { firstCandidate, planAssignments, type PlacementInput } from './placement.js';
import {
  containerOfAssignmentKey,
  decodeAssignment,
  decodeEpoch,
  decodeStartedAt,
  KEYS,
  type Assignment,
  type ClusterFacts,
} from './records.js';

/** Changes arrive in bursts (a node's key and its containers): plan once they settle. */
const DEBOUNCE_MS = 50;
/** A first controller of an empty cluster waits this long for the nodes starting with it to register. */
const FIRST_PLACEMENT_DELAY_MS = 1_000;
const RECAMPAIGN_DELAY_MS = 500;

/**
 * The data plane's choice of a new primary for a container whose primary is gone, among its live
 * in-sync replicas (e.g. the one with the longest log); null or a name not offered: the first.
 */
export type ChooseNewPrimary = (container: number, liveReplicaIds: readonly string[]) => Promise<string | null>;

export interface ControllerOptions {
  etcd: Namespace;
  mirror: EtcdMirror;
  self: string;
  facts: ClusterFacts;
  leaseTtlMs: number;
  chooseNewPrimary: ChooseNewPrimary;
  logger: Logger;
}

/**
 * Every node runs one; the one elected (etcd3's election, under the controller key) plans and writes
 * assignments. Each write is a transaction that succeeds only if the assignment key is unchanged
 * since this controller read it: a controller that raced another (or lost the election without
 * knowing yet) writes nothing, and plans again from what etcd now holds.
 */
export class Controller {
  private campaign: Campaign | null = null;
  private leading = false;
  private planning = false;
  private replan = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** When each member was last seen gone; a replica gone less than the lease TTL ago is kept. */
  private readonly goneSince = new Map<string, number>();
  /** Each member's startedAt as last seen (followed on every node, leading or not): a new value means it restarted. */
  private readonly startedAt = new Map<string, string>();
  /** Members that restarted since the last plan that was written in full. */
  private returned = new Set<string>();

  constructor(private readonly options: ControllerOptions) {
    for (const [key, entry] of options.mirror.withPrefix(KEYS.membersPrefix)) this.noteMember(key, entry.value);
    options.mirror.on('change', (key) => {
      const entry = options.mirror.get(key);
      if (key.startsWith(KEYS.membersPrefix) && entry !== undefined) this.noteMember(key, entry.value);
      this.schedule(DEBOUNCE_MS);
    });
  }

  private noteMember(key: string, value: string): void {
    const node = key.slice(KEYS.membersPrefix.length);
    const started = decodeStartedAt(value);
    const before = this.startedAt.get(node);
    if (before !== undefined && before !== started) this.returned.add(node);
    this.startedAt.set(node, started);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.closed) return;
    const { etcd, self, leaseTtlMs, logger } = this.options;
    const campaign = etcd.election(KEYS.controller, Math.max(1, Math.round(leaseTtlMs / 1000))).campaign(self);
    this.campaign = campaign;
    campaign.on('elected', () => {
      if (this.campaign !== campaign) return;
      this.leading = true;
      logger.info({ node: self }, 'elected controller');
      const empty = [...this.options.mirror.withPrefix(KEYS.assignmentsPrefix)].length === 0;
      this.schedule(empty ? FIRST_PLACEMENT_DELAY_MS : 0);
    });
    campaign.on('error', (error) => {
      if (this.campaign !== campaign) return;
      if (this.leading) logger.warn({ err: error }, 'controller lost its election; campaigning again');
      this.leading = false;
      this.campaign = null;
      if (!this.closed) setTimeout(() => this.start(), RECAMPAIGN_DELAY_MS).unref();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.leading = false;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.campaign?.resign().catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (!this.leading || this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.plan();
    }, delayMs);
    this.timer.unref();
  }

  private async plan(): Promise<void> {
    if (this.planning) {
      this.replan = true;
      return;
    }
    this.planning = true;
    try {
      await this.planOnce();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'planning assignments failed; trying again');
      this.schedule(this.options.leaseTtlMs / 4);
    } finally {
      this.planning = false;
      if (this.replan) {
        this.replan = false;
        this.schedule(0);
      }
    }
  }

  /**
   * Asks the data plane, for every container that needs a new primary, which candidate to take
   * (a dry run of the plan finds them), and answers the plan's synchronous question from that.
   */
  private async choosePrimaries(input: PlacementInput): Promise<PlacementInput['chooseNewPrimary']> {
    const asked: Array<{ container: number; candidates: readonly string[] }> = [];
    planAssignments({
      ...input,
      chooseNewPrimary: (container, candidates) => {
        asked.push({ container, candidates });
        return candidates[0]!;
      },
    });
    const chosen = new Map<number, string>();
    await Promise.all(
      asked.map(async ({ container, candidates }) => {
        const choice = await this.options.chooseNewPrimary(container, candidates).catch((error: unknown) => {
          this.options.logger.warn({ err: error, container }, 'choosing a new primary failed; taking the first live replica');
          return null;
        });
        if (choice !== null && candidates.includes(choice)) chosen.set(container, choice);
      }),
    );
    return (container, candidates) => {
      const choice = chosen.get(container);
      return choice !== undefined && candidates.includes(choice) ? choice : candidates[0]!;
    };
  }

  private async planOnce(): Promise<void> {
    const { mirror } = this.options;
    const now = Date.now();
    const live = new Set<string>();
    for (const [key] of mirror.withPrefix(KEYS.membersPrefix)) live.add(key.slice(KEYS.membersPrefix.length));
    const returned = this.returned;
    this.returned = new Set();
    let allWritten = false;
    try {
      allWritten = await this.writePlan(now, live, returned);
    } finally {
      // Restarts are forgotten only once every assignment they changed is written.
      if (!allWritten) for (const node of returned) this.returned.add(node);
    }
  }

  /** Plans from what the mirror holds and writes the changes; true when every write succeeded. */
  private async writePlan(now: number, live: ReadonlySet<string>, returned: Set<string>): Promise<boolean> {
    const { mirror, facts, etcd, logger, leaseTtlMs } = this.options;
    const assignments = new Map<number, Assignment>();
    const revisions = new Map<number, number>();
    for (const [key, entry] of mirror.withPrefix(KEYS.assignmentsPrefix)) {
      const container = containerOfAssignmentKey(key);
      const assignment = decodeAssignment(entry.value);
      if (container === null || assignment === null) continue;
      assignments.set(container, assignment);
      revisions.set(container, entry.modRevision);
      for (const node of assignment.replicas) if (!live.has(node) && !this.goneSince.has(node)) this.goneSince.set(node, now);
    }
    for (const node of live) {
      // Back after its key was gone (its lease expired): it may have missed records, like a restart.
      if (this.goneSince.delete(node)) returned.add(node);
    }
    const recentlyGone = new Set<string>();
    for (const [node, since] of this.goneSince) {
      if (now - since < leaseTtlMs) recentlyGone.add(node);
    }
    if (recentlyGone.size > 0) this.schedule(leaseTtlMs / 2); // look again once their grace ends

    const input: PlacementInput = {
      containerCount: facts.containers,
      replicationFactor: facts.replicationFactor,
      live,
      recentlyGone,
      returned,
      assignments,
      caughtUp: (container, node, epoch) => {
        const reported = mirror.get(KEYS.caughtUp(container, node));
        return reported !== undefined && (decodeEpoch(reported.value) ?? -1) >= epoch;
      },
      chooseNewPrimary: firstCandidate,
    };
    const changes = planAssignments({ ...input, chooseNewPrimary: await this.choosePrimaries(input) });

    let allWritten = true;
    for (const [container, assignment] of changes) {
      if (!this.leading) return false;
      const key = KEYS.assignment(container);
      const revision = revisions.get(container);
      const before = assignments.get(container);
      const newlyJoining = assignment.joining.filter((node) => !(before?.joining ?? []).includes(node));
      const result = await etcd
        .if(key, revision === undefined ? 'Create' : 'Mod', '==', revision ?? 0)
        .then(
          etcd.put(key).value(JSON.stringify(assignment)),
          // A replica joining again must report again: drop what it said last time.
          ...newlyJoining.map((node) => etcd.delete().key(KEYS.caughtUp(container, node))),
        )
        .commit();
      if (result.succeeded) {
        logger.info({ container, ...assignment, was: before ?? null }, 'assignment written');
      } else {
        allWritten = false;
        logger.info({ container }, 'assignment changed under this controller; planning again');
      }
    }
    return allWritten;
  }
}
