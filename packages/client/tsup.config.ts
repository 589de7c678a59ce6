import { packageBuild } from '../../tsup.shared.js';

// `cli` is the `sluice` bin (bin/sluice.mjs loads it); only the library gets declarations.
// shims: the CJS build gets import.meta.url, which loading the optional @opentelemetry/api needs.
export default packageBuild({ entry: { index: 'src/index.ts', cli: 'src/cli/bin.ts' }, dts: { entry: 'src/index.ts' }, shims: true });
