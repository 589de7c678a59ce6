import type { Assignment } from './records.js';

/**
 * Picks the new primary of a container whose primary is gone, among its live replicas that are in
 * sync (never empty), synchronously: the controller resolves the data plane's (asynchronous) choice
 * first and hands the answers in. The default takes the first (replicas are kept primary first, so it
 * is the next in line).
 */
export type PickPrimary = (container: number, candidates: readonly string[]) => string;

export const firstCandidate: PickPrimary = (_container, candidates) => candidates[0]!;

export interface PlacementInput {
  containerCount: number;
  replicationFactor: number;
  /** Members whose lease is alive. */
  live: ReadonlySet<string>;
  /** Members gone for less than the grace period: still replicas (they may return), never primaries. */
  recentlyGone: ReadonlySet<string>;
  /** Members that came back (restarted) since the last plan: their replicas must catch up again. */
  returned?: ReadonlySet<string>;
  assignments: ReadonlyMap<number, Assignment>;
  /** Whether the container's primary reported node caught up at this epoch. */
  caughtUp(container: number, node: string, epoch: number): boolean;
  chooseNewPrimary: PickPrimary;
}

/**
 * The controller's one decision, a pure function of what etcd holds: the assignments to write
 * (only those that change). In order:
 *  1. a container whose primary is not live gets a new one from its live in-sync replicas, epoch + 1;
 *     replicas gone for longer than the grace period are dropped; joining replicas that caught up join;
 *     a replica on a node that restarted joins again (it may have missed records while away), and
 *     if it was primary, an in-sync replica takes over in a new epoch;
 *  2. a container short of replicas gets the least loaded live members (as joining, unless the
 *     container is brand new and has nothing to catch up on);
 *  3. a container with more replicas than the factor (after a move) drops the extra, once none joins;
 *  4. only when nothing else changed and nothing is catching up, one step of balancing: move a primary
 *     to an in-sync replica on a less loaded member (epoch + 1), or add a replica on a less loaded
 *     member (it catches up first; step 3 then drops one from the most loaded).
 * Repeated after every change, this spreads primaries and replicas evenly (within one) over the
 * live members, and every primary move is "catch up first, then switch".
 */
export function planAssignments(input: PlacementInput): Map<number, Assignment> {
  const { live, replicationFactor } = input;
  const liveList = [...live].sort();
  const next = new Map<number, Assignment>();
  for (let container = 0; container < input.containerCount; container++) {
    const current = input.assignments.get(container) ?? { epoch: 0, primary: null, replicas: [], joining: [] };
    next.set(container, settle(container, current, input));
  }

  const load = loadOf(next, liveList);
  for (let container = 0; container < input.containerCount; container++) {
    const assignment = next.get(container)!;
    const target = Math.min(replicationFactor, liveList.length);
    const liveReplicas = (): number => assignment.replicas.filter((node) => live.has(node)).length;
    const brandNew = assignment.replicas.length === 0;
    while (liveReplicas() < target) {
      const candidates = liveList.filter((node) => !assignment.replicas.includes(node));
      if (candidates.length === 0) break;
      const makePrimary = assignment.primary === null && brandNew;
      const node = leastLoaded(candidates, load, makePrimary);
      assignment.replicas.push(node);
      load.replicas.set(node, load.replicas.get(node)! + 1);
      if (makePrimary) {
        assignment.primary = node;
        assignment.epoch += 1;
        load.primaries.set(node, load.primaries.get(node)! + 1);
      } else if (!brandNew) {
        assignment.joining.push(node);
      }
    }
    trimExtraReplicas(assignment, replicationFactor, load, live);
  }

  const changed = new Map<number, Assignment>();
  for (const [container, assignment] of next) {
    if (!sameAssignment(input.assignments.get(container), assignment)) changed.set(container, assignment);
  }
  const catchingUp = [...next.values()].some((assignment) => assignment.joining.length > 0);
  if (changed.size === 0 && !catchingUp && liveList.length > 1) {
    const step = balanceStep(next, load, liveList);
    if (step !== null) changed.set(step.container, step.assignment);
  }
  return changed;
}

/** Step 1 for one container: a copy with dead primaries replaced, long-gone replicas dropped, caught-up replicas joined. */
function settle(container: number, current: Assignment, input: PlacementInput): Assignment {
  const { live, recentlyGone } = input;
  // The last holders of a container's log are never dropped: with none of them live, wait for one to return.
  const anyLive = current.replicas.some((node) => live.has(node));
  const assignment: Assignment = {
    epoch: current.epoch,
    primary: current.primary,
    replicas: anyLive ? current.replicas.filter((node) => live.has(node) || recentlyGone.has(node)) : [...current.replicas],
    joining: current.joining.filter((node) => current.replicas.includes(node) && !input.caughtUp(container, node, current.epoch)),
  };
  assignment.joining = assignment.joining.filter((node) => assignment.replicas.includes(node));
  const restartedPrimary = assignment.primary !== null && input.returned?.has(assignment.primary) === true;
  for (const node of assignment.replicas) {
    if (input.returned?.has(node) && !assignment.joining.includes(node)) assignment.joining.push(node);
  }
  if (assignment.primary === null || !live.has(assignment.primary) || restartedPrimary) {
    const inSync = assignment.replicas.filter((node) => live.has(node) && !assignment.joining.includes(node));
    // With no live replica known in sync (say the others were still catching up when the primary
    // died, or all of them restarted), any live replica may lead: a new primary serves only after it
    // fenced a majority of the replicas and took the longest log among them, so nothing acknowledged
    // is lost, and the data plane's choice prefers the longest log anyway.
    const candidates = inSync.length > 0 ? inSync : assignment.replicas.filter((node) => live.has(node));
    if (candidates.length > 0) {
      const chosen = input.chooseNewPrimary(container, candidates);
      assignment.joining = assignment.joining.filter((node) => node !== chosen);
      setPrimary(assignment, chosen);
    } else if (assignment.primary !== null) {
      // No live replica holds the log: nobody can serve it until one returns.
      assignment.primary = null;
    }
  }
  return assignment;
}

