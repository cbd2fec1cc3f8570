/**
 * The hash functions the kernel's IPVS schedulers use, over plain numbers (no allocation).
 *
 * - `hash32`: include/linux/hash.h `hash_32()` (multiplicative hash by GOLDEN_RATIO_32,
 *   top `bits` bits), used by sh, dh, lblc and lblcr.
 * - `hsiphash32`: lib/siphash.c `hsiphash()` of a 4-byte value as built for a 64-bit
 *   kernel (BITS_PER_LONG == 64: "HalfSipHash1-3" is really SipHash-1-3 on 64-bit lanes,
 *   truncated to u32), used by mh. 64-bit lanes are emulated with pairs of uint32.
 * - `foldAddr6`: the IPv6 fold every IPVS hash scheduler applies
 *   (`addr->ip6[0]^addr->ip6[1]^addr->ip6[2]^addr->ip6[3]`, then `ntohl`).
 */
import type { Dest, FlowKey } from './types.js';

/** include/linux/hash.h GOLDEN_RATIO_32 (since Linux 4.7). */
const GOLDEN_RATIO_32 = 0x61c88647;

/** include/linux/hash.h `hash_32(val, bits)`: `(val * GOLDEN_RATIO_32) >> (32 - bits)`. */
export function hash32(val: number, bits: number): number {
  return Math.imul(val, GOLDEN_RATIO_32) >>> (32 - bits);
}

/**
 * `ntohl(ip6[0] ^ ip6[1] ^ ip6[2] ^ ip6[3])` of a 16-byte IPv6 address: the 32-bit fold
 * sh, dh, mh, lblc and lblcr hash for IPv6 (XOR commutes with the byte swap).
 */
export function foldAddr6(b: Uint8Array): number {
  return (
    (((b[0]! ^ b[4]! ^ b[8]! ^ b[12]!) << 24) |
      ((b[1]! ^ b[5]! ^ b[9]! ^ b[13]!) << 16) |
      ((b[2]! ^ b[6]! ^ b[10]! ^ b[14]!) << 8) |
      (b[3]! ^ b[7]! ^ b[11]! ^ b[15]!)) >>>
    0
  );
}

// SipHash initial constants ("somepseudorandomlygeneratedbytes"), split hi/lo.
const C0H = 0x736f6d65, C0L = 0x70736575;
const C1H = 0x646f7261, C1L = 0x6e646f6d;
const C2H = 0x6c796765, C2L = 0x6e657261;
const C3H = 0x74656462, C3L = 0x79746573;

/** A 128-bit hsiphash key (two 64-bit words, each as hi/lo uint32). */
export interface HsiphashKey {
  readonly k0h: number;
  readonly k0l: number;
  readonly k1h: number;
  readonly k1l: number;
}

/** Builds a key from two 64-bit words given as numbers below 2^53 (the kernel's `unsigned long key[2]`). */
export function hsiphashKey(k0: number, k1: number): HsiphashKey {
  return {
    k0h: Math.floor(k0 / 0x100000000) >>> 0,
    k0l: k0 >>> 0,
    k1h: Math.floor(k1 / 0x100000000) >>> 0,
    k1l: k1 >>> 0,
  };
}

/**
 * lib/siphash.c `hsiphash(&v, sizeof(u32), key)` on a 64-bit kernel: SipHash-1-3 of the
 * 4 little-endian bytes of `v`, returning the low 32 bits of `(v0^v1)^(v2^v3)`
 * (HPREAMBLE(4); `b |= v` for the 4 trailing bytes; HPOSTAMBLE: one compression round,
 * three finalization rounds).
 */
export function hsiphash32(v: number, key: HsiphashKey): number {
  return hsiphashMod(v >>> 16, v & 0xffff, key, 0x100000000);
}

/**
 * `hsiphash(v) % m` without allocating: `v` comes in as two 16-bit halves and the result is
 * below `m`, so with `m` < 2^30 nothing crosses a call boundary as a boxed heap number. The
 * lanes live in locals for the same reason. Measured with the allocation test in
 * test/unit/forward/schedulers/registry.test.ts: a u32 argument, a u32 result or lanes in
 * module-level `let`s each cost about 9 bytes per mh pick (900 KB per 100,000 picks).
 */
