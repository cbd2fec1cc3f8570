/**
 * docs/configuration.md documents exactly the keywords the parser knows (its keyword
 * reference is generated from the table: run test/golden/config/regen.ts after a change),
 * and docs/errors.md lists every configuration diagnostic code and every other code the
 * sources define.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CODES } from '../../../src/config/diagnostics.js';
import { DOC_BEGIN, DOC_END, renderKeywordReference } from '../../../src/config/docgen.js';
import { allBlocks } from '../../../src/config/keywords.js';

const read = (p: string) => readFileSync(fileURLToPath(new URL(`../../../${p}`, import.meta.url)), 'utf8');

test('the keyword reference in docs/configuration.md is current', () => {
  const doc = read('docs/configuration.md');
  const a = doc.indexOf(DOC_BEGIN);
  const b = doc.indexOf(DOC_END);
  assert.ok(a >= 0 && b > a, 'markers missing');
  assert.equal(doc.slice(a + DOC_BEGIN.length, b).trim(), renderKeywordReference().trim(), 'run npx tsx test/golden/config/regen.ts');
  for (const block of allBlocks()) {
    for (const kw of Object.keys(block.keywords)) assert.ok(doc.includes(`\`${kw}\``), `${block.name}.${kw} is not documented`);
  }
});

test('docs/errors.md lists every configuration code', () => {
  const doc = read('docs/errors.md');
  const section = doc.slice(doc.indexOf('## Configuration'));
  assert.ok(doc.includes('## Configuration'), 'no Configuration section');
  for (const code of Object.values(CODES)) assert.ok(section.includes(`\`${code}\``), `${code} missing`);
});

/** Every `.ts` file under src/ and the addon's C sources. */
function sources(): string[] {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = join(dir, name);
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.ts') || name.endsWith('.c')) out.push(rel);
    }
  };
  walk('src');
  walk('native/src');
  return out;
}

test('docs/errors.md lists every ERR_/WARN_ code defined in src/ and native/', () => {
  const doc = read('docs/errors.md');
  const documented = new Set([...doc.matchAll(/`((?:ERR|WARN)_[A-Z0-9_]+)`/g)].map((m) => m[1]!));
  const missing: string[] = [];
  let found = 0;
  for (const file of sources()) {
    const text = read(file);
    // A code is a quoted literal. A literal inside startsWith(...) is a prefix of someone
    // else's codes (Node's ERR_SSL_*, ERR_TLS_* in src/check/outcome.ts), not one of ours.
    for (const m of text.matchAll(/(startsWith\(\s*)?['"`]((?:ERR|WARN)_[A-Z][A-Z0-9_]*)['"`]/g)) {
      if (m[1]) continue;
      found++;
      if (!documented.has(m[2]!)) missing.push(`${m[2]} (${file})`);
    }
  }
  assert.ok(found > 50, `only ${found} code literals found: the scan is broken`);
  assert.deepEqual([...new Set(missing)], []);
});
