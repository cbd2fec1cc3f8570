import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dest, dests, make, sequence, tally, clientFlow } from './helpers.js';

// The kernel adds each dest at the head of svc->destinations, so config order A, B, C is
// walked C, B, A (ip_vs_ctl.c __ip_vs_update_dest: list_add_rcu). Sequences below follow
// ip_vs_rr_schedule() from the list head.

test('rr: exact rotation in kernel list order (last configured first), 10,000 picks', () => {
  const s = make('rr', dests([['A', 1], ['B', 1], ['C', 1]]));
  assert.deepEqual(sequence(s, 7), ['C', 'B', 'A', 'C', 'B', 'A', 'C']);
  const s2 = make('rr', dests([['A', 1], ['B', 1], ['C', 1], ['D', 5]]));
  const seq = sequence(s2, 10_000);
  for (let i = 0; i < seq.length; i++) assert.equal(seq[i], ['D', 'C', 'B', 'A'][i % 4]);
  // weights do not matter to rr, only > 0
  assert.deepEqual(tally(make('rr', dests([['A', 1], ['B', 9]])), 10_000, clientFlow), { B: 5000, A: 5000 });
});

test('rr: tie-break: the first pick goes to the head of the kernel list', () => {
  assert.equal(make('rr', dests([['A', 1], ['B', 1]])).pick(clientFlow(0), 0)!.key, 'B');
});

test('rr: weight 0 (quiesced) and overloaded dests are skipped; none left = null', () => {
  const ds = dests([['A', 1], ['B', 0], ['C', 1]]);
  const s = make('rr', ds);
  assert.deepEqual(sequence(s, 4), ['C', 'A', 'C', 'A']);
  ds[0]!.overloaded = true;
  assert.deepEqual(sequence(s, 3), ['C', 'C', 'C']);
  ds[2]!.overloaded = true;
  assert.deepEqual(sequence(s, 2), ['-', '-']);
  ds[0]!.overloaded = false;
  assert.deepEqual(sequence(s, 2), ['A', 'A']);
});

test('rr: removing the dest last picked resumes with its successor (ip_vs_rr_del_dest)', () => {
  const ds = dests([['A', 1], ['B', 1], ['C', 1]]);
  const s = make('rr', ds);
  assert.deepEqual(sequence(s, 2), ['C', 'B']);
  s.update([ds[0]!, ds[2]!]); // B removed: position moves to its predecessor C
  assert.deepEqual(sequence(s, 3), ['A', 'C', 'A']);
});

test('rr: a dest added later goes to the head; the rotation continues after the last pick', () => {
  const ds = dests([['A', 1], ['B', 1], ['C', 1]]);
  const s = make('rr', ds);
  assert.deepEqual(sequence(s, 1), ['C']);
  s.update([...ds, dest(3, 'D', 1)]); // list: D C B A, position on C
  assert.deepEqual(sequence(s, 5), ['B', 'A', 'D', 'C', 'B']);
});

test('rr: a weight change does not move the position', () => {
  const ds = dests([['A', 1], ['B', 1], ['C', 1]]);
  const s = make('rr', ds);
  assert.deepEqual(sequence(s, 2), ['C', 'B']);
  ds[0]!.weight = 5;
  s.update(ds);
  assert.deepEqual(sequence(s, 3), ['A', 'C', 'B']);
});

test('rr: empty service = null', () => {
  assert.equal(make('rr', []).pick(clientFlow(1), 0), null);
});
