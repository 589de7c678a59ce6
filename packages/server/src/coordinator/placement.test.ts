import { describe, expect, it } from 'vitest';

import { firstCandidate, planAssignments, type PlacementInput } from './placement.js';
import type { Assignment } from './records.js';

const CONTAINERS = 8;

/** Runs the controller's decision until it changes nothing (every replica catches up at once). */
function settle(assignments: Map<number, Assignment>, live: string[], recentlyGone: string[] = [], rf = 3): number {
  for (let round = 1; round <= 200; round++) {
    const input: PlacementInput = {
      containerCount: CONTAINERS,
      replicationFactor: rf,
      live: new Set(live),
      recentlyGone: new Set(recentlyGone),
      assignments,
      caughtUp: () => true,
      chooseNewPrimary: firstCandidate,
    };
    const changes = planAssignments(input);
    if (changes.size === 0) return round;
    for (const [container, assignment] of changes) assignments.set(container, assignment);
  }
  throw new Error('placement did not settle in 200 rounds');
}

function counts(assignments: Map<number, Assignment>, nodes: string[]): { primaries: number[]; replicas: number[] } {
  return {
    primaries: nodes.map((node) => [...assignments.values()].filter((a) => a.primary === node).length),
    replicas: nodes.map((node) => [...assignments.values()].filter((a) => a.replicas.includes(node)).length),
  };
}

const spread = (values: number[]): number => Math.max(...values) - Math.min(...values);

describe('planAssignments', () => {
  it('gives every container a primary and RF-1 backups, spread evenly, at epoch 1', () => {
    const nodes = ['n1', 'n2', 'n3'];
    const assignments = new Map<number, Assignment>();
    settle(assignments, nodes);
    expect(assignments.size).toBe(CONTAINERS);
    for (const assignment of assignments.values()) {
      expect(assignment.epoch).toBe(1);
      expect(assignment.replicas[0]).toBe(assignment.primary);
      expect(new Set(assignment.replicas).size).toBe(3);
    }
    const { primaries, replicas } = counts(assignments, nodes);
    expect(spread(primaries)).toBeLessThanOrEqual(1);
    expect(replicas).toEqual([8, 8, 8]);
  });

  it('moves the primaries of a dead node to its in-sync replicas with a higher epoch, keeping it as a replica while it may return', () => {
    const nodes = ['n1', 'n2', 'n3'];
    const assignments = new Map<number, Assignment>();
    settle(assignments, nodes);
    const before = new Map(assignments);
    settle(assignments, ['n1', 'n2'], ['n3']);
    for (const [container, assignment] of assignments) {
      expect(assignment.primary).not.toBe('n3');
      expect(assignment.replicas).toContain('n3');
      const was = before.get(container)!;
      if (was.primary === 'n3' || assignment.primary !== was.primary) expect(assignment.epoch).toBeGreaterThan(was.epoch);
      else expect(assignment.epoch).toBe(was.epoch);
    }
    expect(spread(counts(assignments, ['n1', 'n2']).primaries)).toBeLessThanOrEqual(1);
  });

  it('drops a replica gone past the grace period and keeps the rest even', () => {
    const assignments = new Map<number, Assignment>();
    settle(assignments, ['n1', 'n2', 'n3', 'n4']);
    settle(assignments, ['n1', 'n2', 'n3']);
    for (const assignment of assignments.values()) {
      expect(assignment.replicas).not.toContain('n4');
      expect(assignment.replicas).toHaveLength(3);
    }
  });

  it('moves containers to a node that joins: catch up first, then switch, until the spread is even', () => {
    const assignments = new Map<number, Assignment>();
    settle(assignments, ['n1', 'n2', 'n3']);
    const nodes = ['n1', 'n2', 'n3', 'n4'];
    settle(assignments, nodes);
    const { primaries, replicas } = counts(assignments, nodes);
    expect(primaries[3]).toBeGreaterThanOrEqual(1);
    expect(spread(primaries)).toBeLessThanOrEqual(1);
    expect(spread(replicas)).toBeLessThanOrEqual(1);
    for (const assignment of assignments.values()) expect(assignment.replicas).toHaveLength(3);
  });

  it('never makes a joining replica primary, and never switches while one catches up', () => {
    const assignments = new Map<number, Assignment>();
    settle(assignments, ['n1', 'n2']);
    const plan = planAssignments({
      containerCount: CONTAINERS,
      replicationFactor: 3,
      live: new Set(['n1', 'n2', 'n3']),
      recentlyGone: new Set(),
      assignments,
      caughtUp: () => false,
      chooseNewPrimary: firstCandidate,
    });
    for (const assignment of plan.values()) {
      expect(assignment.joining).toEqual(['n3']);
      expect(assignment.primary).not.toBe('n3');
    }
  });

  it('keeps the last holders of a log when none is live, with no primary until one returns', () => {
    const assignments = new Map<number, Assignment>([[0, { epoch: 4, primary: 'n1', replicas: ['n1', 'n2'], joining: [] }]]);
    const input = {
      containerCount: 1,
      replicationFactor: 2,
      recentlyGone: new Set<string>(),
      caughtUp: () => true,
      chooseNewPrimary: firstCandidate,
    };
    const down = planAssignments({ ...input, live: new Set(['n3']), assignments }).get(0)!;
    expect(down.primary).toBeNull();
    expect(down.replicas.slice(0, 2)).toEqual(['n1', 'n2']);
    assignments.set(0, down);
    const back = planAssignments({ ...input, live: new Set(['n2', 'n3']), assignments }).get(0)!;
    expect(back.primary).toBe('n2');
    expect(back.epoch).toBe(5);
  });
});

describe('planAssignments when no live replica is known in sync', () => {
  it('lets a live joining replica lead rather than leave the container without a primary', () => {
    // n1 led, n2 and n3 were still catching up; n1 and n2 died, n3 lives.
    const assignments = new Map<number, Assignment>([[0, { epoch: 2, primary: 'n1', replicas: ['n1', 'n2', 'n3'], joining: ['n2', 'n3'] }]]);
    const plan = planAssignments({
      containerCount: 1,
      replicationFactor: 3,
      live: new Set(['n3']),
      recentlyGone: new Set(['n1', 'n2']),
      assignments,
      caughtUp: () => false,
      chooseNewPrimary: firstCandidate,
    });
    const assignment = plan.get(0)!;
    expect(assignment.primary).toBe('n3');
    expect(assignment.epoch).toBe(3);
    expect(assignment.joining).toEqual(['n2']);
  });
});

describe('planAssignments with a node that restarted', () => {
  it('makes its replicas catch up again, and moves its primaries to in-sync replicas in a new epoch', () => {
    const assignments = new Map<number, Assignment>();
    settle(assignments, ['n1', 'n2', 'n3']);
    const led = [...assignments].filter(([, assignment]) => assignment.primary === 'n2').map(([container]) => container);
    const plan = planAssignments({
      containerCount: CONTAINERS,
      replicationFactor: 3,
      live: new Set(['n1', 'n2', 'n3']),
      recentlyGone: new Set(),
      returned: new Set(['n2']),
      assignments,
      caughtUp: () => false,
      chooseNewPrimary: firstCandidate,
    });
    expect(plan.size).toBe(CONTAINERS);
    for (const [container, assignment] of plan) {
      expect(assignment.joining).toEqual(['n2']);
      expect(assignment.primary).not.toBe('n2');
      expect(assignment.epoch).toBe(led.includes(container) ? 2 : 1);
    }
  });
});
