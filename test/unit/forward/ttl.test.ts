/**
 * decrementTtl (xmit/ttl.ts) against a naive full recomputation of the IPv4 header checksum,
 * over every TTL and header checksum region where the end-around carry matters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decrementTtl } from '../../../src/forward/xmit/ttl.js';
import { PacketView } from '../../../src/forward/packet.js';

function naiveSum(h: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < h.length; i += 2) s += (h[i]! << 8) | h[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** A view over a bare IPv4 (or IPv6) header at offset 0. */
function view(h: Uint8Array, fam: 4 | 6): PacketView {
  const p = new PacketView();
  p.b = h;
  p.l3 = 0;
  p.t.fam = fam;
  return p;
}

test('IPv4: TTL one less, the header checksum equal to a full recomputation (every TTL, checksums near the carry)', () => {
  let checked = 0;
  for (let ttl = 2; ttl <= 255; ttl++) {
    // Vary the identification word so the original checksum sweeps 0xfe00..0xffff and around 0.
    for (let id = 0; id < 0x10000; id += 97) {
      const h = new Uint8Array([0x45, 0, 0, 40, id >>> 8, id & 255, 0x40, 0, ttl, 6, 0, 0, 198, 18, 0, 100, 198, 18, 0, 10]);
      const c = naiveSum(h);
      h[10] = c >>> 8; h[11] = c & 255;
      assert.equal(decrementTtl(view(h, 4)), true);
      assert.equal(h[8], ttl - 1);
      const got = (h[10]! << 8) | h[11]!;
      h[10] = 0; h[11] = 0;
      assert.equal(got, naiveSum(h), `ttl ${ttl} id ${id}`);
      checked++;
    }
  }
  assert.ok(checked > 100_000);
});

test('IPv4 TTL 1 and 0, IPv6 hop limit 1 and 0: not forwarded, the packet untouched; IPv6 hop limit 64 → 63', () => {
  for (const t of [0, 1]) {
    const h = new Uint8Array([0x45, 0, 0, 20, 0, 0, 0, 0, t, 17, 0xab, 0xcd, 198, 18, 0, 1, 198, 18, 0, 2]);
    const before = [...h];
    assert.equal(decrementTtl(view(h, 4)), false);
    assert.deepEqual([...h], before);
    const h6 = new Uint8Array(40);
    h6[0] = 0x60; h6[7] = t;
    assert.equal(decrementTtl(view(h6, 6)), false);
    assert.equal(h6[7], t);
  }
  const h6 = new Uint8Array(40);
  h6[0] = 0x60; h6[7] = 64;
  assert.equal(decrementTtl(view(h6, 6)), true);
  assert.equal(h6[7], 63);
});
