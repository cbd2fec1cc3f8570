#!/usr/bin/env node
// `npm run lab`: see src/lab/main.ts. The lab runs from the compiled tree (dist/), as lvsd does.
import { existsSync } from 'node:fs';

const main = new URL('../dist/lab/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('lab: dist/ is not built; run `npm ci` (it builds through the prepare script) or `npm run build`\n');
  process.exit(1);
}
const { labMain } = await import(main.href);
process.exit(await labMain(process.argv.slice(2)));
