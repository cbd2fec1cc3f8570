import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseOfTwo } from '../../../../src/forward/schedulers/twos.js';
import { clientFlow, dests, make, seeded, tally } from './helpers.js';

test('twos: choice draws are weighted, first dest in list gets one extra ticket (ip_vs_twos.c)', () => {
  // Zero load everywhere: choice 1 always wins (choice 2 needs a strictly lower cost),
  // so the pick is choice 1, drawn from [0, total] inclusive: P(first) = (w+1)/(total+1).
  const s = make('twos', dests([['A', 1], ['B', 2], ['C', 3], ['D', 4]]), {}, seeded(42));
  const n = 110_000;
  const t = tally(s, n, clientFlow);
  // kernel list D:4, C:3, B:2, A:1; total 10, 11 tickets: D 5, C 3, B 2, A 1
  const want: Record<string, number> = { D: 5 / 11, C: 3 / 11, B: 2 / 11, A: 1 / 11 };
  for (const k of Object.keys(want)) assert.ok(Math.abs(t[k]! / n - want[k]!) < 0.01, `${k}: ${t[k]}`);
});

test('twos: with long-lived connections the split is roughly proportional to weight', () => {
  const s = make('twos', dests([['A', 1], ['B', 2], ['C', 3]]), {}, seeded(7));
  const t = tally(s, 12_000, clientFlow, (d) => d.activeConns++);
  const share = (k: string) => t[k]! / 12_000;
  assert.ok(Math.abs(share('A') - 1 / 6) < 0.03 && Math.abs(share('B') - 2 / 6) < 0.03 && Math.abs(share('C') - 3 / 6) < 0.03, JSON.stringify(t));
});

test('twos: tie-break: equal cost keeps choice 1; a strictly lower cost/weight takes choice 2', () => {
  // Kernel list B, A (config A, B), weights 1, 1: draws in [0, 2]; 0 -> B, 2 -> A.
  const mk = (aActive: number, bActive: number) => {
    const ds = dests([['A', 1], ['B', 1]]).reverse(); // kernel list order
    ds[1]!.activeConns = aActive;
    ds[0]!.activeConns = bActive;
    return ds;
  };
  assert.equal(chooseOfTwo(mk(1, 1), 0, 2)!.key, 'B');
  assert.equal(chooseOfTwo(mk(0, 1), 0, 2)!.key, 'A');
  assert.equal(chooseOfTwo(mk(0, 1), 2, 0)!.key, 'A');
  assert.equal(chooseOfTwo(mk(1, 0), 2, 0)!.key, 'B');
  // a draw of 0 takes the first usable dest, a draw of total the last
  const w = dests([['A', 2], ['B', 3], ['C', 5]]); // as a list: A, B, C
  assert.deepEqual([0, 2, 3, 5, 6, 10].map((r) => chooseOfTwo(w, r, r)!.key), ['A', 'A', 'B', 'B', 'C', 'C']);
  // weighted cost: choice 2 B (w 3, 2 active) vs choice 1 A (w 2, 1 active): 3*256 > 2*512? no -> A
  w[0]!.activeConns = 1;
  w[1]!.activeConns = 2;
  assert.equal(chooseOfTwo(w, 0, 4)!.key, 'A');
  w[1]!.activeConns = 1; // 3*256 > 2*256 -> B
  assert.equal(chooseOfTwo(w, 0, 4)!.key, 'B');
});

test('twos: a seeded opts.random makes the sequence reproducible', () => {
  const a = make('twos', dests([['A', 1], ['B', 2], ['C', 3]]), {}, seeded(11));
  const b = make('twos', dests([['A', 1], ['B', 2], ['C', 3]]), {}, seeded(11));
  const c = make('twos', dests([['A', 1], ['B', 2], ['C', 3]]), {}, seeded(12));
  const seq = (s: typeof a) => Array.from({ length: 50 }, (_, i) => s.pick(clientFlow(i), 0)!.key).join('');
  assert.equal(seq(a), seq(b));
  assert.notEqual(seq(a), seq(c));
});

test('twos: quiesced and overloaded dests are never drawn; none = null', () => {
  const ds = dests([['A', 1], ['B', 0], ['C', 1]]);
  ds[2]!.overloaded = true;
  const s = make('twos', ds, {}, seeded(3));
  assert.deepEqual(tally(s, 1000, clientFlow), { A: 1000 });
  ds[0]!.overloaded = true;
  assert.equal(s.pick(clientFlow(0), 0), null);
  assert.equal(make('twos', [], {}, seeded(1)).pick(clientFlow(0), 0), null);
  // an RNG returning 1 (out of contract) still picks within range
  assert.equal(make('twos', dests([['A', 1]]), {}, () => 1).pick(clientFlow(0), 0)!.key, 'A');
});
