import { packageBuild } from '../../tsup.shared.js';

// `cli` is the `sluice` bin (bin/sluice.mjs loads it); only the library gets declarations.
export default packageBuild({ entry: { index: 'src/index.ts', cli: 'src/cli/bin.ts' }, dts: { entry: 'src/index.ts' } });
