/**
 * The config corpus (see corpus-lib.ts): every good file loads into exactly its expected
 * model with exactly its expected warnings; every bad file fails with exactly its expected
 * diagnostics (file:line:col: path: message [CODE]), all of them at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { exitCodeFor, EXIT_CODES } from '../../../src/config/load.js';
import { lines, listCases, loadCase, modelJson } from './corpus-lib.js';

const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);
const asLines = (text: string | null) => (text ?? '').split('\n').filter((l) => l !== '');

const good = listCases('good');
const bad = listCases('bad');

test('the corpus has at least 20 good and 30 bad files', () => {
  assert.ok(good.length >= 20, `${good.length} good cases`);
  assert.ok(bad.length >= 30, `${bad.length} bad cases`);
});

for (const c of good) {
  test(`good/${c.name} loads into its expected model`, () => {
    const r = loadCase(c);
    assert.equal(r.ok, true, `does not load:\n${lines(r).join('\n')}`);
    assert.equal(exitCodeFor(r), EXIT_CODES.OK);
    const expected = read(`${c.base}.json`);
    assert.ok(expected, `missing ${c.base}.json (run test/golden/config/regen.ts and review it)`);
    assert.deepEqual(JSON.parse(modelJson(r)), JSON.parse(expected));
    assert.deepEqual(lines(r), asLines(read(`${c.base}.warnings`)));
  });
}

for (const c of bad) {
  test(`bad/${c.name} fails with exactly its expected diagnostics`, () => {
    const r = loadCase(c);
    assert.equal(r.ok, false, 'loaded without error');
    const expected = read(`${c.base}.expected`);
    assert.ok(expected, `missing ${c.base}.expected`);
    assert.deepEqual(lines(r), asLines(expected));
    const code = exitCodeFor(r);
    assert.ok(code === EXIT_CODES.CONFIG || code === EXIT_CODES.CONFIG_TEST, `exit code ${code}`);
  });
}

test('YAML files compile to the same model as their keepalived.conf twins', () => {
  const pairs: Array<[string, string]> = [
    ['01-vrrp-pair-master', '25-vrrp-pair-master'],
    ['07-sync-group-nat', '26-sync-group-nat'],
    ['10-fwmark-rules', '27-fwmark-rules'],
  ];
  for (const [conf, yaml] of pairs) {
    const a = loadCase(good.find((c) => c.name === conf)!);
    const b = loadCase(good.find((c) => c.name === yaml)!);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(b.model, a.model, `${yaml} differs from ${conf}`);
  }
});
