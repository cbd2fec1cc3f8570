/**
 * The config corpus (see corpus-lib.ts): every good file loads into exactly its expected
 * model with exactly its expected warnings; every bad file fails with exactly its expected
 * diagnostics (file:line:col: path: message [CODE]), all of them at once; each with exactly
 * the `lvsd --test` exit code keepalived -t gives it.
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

/**
 * `lvsd --test` exit codes (keepalived's): good files exit 0, or 6 when they run scripts
 * without enable_script_security (keepalived's SECURITY VIOLATION); bad files exit 5, or 4
 * when the only errors are files that cannot be read.
 */
const GOOD_EXIT_6 = new Set([
  '02-vrrp-pair-backup', '07-sync-group-nat', '13-trackers', '14-notify-scripts', '16-udp-dns',
  '17-sorry-server-quorum', '19-params-conditionals', '22-timing-inheritance', '26-sync-group-nat',
]);
const BAD_EXIT_4 = new Set(['06-include-missing', '07-include-cycle']);

test('the corpus has at least 20 good and 30 bad files', () => {
  assert.ok(good.length >= 20, `${good.length} good cases`);
  assert.ok(bad.length >= 30, `${bad.length} bad cases`);
});

for (const c of good) {
  test(`good/${c.name} loads into its expected model`, () => {
    const r = loadCase(c);
    assert.equal(r.ok, true, `does not load:\n${lines(r).join('\n')}`);
    assert.equal(exitCodeFor(r), GOOD_EXIT_6.has(c.name) ? EXIT_CODES.CONFIG_TEST_SECURITY : EXIT_CODES.OK);
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
    assert.equal(exitCodeFor(r), BAD_EXIT_4.has(c.name) ? EXIT_CODES.CONFIG : EXIT_CODES.CONFIG_TEST);
  });
}

test('the exit code lists name corpus files', () => {
  for (const n of GOOD_EXIT_6) assert.ok(good.some((c) => c.name === n), n);
  for (const n of BAD_EXIT_4) assert.ok(bad.some((c) => c.name === n), n);
});

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