function setPrimary(assignment: Assignment, node: string): void {
  assignment.primary = node;
  assignment.epoch += 1;
  assignment.replicas = [node, ...assignment.replicas.filter((replica) => replica !== node)];
}

interface Load {
  replicas: Map<string, number>;
  primaries: Map<string, number>;
}

function loadOf(assignments: ReadonlyMap<number, Assignment>, liveList: readonly string[]): Load {
  const load: Load = { replicas: new Map(liveList.map((node) => [node, 0])), primaries: new Map(liveList.map((node) => [node, 0])) };
  for (const assignment of assignments.values()) {
    for (const node of assignment.replicas) if (load.replicas.has(node)) load.replicas.set(node, load.replicas.get(node)! + 1);
    if (assignment.primary !== null && load.primaries.has(assignment.primary)) {
      load.primaries.set(assignment.primary, load.primaries.get(assignment.primary)! + 1);
    }
  }
  return load;
}

/** Fewest replicas (or, for a new primary, fewest primaries) first; names break ties so every controller agrees. */
function leastLoaded(candidates: readonly string[], load: Load, byPrimaries: boolean): string {
  const key = (node: string): [number, number] =>
    byPrimaries ? [load.primaries.get(node)!, load.replicas.get(node)!] : [load.replicas.get(node)!, load.primaries.get(node)!];
  return [...candidates].sort((a, b) => {
    const [a1, a2] = key(a);
    const [b1, b2] = key(b);
    return a1 - b1 || a2 - b2 || (a < b ? -1 : a > b ? 1 : 0);
  })[0]!;
}

/** Step 3: past the factor, and only once no replica is catching up, drop dead replicas, then the most loaded backups. */
function trimExtraReplicas(assignment: Assignment, replicationFactor: number, load: Load, live: ReadonlySet<string>): void {
  while (assignment.replicas.length > replicationFactor && assignment.joining.length === 0) {
    const backups = assignment.replicas.filter((node) => node !== assignment.primary);
    const dead = backups.find((node) => !live.has(node));
    const drop =
      dead ?? backups.reduce((most, node) => (load.replicas.get(node)! > load.replicas.get(most)! ? node : most), backups[0]!);
    assignment.replicas = assignment.replicas.filter((node) => node !== drop);
    if (load.replicas.has(drop)) load.replicas.set(drop, load.replicas.get(drop)! - 1);
  }
}

/** Step 4: one move towards an even spread, primaries first. */
function balanceStep(
  next: ReadonlyMap<number, Assignment>,
  load: Load,
  liveList: readonly string[],
): { container: number; assignment: Assignment } | null {
  const extremes = (counts: Map<string, number>): { most: string; fewest: string; spread: number } => {
    const sorted = [...liveList].sort((a, b) => counts.get(a)! - counts.get(b)! || (a < b ? -1 : 1));
    const fewest = sorted[0]!;
    const most = sorted[sorted.length - 1]!;
    return { most, fewest, spread: counts.get(most)! - counts.get(fewest)! };
  };

  const primaries = extremes(load.primaries);
  if (primaries.spread > 1) {
    for (const [container, assignment] of next) {
      if (assignment.primary === primaries.most && assignment.replicas.includes(primaries.fewest)) {
        const moved = { ...assignment, replicas: [...assignment.replicas], joining: [] };
        setPrimary(moved, primaries.fewest);
        return { container, assignment: moved };
      }
    }
  }

  const replicas = extremes(load.replicas);
  if (replicas.spread > 1) {
    for (const [container, assignment] of next) {
      const holdsBackup = assignment.replicas.includes(replicas.most) && assignment.primary !== replicas.most;
      if (holdsBackup && !assignment.replicas.includes(replicas.fewest)) {
        return {
          container,
          assignment: { ...assignment, replicas: [...assignment.replicas, replicas.fewest], joining: [replicas.fewest] },
        };
      }
    }
  }
  return null;
}

function sameAssignment(a: Assignment | undefined, b: Assignment): boolean {
  if (a === undefined) return b.replicas.length === 0;
  return (
    a.epoch === b.epoch &&
    a.primary === b.primary &&
    a.replicas.join(',') === b.replicas.join(',') &&
    a.joining.join(',') === b.joining.join(',')
  );
}
