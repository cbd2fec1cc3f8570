/**
 * docs/configuration.md documents exactly the keywords the parser knows (its keyword
 * reference is generated from the table: run test/golden/config/regen.ts after a change),
 * and docs/errors.md lists every configuration diagnostic code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
