import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileStatus, initialScriptCounter, parseTrackFileValue, scriptOutcome, upDownStatus, type ScriptCounter } from '../../../src/vrrp/track.js';

function run(c: ScriptCounter, outcomes: string, rise: number, fall: number): Array<boolean | null> {
  const seen: Array<boolean | null> = [];
  for (const ch of outcomes) {
    c = scriptOutcome(c, ch === '+', rise, fall).counter;
    seen.push(c.up);
  }
  return seen;
}

test('vrrp_script rise/fall: one success is enough from init, then fall failures bring it down and rise successes up', () => {
  // rise 2 fall 3, starting in init: the first success counts (keepalived result = rise - 1)
  assert.deepEqual(run(initialScriptCounter(2, false), '+--+---++', 2, 3), [true, true, true, true, true, true, false, false, true]);
});

test('vrrp_script: a first failure from init is a failure at once; init_fail starts down and needs rise successes', () => {
  assert.deepEqual(run(initialScriptCounter(3, false), '-', 3, 2), [false]);
  assert.deepEqual(run(initialScriptCounter(3, true), '++-+++', 3, 2), [false, false, false, false, false, true]);
});

test('scriptOutcome reports a change only when up flips', () => {
  let c = initialScriptCounter(1, false);
  const changes: boolean[] = [];
  for (const ok of [true, true, false, false, true]) {
    const r = scriptOutcome(c, ok, 1, 1);
    changes.push(r.changed);
    c = r.counter;
  }
  assert.deepEqual(changes, [true, false, true, false, true]);
});

test('upDownStatus: weight 0 faults (reverse inverts), pending while unknown; weights add as keepalived', () => {
  assert.deepEqual(upDownStatus({ weight: 0, weightReverse: false }, null), { fault: false, pending: true, delta: 0 });
  assert.deepEqual(upDownStatus({ weight: 0, weightReverse: false }, false), { fault: true, pending: false, delta: 0 });
  assert.deepEqual(upDownStatus({ weight: 0, weightReverse: true }, true), { fault: true, pending: false, delta: 0 });
  assert.equal(upDownStatus({ weight: 20, weightReverse: false }, true).delta, 20);
  assert.equal(upDownStatus({ weight: 20, weightReverse: false }, false).delta, 0);
  assert.equal(upDownStatus({ weight: -20, weightReverse: false }, false).delta, -20);
  assert.equal(upDownStatus({ weight: -20, weightReverse: false }, true).delta, 0);
  assert.equal(upDownStatus({ weight: 20, weightReverse: true }, true).delta, -20);
  assert.equal(upDownStatus({ weight: 20, weightReverse: false }, null).delta, 0);
});

test('parseTrackFileValue follows strtol(buf, NULL, 0) and clamps to ±254', () => {
  const cases: Array<[string | null, number]> = [
    [null, 0], ['', 0], ['abc', 0], ['42', 42], ['  -7\n', -7], ['+3x', 3], ['0x1f', 31], ['010', 8], ['0', 0], ['08', 0],
    ['999', 254], ['-999', -254], ['12 34', 12],
  ];
  for (const [t, v] of cases) assert.equal(parseTrackFileValue(t), v, JSON.stringify(t));
});

test('fileStatus: weight 0 faults on non-zero, weighted values multiply, -254 faults', () => {
  assert.equal(fileStatus({ weight: 0, weightReverse: false }, 0).fault, false);
  assert.equal(fileStatus({ weight: 0, weightReverse: false }, 5).fault, true);
  assert.equal(fileStatus({ weight: 0, weightReverse: true }, 0).fault, true);
  assert.deepEqual(fileStatus({ weight: 10, weightReverse: false }, 3), { fault: false, pending: false, delta: 30 });
  assert.deepEqual(fileStatus({ weight: 10, weightReverse: true }, 3), { fault: false, pending: false, delta: -30 });
  assert.deepEqual(fileStatus({ weight: 10, weightReverse: false }, 100), { fault: false, pending: false, delta: 253 });
  assert.equal(fileStatus({ weight: 2, weightReverse: false }, -200).fault, true);
});
