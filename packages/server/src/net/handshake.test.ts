import { LOCAL_VERSION_RANGE, type CommandOf } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';

import { StaticRoles } from '../cluster/static-roles.js';
import { answerHello } from './handshake.js';

const roles = new StaticRoles(['127.0.0.1:9091', '127.0.0.1:9092'], 4, '127.0.0.1:9091');

function hello(fields: Partial<CommandOf<'Hello'>> = {}): CommandOf<'Hello'> {
  return { type: 'Hello', ...LOCAL_VERSION_RANGE, clusterFingerprint: null, node: null, ...fields };
}

describe('answerHello', () => {
  it("accepts a peer that speaks this node's versions, with or without a fingerprint, and names this node", () => {
    for (const clusterFingerprint of [null, roles.fingerprint]) {
      const outcome = answerHello(hello({ clusterFingerprint }), roles);
      expect(outcome).toEqual({
        accepted: true,
        version: LOCAL_VERSION_RANGE.maxVersion,
        reply: { type: 'Hello', ...LOCAL_VERSION_RANGE, clusterFingerprint: roles.fingerprint, node: '127.0.0.1:9091' },
      });
    }
  });

  it('tells the connection the version it negotiated: the highest both speak', () => {
    expect(answerHello(hello({ minVersion: 2, maxVersion: 2 }), roles)).toMatchObject({ accepted: true, version: 2 });
  });

  it('refuses versions outside the range with UNSUPPORTED_VERSION, saying what this node speaks', () => {
    const outcome = answerHello(hello({ minVersion: 1, maxVersion: 1 }), roles);
    expect(outcome.accepted).toBe(false);
    if (outcome.accepted) return;
    expect(outcome.code).toBe('UNSUPPORTED_VERSION');
    expect(outcome.message).toContain(`this node speaks ${LOCAL_VERSION_RANGE.minVersion}-${LOCAL_VERSION_RANGE.maxVersion}`);
  });

  it('refuses another cluster with CLUSTER_MISMATCH, naming the peer, the members and what to change', () => {
    const outcome = answerHello(hello({ clusterFingerprint: 'other', node: '127.0.0.1:9999' }), roles);
    expect(outcome.accepted).toBe(false);
    if (outcome.accepted) return;
    expect(outcome.code).toBe('CLUSTER_MISMATCH');
    expect(outcome.message).toContain('of 127.0.0.1:9999');
    expect(outcome.message).toContain('members 127.0.0.1:9091,127.0.0.1:9092, 4 containers');
    expect(outcome.message).toContain('--cluster list and --containers');
  });
});
