import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dest } from '../../../../src/forward/schedulers/types.js';
import { clientFlow, dests, make, tally } from './helpers.js';

type State = readonly [active: number, inactive: number];
const withCounts = (spec: readonly (readonly [string, number, ...State])[]): Dest[] =>
  dests(spec.map(([n, w]) => [n, w] as const)).map((d, i) => Object.assign(d, { activeConns: spec[i]![2], inactiveConns: spec[i]![3] }));

// Each case: dests in config order [name, weight, active, inactive], and the kernel's choice.
// Overhead = active*256 + inactive; the kernel list is reversed config order.
const cases: { what: string; dests: [string, number, number, number][]; want: string }[] = [
  { what: 'lowest overhead', dests: [['A', 1, 1, 0], ['B', 1, 0, 300], ['C', 1, 2, 0]], want: 'A' },
  { what: '255 inactive < 1 active', dests: [['A', 1, 0, 255], ['B', 1, 1, 0]], want: 'A' },
  { what: '257 inactive > 1 active', dests: [['A', 1, 0, 257], ['B', 1, 1, 0]], want: 'B' },
  { what: 'weights are ignored', dests: [['A', 100, 5, 0], ['B', 1, 4, 0]], want: 'B' },
  { what: 'tie: first in kernel list (last configured)', dests: [['A', 1, 1, 0], ['B', 1, 0, 256], ['C', 1, 3, 0]], want: 'B' },
  { what: 'tie of all zero: head of the list', dests: [['A', 1, 0, 0], ['B', 1, 0, 0], ['C', 1, 0, 0]], want: 'C' },
  { what: 'weight 0 skipped even when idle', dests: [['A', 1, 9, 0], ['B', 0, 0, 0]], want: 'A' },
];

test('lc: choices given counter states (cost activeconns*256 + inactconns)', () => {
  for (const c of cases) assert.equal(make('lc', withCounts(c.dests)).pick(clientFlow(0), 0)?.key, c.want, c.what);
});

test('lc: overloaded dests are skipped; none available = null', () => {
  const ds = withCounts([['A', 1, 5, 0], ['B', 1, 0, 0]]);
  ds[1]!.overloaded = true;
  const s = make('lc', ds);
  assert.equal(s.pick(clientFlow(0), 0)?.key, 'A');
  ds[0]!.weight = 0;
  assert.equal(s.pick(clientFlow(0), 0), null);
});

test('lc: 10,000 connections that stay open spread evenly (within one)', () => {
  const s = make('lc', dests([['A', 1], ['B', 5], ['C', 1], ['D', 1]]));
  const t = tally(s, 10_000, clientFlow, (d) => d.activeConns++);
  assert.deepEqual(t, { D: 2500, C: 2500, B: 2500, A: 2500 });
});
