import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalityTable, LOCALITY_MAX_SIZE } from '../../../../src/forward/schedulers/locality-table.js';
import { dest, dests, flow4, flow6, make } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const toVip = (vip: string) => flow4('198.18.9.9', 4000, vip);

test('lblc: a destination address sticks to its first wlc choice while the load allows', () => {
  const ds = dests([['A', 1], ['B', 1]]);
  const s = make('lblc', ds);
  // wlc on the kernel list B, A with no load: B
  assert.equal(s.pick(toVip('198.18.0.1'), 0)!.key, 'B');
  ds[1]!.activeConns = 1; // B now costlier than A, but not "overloaded" (1 > 1 is false)
  assert.equal(s.pick(toVip('198.18.0.1'), 1000)!.key, 'B');
  // a new destination address is scheduled afresh by wlc: A
  assert.equal(s.pick(toVip('198.18.0.2'), 2000)!.key, 'A');
  // IPv6 destinations are cached by full address
  const s6 = make('lblc', ds);
  ds[1]!.activeConns = 0;
  assert.equal(s6.pick(flow6('2001:db8::1', 1, '2001:db8::a'), 0)!.key, 'B');
  ds[1]!.activeConns = 1;
  assert.equal(s6.pick(flow6('2001:db8::1', 1, '2001:db8::a'), 0)!.key, 'B');
  assert.equal(s6.pick(flow6('2001:db8::1', 1, '2001:db8::b'), 0)!.key, 'A');
});

test('lblc: reschedules when the cached dest has activeconns > weight and some dest is under half its weight', () => {
  const ds = dests([['A', 4], ['B', 2]]);
  const s = make('lblc', ds);
  assert.equal(s.pick(toVip('198.18.0.1'), 0)!.key, 'B');
  ds[1]!.activeConns = 3; // 3 > 2
  ds[0]!.activeConns = 2; // 2*2 < 4 is false: nobody is under half
  assert.equal(s.pick(toVip('198.18.0.1'), 0)!.key, 'B');
  ds[0]!.activeConns = 1; // 1*2 < 4: A is under half -> reschedule by wlc: A (256*4... ) 
  assert.equal(s.pick(toVip('198.18.0.1'), 0)!.key, 'A');
  ds[0]!.activeConns = 5; // A is now the cached dest; B back to 0
  ds[1]!.activeConns = 0;
  assert.equal(s.pick(toVip('198.18.0.1'), 0)!.key, 'B');
});

test('lblc: a removed, quiesced or (threshold) overloaded cached dest', () => {
  const ds = dests([['A', 1], ['B', 1], ['C', 1]]);
  const s = make('lblc', ds);
  const f = toVip('198.18.0.1');
  assert.equal(s.pick(f, 0)!.key, 'C');
  // The kernel does not check the OVERLOAD flag of a cached dest (only is_overloaded()).
  ds[2]!.overloaded = true;
  assert.equal(s.pick(f, 0)!.key, 'C');
  ds[2]!.overloaded = false;
  ds[2]!.weight = 0;
  s.update(ds);
  assert.equal(s.pick(f, 0)!.key, 'B'); // quiesced: rescheduled, cache now B
  s.update([ds[0]!, ds[2]!]); // B removed
  assert.equal(s.pick(f, 0)!.key, 'A');
  s.update(ds); // B back: the cache says A, which is still fine
  assert.equal(s.pick(f, 0)!.key, 'A');
  ds[0]!.weight = 0;
  ds[1]!.weight = 0;
  s.update(ds);
  assert.equal(s.pick(f, 0), null);
});

test('lblc: entries expire after lblc_expiration (24 h) idle, collected by the periodic check', () => {
  const ds = dests([['A', 1], ['B', 1]]);
  const s = make('lblc', ds);
  const f = toVip('198.18.0.1');
  assert.equal(s.pick(f, 0)!.key, 'B');
  ds[1]!.activeConns = 1; // a fresh wlc choice would now be A
  assert.equal(s.pick(f, 10 * MIN)!.key, 'B'); // lastuse = 10 min
  assert.equal(s.pick(toVip('198.18.0.99'), 23 * HOUR)!.key, 'A'); // other traffic; entry for .1 still there
  assert.equal(s.pick(f, 24 * HOUR + 5 * MIN)!.key, 'B'); // idle 23h55m < 24h
  // idle from 24h05m: the next full checks (every 30 ticks of 60 s) after 48h05m drop it
  assert.equal(s.pick(toVip('198.18.0.99'), 48 * HOUR + 40 * MIN)!.key, 'A');
  assert.equal(s.pick(f, 48 * HOUR + 41 * MIN)!.key, 'A');
});

test('locality table: over max_size, entries idle for ENTRY_TIMEOUT (6 min) are collected, 4/3 of the excess', () => {
  let freed = 0;
  const t = new LocalityTable({ grow: () => {}, free: () => freed++ });
  t.expire(0); // arms the timer: first check at 60 s
  const n = LOCALITY_MAX_SIZE + 300;
  for (let i = 0; i < n; i++) t.insert(flow4('198.18.9.9', 1, (0xc6130000 + i) >>> 0), 0);
  assert.equal(t.entries, n);
  t.expire(5 * MIN); // ticks at 1..5 min: nothing is 6 min idle yet
  assert.equal(t.entries, n);
  t.expire(7 * MIN); // ticks at 6 and 7 min: the 6-min tick removes at least 400 (goal), bucket by bucket
  assert.ok(freed >= 400 && freed < 600, `freed ${freed}`);
  const left = t.entries;
  assert.equal(left, n - freed);
  // still over max_size? then the 7-min tick removed more; either way now at or under
  assert.ok(left <= LOCALITY_MAX_SIZE);
  for (let i = 0; i < n; i++) {
    const e = t.find(flow4('198.18.9.9', 1, (0xc6130000 + i) >>> 0));
    if (e >= 0) assert.equal(t.lastUse[e], 0);
  }
});

test('lblc: tie-break: first wlc choice is the head of the kernel list', () => {
  assert.equal(make('lblc', [dest(0, 'A', 1), dest(1, 'B', 1), dest(2, 'C', 1)]).pick(toVip('198.18.0.7'), 0)!.key, 'C');
});
