import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dests, flow4, hash32Ref, make } from './helpers.js';

// ip_vs_dh: bucket = hash_32(ntohl(daddr), 8); the 256 buckets cycle through the kernel
// list (reversed config order) one per dest, weights ignored.
const vip = (i: number) => (0xc6120000 + i) >>> 0; // 198.18.x.y
const bucket = (i: number) => hash32Ref(vip(i), 8);

test('dh: each destination address maps to the dest of its bucket; same VIP -> same dest', () => {
  const s = make('dh', dests([['A', 1], ['B', 5], ['C', 1]]));
  const list = ['C', 'B', 'A'];
  for (let i = 0; i < 10_000; i++) {
    const want = list[bucket(i) % 3];
    assert.equal(s.pick(flow4('198.18.200.1', 1000 + i, vip(i)), 0)!.key, want);
    assert.equal(s.pick(flow4('198.18.200.2', 3000, vip(i)), 0)!.key, want, 'client does not matter');
  }
});

test('dh: tie-break: bucket 0 belongs to the head of the kernel list', () => {
  let i = 0;
  while (bucket(i) !== 0) i++;
  assert.equal(make('dh', dests([['A', 1], ['B', 1]])).pick(flow4('198.18.200.1', 1, vip(i)), 0)!.key, 'B');
});

test('dh: quiesced or overloaded hashed dest = null (no fallback); empty = null', () => {
  const ds = dests([['A', 1], ['B', 1]]);
  const s = make('dh', ds);
  let i = 0;
  while (bucket(i) % 2 !== 1) i++; // a VIP on A
  const f = flow4('198.18.200.1', 1, vip(i));
  assert.equal(s.pick(f, 0)!.key, 'A');
  ds[0]!.overloaded = true;
  assert.equal(s.pick(f, 0), null);
  ds[0]!.overloaded = false;
  ds[0]!.weight = 0;
  s.update(ds);
  assert.equal(s.pick(f, 0), null);
  assert.equal(make('dh', []).pick(f, 0), null);
});
