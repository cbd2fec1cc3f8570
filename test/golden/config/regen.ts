/**
 * Rewrites the corpus expectations from what lvsd produces now:
 *   npx tsx test/golden/config/regen.ts [NAME...]
 * Review every changed file (git diff) before committing: an unread expectation proves nothing.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DOC_BEGIN, DOC_END, renderKeywordReference } from '../../../src/config/docgen.js';
import { lines, listCases, loadCase, modelJson } from './corpus-lib.js';

// docs/configuration.md: the generated keyword reference.
const docPath = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
const doc = readFileSync(docPath, 'utf8');
const a = doc.indexOf(DOC_BEGIN);
const b = doc.indexOf(DOC_END);
if (a < 0 || b < a) throw new Error('docs/configuration.md lacks the keyword reference markers');
writeFileSync(docPath, doc.slice(0, a + DOC_BEGIN.length) + '\n\n' + renderKeywordReference() + '\n' + doc.slice(b));

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
