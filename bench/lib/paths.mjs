// Where the bench lives and where it keeps its data.
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_ROOT = resolve(BENCH_DIR, '..');
export const RESULTS_FILE = join(BENCH_DIR, 'results', 'latest.json');
export const DOCS_MD = join(REPO_ROOT, 'docs', 'benchmarks.md');
export const DOCS_SVG = join(REPO_ROOT, 'docs', 'benchmarks.svg');
/** The results behind the published numbers, committed beside them. */
export const DOCS_JSON = join(REPO_ROOT, 'docs', 'benchmarks.json');

/**
 * Server data dirs, peers' files and the fsync probe go here. It defaults to a folder in the work
 * tree (not os.tmpdir(), which is tmpfs on many systems, where fsync costs nothing and the numbers
 * would lie). Override with SLUICE_BENCH_DATA_DIR or --data-dir.
 */
export const DEFAULT_DATA_DIR = process.env.SLUICE_BENCH_DATA_DIR
  ? resolve(process.env.SLUICE_BENCH_DATA_DIR)
  : join(BENCH_DIR, '.data');
