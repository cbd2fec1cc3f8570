import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dest } from '../../../../src/forward/schedulers/types.js';
import { clientFlow, dests, make, tally } from './helpers.js';

const withActive = (spec: readonly (readonly [string, number, number])[]): Dest[] =>
  dests(spec.map(([n, w]) => [n, w] as const)).map((d, i) => Object.assign(d, { activeConns: spec[i]![2] }));

test('fo: highest weight wins whatever the load; 10,000 picks all go there', () => {
  const ds = withActive([['A', 5, 1000], ['B', 10, 5000], ['C', 1, 0]]);
  assert.deepEqual(tally(make('fo', ds), 10_000, clientFlow), { B: 10_000 });
});

test('fo: tie-break: equal highest weights -> first in kernel list (last configured)', () => {
  assert.equal(make('fo', withActive([['A', 7, 0], ['B', 7, 0], ['C', 3, 0]])).pick(clientFlow(0), 0)!.key, 'B');
});

test('fo: fails over when the top dest is quiesced or overloaded; none = null', () => {
  const ds = withActive([['A', 5, 0], ['B', 10, 0]]);
  const s = make('fo', ds);
  ds[1]!.overloaded = true;
  assert.equal(s.pick(clientFlow(0), 0)!.key, 'A');
  ds[1]!.overloaded = false;
  ds[1]!.weight = 0;
  s.update(ds);
  assert.equal(s.pick(clientFlow(0), 0)!.key, 'A');
  ds[0]!.weight = 0;
  s.update(ds);
  assert.equal(s.pick(clientFlow(0), 0), null);
});

test('ovf: highest weight while activeconns <= weight, then overflow to the next', () => {
  // [name, weight, active] config order; kernel list reversed
  const cases: { dests: [string, number, number][]; want: string | null; what: string }[] = [
    { what: 'top has room', dests: [['A', 3, 2], ['B', 2, 0]], want: 'A' },
    { what: 'activeconns == weight still takes it (kernel skips only >)', dests: [['A', 3, 3], ['B', 2, 0]], want: 'A' },
    { what: 'activeconns > weight overflows', dests: [['A', 3, 4], ['B', 2, 0]], want: 'B' },
    { what: 'all full = null', dests: [['A', 3, 4], ['B', 2, 3]], want: null },
    { what: 'tie: first in kernel list', dests: [['A', 3, 0], ['B', 3, 0]], want: 'B' },
    { what: 'weight 0 never', dests: [['A', 0, 0]], want: null },
  ];
  for (const c of cases) assert.equal(make('ovf', withActive(c.dests)).pick(clientFlow(0), 0)?.key ?? null, c.want, c.what);
});

test('ovf: 10,000 long-lived connections fill A to weight+1, then B, then nothing', () => {
  const s = make('ovf', withActive([['B', 2, 0], ['A', 5, 0]]));
  const seq: string[] = [];
  for (let i = 0; i < 12; i++) {
    const d = s.pick(clientFlow(i), 0);
    if (d) d.activeConns++;
    seq.push(d?.key ?? '-');
  }
  // A takes connections while its activeconns (before this one) <= 5: six; B three; then none
  assert.deepEqual(seq, ['A', 'A', 'A', 'A', 'A', 'A', 'B', 'B', 'B', '-', '-', '-']);
});

test('ovf: overloaded skipped', () => {
  const ds = withActive([['A', 3, 0], ['B', 9, 0]]);
  ds[1]!.overloaded = true;
  assert.equal(make('ovf', ds).pick(clientFlow(0), 0)!.key, 'A');
});
