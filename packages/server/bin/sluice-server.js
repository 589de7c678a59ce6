#!/usr/bin/env node
// Committed so that `npm ci` links the bin in a fresh clone; it runs the built CLI (npm run build).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('sluice-server: the CLI is not built yet; run `npm run build` (or `npm start`) first\n');
  process.exit(1);
}
await import(cli.href);
