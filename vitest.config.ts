import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (pkg: string, entry = 'index'): string => fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Unit and in-process tests run against the sources; server processes run the built CLI.
    // (A subpath before its package: an alias also matches the paths below its name.)
    alias: {
      '@sluice/client/internal': source('client', 'internal'),
      '@sluice/protocol': source('protocol'),
      '@sluice/client': source('client'),
      '@sluice/server': source('server'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Heap-per-flow measurements collect garbage first.
    execArgv: ['--expose-gc'],
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results.json' },
  },
});
