import type { SluiceClient } from '@sluice/client';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { AutoScaler } from './auto-scaler.js';

const scalers: AutoScaler[] = [];
afterEach(async () => {
  await Promise.all(scalers.splice(0).map((scaler) => scaler.close()));
});

describe('AutoScaler', () => {
  it('logs a round whose owned segments cannot be listed and tries again, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    let rounds = 0;
    const client = { close: async () => undefined } as unknown as SluiceClient;
    const scaler = new AutoScaler(
      client,
      () => {
        rounds += 1;
        throw new Error('container 3 is not writable: promoting');
      },
      10,
      logger,
    );
    scalers.push(scaler);
    scaler.start();
    while (rounds < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
    expect(warnings.some((line) => line.includes('auto-scaling round failed') && line.includes('promoting'))).toBe(true);
  });
});
