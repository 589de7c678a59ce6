import { defineConfig } from 'vitest/config';
import suite from './vitest.config.js';

/**
 * The suite StrykerJS runs against each mutant (stryker.config.mjs): the unit and in-process tests,
 * against the sources as `npm test` resolves them. Stryker runs them in worker threads, which take no
 * node flags, so the heap-per-flow test measures nothing there and is left out.
 */
export default defineConfig({
  resolve: suite.resolve,
  test: {
    include: ['packages/*/src/**/*.test.ts'],
    testNamePattern: /^(?!.*carries 10,000 flows)/,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