export function hsiphashMod(vHi16: number, vLo16: number, key: HsiphashKey, m: number): number {
  const v = ((vHi16 << 16) | vLo16) >>> 0;
  // HPREAMBLE(len = 4). Every word is kept unsigned, for the carry test `lo < a`.
  let v0h = (C0H ^ key.k0h) >>> 0, v0l = (C0L ^ key.k0l) >>> 0;
  let v1h = (C1H ^ key.k1h) >>> 0, v1l = (C1L ^ key.k1l) >>> 0;
  let v2h = (C2H ^ key.k0h) >>> 0, v2l = (C2L ^ key.k0l) >>> 0;
  let v3h = (C3H ^ key.k1h) >>> 0, v3l = (C3L ^ key.k1l) >>> 0;
  // b = (len << 56) | le32(v)
  const bh = 0x04000000;
  const bl = v >>> 0;
  v3h = (v3h ^ bh) >>> 0;
  v3l = (v3l ^ bl) >>> 0;
  let lo: number, hi: number, t: number;
  for (let round = 0; round < 4; round++) {
    if (round === 1) {
      // between the compression round and the finalization rounds
      v0h = (v0h ^ bh) >>> 0;
      v0l = (v0l ^ bl) >>> 0;
      v2l = (v2l ^ 0xff) >>> 0;
    }
    // SIPHASH_PERMUTATION (include/linux/siphash.h)
    // v0 += v1
    lo = (v0l + v1l) >>> 0;
    v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0;
    v0l = lo;
    // v1 = rol64(v1, 13); v1 ^= v0
    hi = ((v1h << 13) | (v1l >>> 19)) >>> 0;
    lo = ((v1l << 13) | (v1h >>> 19)) >>> 0;
    v1h = (hi ^ v0h) >>> 0;
    v1l = (lo ^ v0l) >>> 0;
    // v0 = rol64(v0, 32)
    t = v0h; v0h = v0l; v0l = t;
    // v2 += v3
    lo = (v2l + v3l) >>> 0;
    v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0;
    v2l = lo;
    // v3 = rol64(v3, 16); v3 ^= v2
    hi = ((v3h << 16) | (v3l >>> 16)) >>> 0;
    lo = ((v3l << 16) | (v3h >>> 16)) >>> 0;
    v3h = (hi ^ v2h) >>> 0;
    v3l = (lo ^ v2l) >>> 0;
    // v0 += v3
    lo = (v0l + v3l) >>> 0;
    v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0;
    v0l = lo;
    // v3 = rol64(v3, 21); v3 ^= v0
    hi = ((v3h << 21) | (v3l >>> 11)) >>> 0;
    lo = ((v3l << 21) | (v3h >>> 11)) >>> 0;
    v3h = (hi ^ v0h) >>> 0;
    v3l = (lo ^ v0l) >>> 0;
    // v2 += v1
    lo = (v2l + v1l) >>> 0;
    v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0;
    v2l = lo;
    // v1 = rol64(v1, 17); v1 ^= v2
    hi = ((v1h << 17) | (v1l >>> 15)) >>> 0;
    lo = ((v1l << 17) | (v1h >>> 15)) >>> 0;
    v1h = (hi ^ v2h) >>> 0;
    v1l = (lo ^ v2l) >>> 0;
    // v2 = rol64(v2, 32)
    t = v2h; v2h = v2l; v2l = t;
  }
  return ((v0l ^ v1l ^ v2l ^ v3l) >>> 0) % m;
}

/** `ntohl(addr_fold)` of a flow's source address (the key of sh and mh). */
export function srcAddrFold(flow: FlowKey): number {
  return flow.srcAddr6 !== null ? foldAddr6(flow.srcAddr6) : flow.srcAddr4 >>> 0;
}

/** `ntohl(addr_fold)` of a flow's destination address (the key of dh, lblc and lblcr). */
export function dstAddrFold(flow: FlowKey): number {
  return flow.dstAddr6 !== null ? foldAddr6(flow.dstAddr6) : flow.dstAddr4 >>> 0;
}

/** `ntohl(addr_fold)` of a dest's address (mh hashes dests to place them). */
export function destAddrFold(d: Dest): number {
  return d.addr6 !== null ? foldAddr6(d.addr6) : d.addr4 >>> 0;
}

/**
 * ip_vs_sh.c / ip_vs_mh.c `ip_vs_*_get_port()`: the source port for TCP, UDP and SCTP
 * (the three protocols whose ports sit at the same offsets), 0 for anything else.
 */
export function hashableSrcPort(flow: FlowKey): number {
  const p = flow.proto;
  return p === 6 || p === 17 || p === 132 ? flow.srcPort : 0;
}
