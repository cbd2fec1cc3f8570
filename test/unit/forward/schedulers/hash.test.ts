import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldAddr6, hash32, hsiphash32, hsiphashKey } from '../../../../src/forward/schedulers/hash.js';
import { parseIPv6 } from '../../../../src/lib/ip.js';
import { seeded, sipHashRef } from './helpers.js';

test('reference SipHash-2-4 matches the published test vectors', () => {
  // Key 00 01 .. 0f (SipHash paper, Appendix A, and the reference vectors.h)
  const k0 = 0x0706050403020100n;
  const k1 = 0x0f0e0d0c0b0a0908n;
  assert.equal(sipHashRef(k0, k1, new Uint8Array(0), 2, 4), 0x726fdb47dd0e0e31n);
  assert.equal(sipHashRef(k0, k1, Uint8Array.from({ length: 15 }, (_, i) => i), 2, 4), 0xa129ca6149be45e5n);
});

test('hsiphash32 equals the reference SipHash-1-3 of 4 LE bytes, truncated to u32 (64-bit kernel hsiphash)', () => {
  const rnd = seeded(7);
  const keys: [number, number][] = [
    [2654435761, 2654435761],
    [2654446892, 2654446892],
    [0, 0],
    [0x1234_5678_9abc, 0xfedc_ba98_7654],
  ];
  for (const [a, b] of keys) {
    const key = hsiphashKey(a, b);
    for (let i = 0; i < 2000; i++) {
      const v = i < 4 ? [0, 1, 0xffffffff, 0x80000000][i]! : Math.floor(rnd() * 2 ** 32);
      const bytes = new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
      const want = Number(sipHashRef(BigInt(a), BigInt(b), bytes, 1, 3) & 0xffffffffn);
      assert.equal(hsiphash32(v, key), want, `key ${a},${b} v ${v}`);
    }
  }
});

test('hash32 is the kernel hash_32: (val * 0x61C88647 mod 2^32) >> (32 - bits)', () => {
  const rnd = seeded(3);
  for (let i = 0; i < 5000; i++) {
    const v = Math.floor(rnd() * 2 ** 32);
    for (const bits of [8, 10]) {
      const want = Number(((BigInt(v) * 0x61c88647n) & 0xffffffffn) >> BigInt(32 - bits));
      assert.equal(hash32(v, bits), want);
    }
  }
  assert.equal(hash32(0, 8), 0);
  assert.equal(hash32(1, 8), 0x61);
});

test('foldAddr6 is ntohl of the XOR of the four address words', () => {
  const a = parseIPv6('2001:db8:1:2:3:4:5:6')!;
  assert.equal(foldAddr6(a), (0x20010db8 ^ 0x00010002 ^ 0x00030004 ^ 0x00050006) >>> 0);
  assert.equal(foldAddr6(parseIPv6('::')!), 0);
  assert.equal(foldAddr6(parseIPv6('ffff:ffff::')!), 0xffffffff);
});
