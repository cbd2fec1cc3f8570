/**
 * Bad input never crashes the loader: mutated corpus files (characters deleted, braces,
 * quotes, backslashes, `$`, `@`, `~SEQ` and YAML punctuation inserted) always come back as a
 * LoadResult, every diagnostic with a position inside the text. Deterministic (seeded).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfigText } from '../../../src/config/load.js';
import { listCases } from '../../golden/config/corpus-lib.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INSERTS = ['{', '}', '"', "'", '\\', '$', '${X}', '$X=', '@x ', '~SEQ(N,1,3) ', '#', '!', '\n', ' ', ':', '- ', '[', ']', '0', '-1', '999999999999', '\t', '&a ', '*a'];

test('mutated configs never throw and every diagnostic points inside the text', () => {
  const random = rng(20260101);
  const files = [...listCases('good'), ...listCases('bad')].filter((c) => !c.entry.endsWith('main.conf'));
  let runs = 0;
  for (const c of files) {
    const original = readFileSync(c.entry, 'utf8');
    const yaml = c.entry.endsWith('.yaml');
    for (let k = 0; k < 12; k++) {
      let text = original;
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * (text.length + 1));
        if (random() < 0.4) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 8));
        else text = text.slice(0, at) + INSERTS[Math.floor(random() * INSERTS.length)] + text.slice(at);
      }
      const r = loadConfigText(text, yaml ? 'm.yaml' : 'm.conf', undefined, { hostname: 'h', configId: 'h' });
      const lines = text.split('\n');
      for (const d of r.ok ? r.warnings : r.diagnostics) {
        if (!d.pos || d.pos.file !== (yaml ? 'm.yaml' : 'm.conf')) continue;
        assert.ok(d.pos.line >= 1 && d.pos.line <= lines.length + 1, `line ${d.pos.line} out of range: ${d.message}`);
        assert.ok(d.pos.col >= 1 && d.pos.col <= (lines[d.pos.line - 1]?.length ?? 0) + 2, `col ${d.pos.col} out of range on line ${d.pos.line}: ${d.message}`);
      }
      runs++;
    }
  }
  assert.ok(runs > 500, `${runs} runs`);
});
