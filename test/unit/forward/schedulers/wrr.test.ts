import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dests, make, sequence, tally, clientFlow } from './helpers.js';

// Sequences derived step by step from ip_vs_wrr_schedule(): mw = max - (di - 1), cw starts
// at mw, each pick walks on from the last pick taking weight >= cw, cw -= di at the end of
// the list, wrapping to mw. Config order is reversed in the kernel list (dest-list.ts), so
// config [C:2, B:3, A:4] is walked A:4, B:3, C:2.

test('wrr: weights 4,3,2 give the kernel sequence A A B A B C A B C, repeated', () => {
  const s = make('wrr', dests([['C', 2], ['B', 3], ['A', 4]]));
  const period = ['A', 'A', 'B', 'A', 'B', 'C', 'A', 'B', 'C'];
  assert.deepEqual(sequence(s, 27), [...period, ...period, ...period]);
});

test('wrr: config order A:4, B:3, C:2 (kernel list C, B, A) gives A B A C B A C B A', () => {
  const s = make('wrr', dests([['A', 4], ['B', 3], ['C', 2]]));
  const period = ['A', 'B', 'A', 'C', 'B', 'A', 'C', 'B', 'A'];
  assert.deepEqual(sequence(s, 18), [...period, ...period]);
});

test('wrr: counts exactly proportional to weight over 10,000 picks (9,999 = 1111 periods)', () => {
  const s = make('wrr', dests([['A', 4], ['B', 3], ['C', 2]]));
  assert.deepEqual(tally(s, 9999, clientFlow), { A: 4444, B: 3333, C: 2222 });
  const s2 = make('wrr', dests([['A', 5], ['B', 1], ['C', 4]]));
  assert.deepEqual(tally(s2, 10_000, clientFlow), { A: 5000, B: 1000, C: 4000 });
});

test('wrr: gcd stepping: weights 4 and 2 (di = 2, mw = 3)', () => {
  // list A:4, B:2 (config B, A): cw 3 -> A; cw 1 -> A, B; wrap cw 3 -> A ...
  const s = make('wrr', dests([['B', 2], ['A', 4]]));
  assert.deepEqual(sequence(s, 9), ['A', 'A', 'B', 'A', 'A', 'B', 'A', 'A', 'B']);
});

test('wrr: tie-break: equal weights rotate from the head of the kernel list', () => {
  assert.deepEqual(sequence(make('wrr', dests([['A', 3], ['B', 3], ['C', 3]])), 6), ['C', 'B', 'A', 'C', 'B', 'A']);
});

test('wrr: quiesced (weight 0) and overloaded dests get nothing; all unavailable = null', () => {
  const ds = dests([['A', 4], ['B', 0], ['C', 2]]);
  const s = make('wrr', ds);
  assert.deepEqual(tally(s, 600, clientFlow), { A: 400, C: 200 });
  ds[0]!.overloaded = true;
  assert.deepEqual(tally(s, 100, clientFlow), { C: 100 });
  ds[2]!.overloaded = true;
  assert.deepEqual(sequence(s, 3), ['-', '-', '-']);
  const zero = make('wrr', dests([['A', 0], ['B', 0]]));
  assert.deepEqual(sequence(zero, 2), ['-', '-']);
  assert.deepEqual(sequence(make('wrr', []), 1), ['-']);
});

test('wrr: a weight change restarts from the list head and keeps cw on its step (ip_vs_wrr_dest_changed)', () => {
  const ds = dests([['C', 2], ['B', 3], ['A', 4]]);
  const s = make('wrr', ds);
  assert.deepEqual(sequence(s, 4), ['A', 'A', 'B', 'A']); // cw is now 2, cl = A
  ds[2]!.weight = 6; // A: 4 -> 6; di 1, mw 6; cw 2 <= mw stays; cl = head
  s.update(ds);
  // from head with cw 2: A, B, C; then cw 1: A, B, C; then cw 6: A; cw 5: A; cw 4: A; cw 3: A, B
  assert.deepEqual(sequence(s, 11), ['A', 'B', 'C', 'A', 'B', 'C', 'A', 'A', 'A', 'A', 'B']);
});

test('wrr: an update that changes nothing does not reset the position', () => {
  const ds = dests([['C', 2], ['B', 3], ['A', 4]]);
  const s = make('wrr', ds);
  assert.deepEqual(sequence(s, 3), ['A', 'A', 'B']);
  s.update(ds);
  assert.deepEqual(sequence(s, 3), ['A', 'B', 'C']);
});
