import { describe, expect, it } from 'vitest';
import { Pauses } from './backoff.js';

describe('backoff pauses', () => {
  it('endAll ends any number of pauses at once, without a listener per pause, and later ones do not wait', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const pauses = new Pauses();
      const started = Date.now();
      const all = Promise.all(Array.from({ length: 50 }, () => pauses.pause(60_000)));
      pauses.endAll();
      await all;
      await pauses.pause(60_000);
      expect(Date.now() - started).toBeLessThan(1_000);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a pause not ended lasts its time', async () => {
    const started = Date.now();
    await new Pauses().pause(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
