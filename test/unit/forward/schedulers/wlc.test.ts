import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dest } from '../../../../src/forward/schedulers/types.js';
import { clientFlow, dests, make, tally } from './helpers.js';

const withCounts = (spec: readonly (readonly [string, number, number, number])[]): Dest[] =>
  dests(spec.map(([n, w]) => [n, w] as const)).map((d, i) => Object.assign(d, { activeConns: spec[i]![2], inactiveConns: spec[i]![3] }));

// [name, weight, active, inactive] in config order (kernel list: reversed) and the kernel's choice.
const cases: { what: string; dests: [string, number, number, number][]; want: string }[] = [
  { what: 'overhead/weight: 256/1 > 512/3', dests: [['A', 1, 1, 0], ['B', 3, 2, 0]], want: 'B' },
  { what: 'tie 256/1 = 512/2: earlier in kernel list stays (B)', dests: [['A', 1, 1, 0], ['B', 2, 2, 0]], want: 'B' },
  { what: 'tie, other order: earlier in kernel list stays (A)', dests: [['B', 2, 2, 0], ['A', 1, 1, 0]], want: 'A' },
  { what: 'inactive counts: (0*256+10)/1 < (0*256+30)/2', dests: [['A', 1, 0, 10], ['B', 2, 0, 30]], want: 'A' },
  { what: 'weight 0 later in list never wins', dests: [['Z', 0, 0, 0], ['A', 1, 7, 0]], want: 'A' },
  { what: 'weight 0 at the head is not the seed', dests: [['A', 2, 3, 0], ['Z', 0, 0, 0]], want: 'A' },
  { what: 'all zero: head of list', dests: [['A', 1, 0, 0], ['B', 5, 0, 0]], want: 'B' },
];

test('wlc: choices given counter states (cross-multiplied overhead/weight)', () => {
  for (const c of cases) assert.equal(make('wlc', withCounts(c.dests)).pick(clientFlow(0), 0)?.key, c.want, c.what);
});

test('wlc: overloaded skipped, including as the seed; nothing available = null', () => {
  const ds = withCounts([['A', 1, 9, 0], ['B', 1, 0, 0]]);
  ds[1]!.overloaded = true;
  const s = make('wlc', ds);
  assert.equal(s.pick(clientFlow(0), 0)?.key, 'A');
  ds[0]!.overloaded = true;
  assert.equal(s.pick(clientFlow(0), 0), null);
  assert.equal(make('wlc', withCounts([['A', 0, 0, 0]])).pick(clientFlow(0), 0), null);
});

test('wlc: 12,000 long-lived connections split exactly by weight 1:2:3', () => {
  const s = make('wlc', dests([['A', 1], ['B', 2], ['C', 3]]));
  assert.deepEqual(tally(s, 12_000, clientFlow, (d) => d.activeConns++), { C: 6000, B: 4000, A: 2000 });
});
