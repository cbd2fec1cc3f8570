import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncRing, SLOT_BYTES, ringBytes } from '../../../src/sync/ring.js';

function put(r: SyncRing, v: number, len = 8): boolean {
  const at = r.reserve();
  if (at < 0) return false;
  for (let i = 0; i < len; i++) r.dv.setUint8(at + i, (v + i) & 255);
  r.commit(len);
  return true;
}

test('entries come out in order, with their lengths, and free their slots', () => {
  const r = SyncRing.create(8);
  assert.equal(r.capacity, 8);
  for (let i = 0; i < 5; i++) assert.ok(put(r, i * 10, 4 + i));
  const seen: number[][] = [];
  assert.equal(r.drain((b, off, len) => seen.push([...b.subarray(off, off + len)])), 5);
  assert.deepEqual(seen.map((s) => s.length), [4, 5, 6, 7, 8]);
  assert.deepEqual(seen[2], [20, 21, 22, 23, 24, 25]);
  assert.equal(r.pending, 0);
});

test('a full ring drops and counts, and takes entries again once drained', () => {
  const r = SyncRing.create(4);
  for (let i = 0; i < 4; i++) assert.ok(put(r, i));
  assert.equal(put(r, 9), false);
  assert.equal(r.dropped, 1);
  assert.equal(r.drain(() => {}, 2), 2);
  assert.ok(put(r, 5));
  assert.equal(r.pending, 3);
});

test('producer and consumer views over one SharedArrayBuffer (a worker and the main thread) agree across many wraps', () => {
  const prod = new SyncRing(new SharedArrayBuffer(ringBytes(16)));
  const cons = new SyncRing(prod.sab);
  let want = 0;
  let next = 0;
  for (let round = 0; round < 1000; round++) {
    const n = (round * 7) % 17;
    for (let i = 0; i < n; i++) if (put(prod, next & 255, 1)) next++;
    cons.drain((b, off) => {
      assert.equal(b[off], want & 255);
      want++;
    });
  }
  assert.equal(want, next);
  assert.ok(SLOT_BYTES >= 80 + 4, 'a slot holds the largest entry (IPv6 + client MAC) and its length');
});
