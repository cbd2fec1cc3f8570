/**
 * Rewrites the corpus expectations from what lvsd produces now:
 *   npx tsx test/golden/config/regen.ts [NAME...]
 * Review every changed file (git diff) before committing: an unread expectation proves nothing.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { lines, listCases, loadCase, modelJson } from './corpus-lib.js';

const only = process.argv.slice(2);
for (const kind of ['good', 'bad'] as const) {
  for (const c of listCases(kind)) {
    if (only.length && !only.includes(c.name)) continue;
    const r = loadCase(c);
    const ls = lines(r);
    if (kind === 'good') {
      writeFileSync(`${c.base}.json`, modelJson(r));
      if (ls.length) writeFileSync(`${c.base}.warnings`, ls.join('\n') + '\n');
      else rmSync(`${c.base}.warnings`, { force: true });
      if (!r.ok) console.error(`good/${c.name}: does NOT load:\n  ${ls.join('\n  ')}`);
    } else {
      writeFileSync(`${c.base}.expected`, ls.join('\n') + '\n');
      if (r.ok) console.error(`bad/${c.name}: loads without error`);
    }
    console.log(`${kind}/${c.name}: ${r.ok ? 'ok' : 'errors'}, ${ls.length} diagnostic(s)`);
  }
}
