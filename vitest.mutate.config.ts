import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (pkg: string): string => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

/**
 * The suite StrykerJS runs against each mutant (stryker.config.mjs): the unit and in-process tests.
 * Stryker runs them in worker threads, which take no node flags, so the heap-per-flow test measures
 * nothing there and is left out.
 */
export default defineConfig({
  resolve: {
    alias: {
      '@sluice/protocol': source('protocol'),
      '@sluice/client': source('client'),
      '@sluice/server': source('server'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts'],
    testNamePattern: /^(?!.*carries 10,000 flows)/,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
