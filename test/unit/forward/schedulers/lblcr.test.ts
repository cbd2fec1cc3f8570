import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dests, flow4, make } from './helpers.js';

const HOUR = 3_600_000;
const f = flow4('198.18.9.9', 4000, '198.18.0.1');

test('lblcr: first pick creates the set with the wlc choice; it sticks while not overloaded', () => {
  const ds = dests([['A', 2], ['B', 2], ['C', 2]]);
  const s = make('lblcr', ds);
  assert.equal(s.pick(f, 0)!.key, 'C');
  ds[2]!.activeConns = 2; // C: 2 > 2 false: stays
  assert.equal(s.pick(f, 0)!.key, 'C');
  // a different destination address gets its own set
  assert.equal(s.pick(flow4('198.18.9.9', 1, '198.18.0.2'), 0)!.key, 'B');
});

test('lblcr: an overloaded set member brings in the wlc choice; later picks take the least loaded member', () => {
  const ds = dests([['A', 2], ['B', 2], ['C', 2]]);
  const s = make('lblcr', ds);
  assert.equal(s.pick(f, 0)!.key, 'C'); // set {C}
  ds[2]!.activeConns = 3; // C: 3 > 2, and A, B have 0*2 < 2: overloaded
  assert.equal(s.pick(f, 0)!.key, 'B'); // wlc over all: B; set {B, C}
  ds[1]!.activeConns = 1;
  ds[2]!.activeConns = 0;
  assert.equal(s.pick(f, 0)!.key, 'C'); // least loaded member of {B, C}
  ds[1]!.activeConns = 0;
  // tie inside the set: the newest member (B, added last, heads the set) wins
  assert.equal(s.pick(f, 0)!.key, 'B');
  // a member removed from the service is not available
  s.update([ds[0]!, ds[2]!]);
  assert.equal(s.pick(f, 0)!.key, 'C');
});

test('lblcr: after lblcr_expiration (24 h) without set changes, the most loaded member is dropped', () => {
  const ds = dests([['A', 2], ['B', 2], ['C', 2]]);
  const s = make('lblcr', ds);
  assert.equal(s.pick(f, 0)!.key, 'C');
  ds[2]!.activeConns = 3;
  assert.equal(s.pick(f, 1000)!.key, 'B'); // set {B, C}, lastmod 1 s
  ds[2]!.activeConns = 1;
  ds[1]!.activeConns = 2;
  // keep the entry in use (lastuse) without changing the set
  for (let t = HOUR; t <= 24 * HOUR; t += HOUR) assert.equal(s.pick(f, t)!.key, 'C');
  // now > lastmod + 24h: the most loaded member (B) is erased; C still chosen
  assert.equal(s.pick(f, 24 * HOUR + 2000)!.key, 'C');
  // B is gone from the set: with C overloaded again, B comes back as the fresh wlc choice only if least loaded overall
  ds[2]!.activeConns = 3;
  ds[1]!.activeConns = 0;
  assert.equal(s.pick(f, 24 * HOUR + 3000)!.key, 'B');
});

test('lblcr: no usable dest = null; quiesced members are skipped', () => {
  const ds = dests([['A', 1], ['B', 1]]);
  const s = make('lblcr', ds);
  assert.equal(s.pick(f, 0)!.key, 'B');
  ds[1]!.weight = 0;
  s.update(ds);
  assert.equal(s.pick(f, 0)!.key, 'A'); // set {A, B}: B quiesced
  ds[0]!.weight = 0;
  s.update(ds);
  assert.equal(s.pick(f, 0), null);
});
