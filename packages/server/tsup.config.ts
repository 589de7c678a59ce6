import { defineConfig } from 'tsup';

// One build for the library (index) and the bin (cli). cli.ts starts with `#!/usr/bin/env node`,
// which esbuild keeps at the top of dist/cli.js and tsup makes executable.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
});
