#!/usr/bin/env node
// `npm run lab`: see src/lab/main.ts. The lab runs from the compiled tree (dist/), as lvsd does.
// Without dist/ it runs from the sources when tsx (a dev dependency) is installed, so that
// `npm run lab -- --down` still removes a kept lab after dist/ is gone; running the lab itself
// then says what to build.
import { existsSync } from 'node:fs';

const main = new URL('../dist/lab/main.js', import.meta.url);
let labMain;
if (existsSync(main)) {
  ({ labMain } = await import(main.href));
} else {
  let tsx = null;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    /* not installed */
  }
  if (!tsx) {
    process.stderr.write('lab: dist/ is not built; run `npm ci` (it builds through the prepare script) or `npm run build`\n');
    process.exit(1);
  }
  tsx.register();
  ({ labMain } = await import(new URL('../src/lab/main.ts', import.meta.url).href));
}
process.exit(await labMain(process.argv.slice(2)));
