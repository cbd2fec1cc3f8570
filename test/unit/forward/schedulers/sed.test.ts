import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dest } from '../../../../src/forward/schedulers/types.js';
import { clientFlow, dests, make, tally } from './helpers.js';

const withCounts = (spec: readonly (readonly [string, number, number, number])[]): Dest[] =>
  dests(spec.map(([n, w]) => [n, w] as const)).map((d, i) => Object.assign(d, { activeConns: spec[i]![2], inactiveConns: spec[i]![3] }));

// [name, weight, active, inactive] in config order (kernel list: reversed); cost (active+1)/weight.
const sedCases: { what: string; dests: [string, number, number, number][]; want: string }[] = [
  { what: '(0+1)/1 > (1+1)/3', dests: [['A', 1, 0, 0], ['B', 3, 1, 0]], want: 'B' },
  { what: '(0+1)/1 < (2+1)/2', dests: [['A', 1, 0, 0], ['B', 2, 2, 0]], want: 'A' },
  { what: 'inactive connections are not counted', dests: [['A', 1, 0, 1000], ['B', 1, 1, 0]], want: 'A' },
  { what: 'tie (1+1)/2 = (0+1)/1: earlier in kernel list stays', dests: [['A', 1, 0, 0], ['B', 2, 1, 0]], want: 'B' },
  { what: 'weight 0 never chosen', dests: [['A', 1, 5, 0], ['Z', 0, 0, 0]], want: 'A' },
];

test('sed: choices given counter states ((activeconns+1)/weight)', () => {
  for (const c of sedCases) assert.equal(make('sed', withCounts(c.dests)).pick(clientFlow(0), 0)?.key, c.want, c.what);
});

// nq: the first idle (activeconns 0) usable dest in list order wins outright; else sed.
const nqCases: { what: string; dests: [string, number, number, number][]; want: string }[] = [
  { what: 'idle wins over a better sed cost', dests: [['A', 1, 0, 0], ['B', 100, 1, 0]], want: 'A' },
  { what: 'first idle in kernel list order', dests: [['A', 1, 0, 0], ['B', 1, 0, 0], ['C', 1, 3, 0]], want: 'B' },
  { what: 'idle means activeconns 0 (inactive ignored)', dests: [['A', 1, 0, 50], ['B', 9, 1, 0]], want: 'A' },
  { what: 'no idle: sed (2+1)/3 < (1+1)/1', dests: [['A', 3, 2, 0], ['B', 1, 1, 0]], want: 'A' },
  { what: 'no idle: tie goes to the earlier in list', dests: [['A', 1, 1, 0], ['B', 2, 3, 0]], want: 'B' },
  { what: 'an idle weight-0 dest is not taken', dests: [['A', 1, 4, 0], ['Z', 0, 0, 0]], want: 'A' },
];

test('nq: idle server first, else shortest expected delay', () => {
  for (const c of nqCases) assert.equal(make('nq', withCounts(c.dests)).pick(clientFlow(0), 0)?.key, c.want, c.what);
});

test('sed/nq: overloaded skipped; nothing available = null', () => {
  for (const name of ['sed', 'nq']) {
    const ds = withCounts([['A', 1, 3, 0], ['B', 1, 0, 0]]);
    ds[1]!.overloaded = true;
    const s = make(name, ds);
    assert.equal(s.pick(clientFlow(0), 0)?.key, 'A', name);
    ds[0]!.overloaded = true;
    assert.equal(s.pick(clientFlow(0), 0), null, name);
  }
});

test('sed: 10,000 long-lived connections converge to weight ratio 1:4', () => {
  const s = make('sed', dests([['A', 1], ['B', 4]]));
  assert.deepEqual(tally(s, 10_000, clientFlow, (d) => d.activeConns++), { B: 8000, A: 2000 });
});

test('nq: 10,000 long-lived connections: each idle server gets one first, then sed', () => {
  const s = make('nq', dests([['A', 1], ['B', 4]]));
  const seq: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const d = s.pick(clientFlow(i), 0)!;
    d.activeConns++;
    seq.push(d.key);
  }
  assert.deepEqual(seq.slice(0, 2), ['B', 'A']);
  const count = (k: string) => seq.filter((x) => x === k).length;
  assert.deepEqual([count('A'), count('B')], [2000, 8000]);
});
