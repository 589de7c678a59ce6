// `npm start` on a fresh clone: build once if the server bundle is missing, so the first start just works.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

if (!existsSync(new URL('../packages/server/dist/cli.js', import.meta.url))) {
  execSync('npm run build', { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
}
