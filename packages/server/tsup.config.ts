import { packageBuild } from '../../tsup.shared.js';

// The library (index) and the bin (cli). cli.ts starts with `#!/usr/bin/env node`, which esbuild
// keeps at the top of dist/cli.js and tsup makes executable.
export default packageBuild({
  entry: ['src/index.ts', 'src/cli.ts'],
  dts: { entry: 'src/index.ts' },
});
