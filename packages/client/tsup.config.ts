import { packageBuild } from '../../tsup.shared.js';

// `cli` is the `sluice` bin (bin/sluice.mjs loads it); the library and `internal` (for sluice-server
// only: @sluice/client/internal) get declarations.
// shims: the CJS build gets import.meta.url, which loading the optional @opentelemetry/api needs.
export default packageBuild({
  entry: { index: 'src/index.ts', internal: 'src/internal.ts', cli: 'src/cli/bin.ts' },
  dts: { entry: { index: 'src/index.ts', internal: 'src/internal.ts' } },
  shims: true,
});
