import { describe, expect, it } from 'vitest';
import { LOCAL_VERSION_RANGE, negotiateVersion, OLDEST_COMPATIBLE_VERSION, OLDEST_REPLICATION_VERSION, PROTOCOL_VERSION } from './version.js';

describe('negotiateVersion', () => {
  it('picks the highest version both ranges share', () => {
    expect(negotiateVersion({ minVersion: 1, maxVersion: 3 }, { minVersion: 2, maxVersion: 5 })).toBe(3);
    expect(negotiateVersion({ minVersion: 2, maxVersion: 5 }, { minVersion: 1, maxVersion: 3 })).toBe(3);
    expect(negotiateVersion({ minVersion: 1, maxVersion: 9 }, { minVersion: 4, maxVersion: 4 })).toBe(4);
  });

  it('accepts ranges touching at one version', () => {
    expect(negotiateVersion({ minVersion: 1, maxVersion: 2 }, { minVersion: 2, maxVersion: 3 })).toBe(2);
  });

  it('refuses ranges that do not overlap, in either order', () => {
    expect(negotiateVersion({ minVersion: 1, maxVersion: 2 }, { minVersion: 3, maxVersion: 4 })).toBeNull();
    expect(negotiateVersion({ minVersion: 3, maxVersion: 4 }, { minVersion: 1, maxVersion: 2 })).toBeNull();
  });

  it('refuses an inverted (bogus) remote range', () => {
    expect(negotiateVersion(LOCAL_VERSION_RANGE, { minVersion: 5, maxVersion: 0 })).toBeNull();
  });

  it('agrees with itself: this build speaks to this build at its own version', () => {
    expect(OLDEST_COMPATIBLE_VERSION).toBeLessThanOrEqual(PROTOCOL_VERSION);
    expect(negotiateVersion(LOCAL_VERSION_RANGE, LOCAL_VERSION_RANGE)).toBe(PROTOCOL_VERSION);
  });

  it('serves version-2 clients, and replicates only at version 3 or later (Replicate gained the commit point, SendSnapshot came)', () => {
    expect(negotiateVersion(LOCAL_VERSION_RANGE, { minVersion: 2, maxVersion: 2 })).toBe(2);
    expect(OLDEST_REPLICATION_VERSION).toBe(3);
    expect(OLDEST_REPLICATION_VERSION).toBeLessThanOrEqual(PROTOCOL_VERSION);
  });
});
