#!/usr/bin/env node
// The `sluice` bin: a committed file (so npm links it before anything is built) that loads the
// built CLI, or says how to build it.
try {
  await import('../dist/cli.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js')) {
    process.stderr.write('sluice: the CLI is not built yet; run `npm run build` in the repository first\n');
    process.exit(1);
  }
  throw error;
}
