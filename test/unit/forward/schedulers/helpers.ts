// Shared fixtures for the scheduler tests: dests, flows, options and a seeded RNG.
import { parseIPv4, parseIPv6 } from '../../../../src/lib/ip.js';
import type { SchedulerFlags } from '../../../../src/model/types.js';
import { createScheduler } from '../../../../src/forward/schedulers/index.js';
import type { Dest, FlowKey, Scheduler } from '../../../../src/forward/schedulers/types.js';

export const NO_FLAGS: SchedulerFlags = { shFallback: false, shPort: false, mhFallback: false, mhPort: false };

/** Mulberry32: a small seeded uniform RNG in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A scheduler with the given flags and RNG, already updated with `dests`. */
export function make(name: string, dests: readonly Dest[], flags: Partial<SchedulerFlags> = {}, random = seeded(1)): Scheduler {
  const s = createScheduler(name, { flags: { ...NO_FLAGS, ...flags }, random });
  s.update(dests);
  return s;
}

/** A dest named `name` (its key) at 198.18.1.<index+1>:80. */
export function dest(index: number, name: string, weight: number, extra: Partial<Dest> = {}): Dest {
  return {
    index,
    key: name,
    addr4: parseIPv4(`198.18.1.${index + 1}`)!,
    addr6: null,
    port: 80,
    weight,
    activeConns: 0,
    inactiveConns: 0,
    persistConns: 0,
    overloaded: false,
    ...extra,
  };
}

/** Dests from [name, weight] pairs, in config order. */
export function dests(spec: readonly (readonly [string, number])[]): Dest[] {
  return spec.map(([n, w], i) => dest(i, n, w));
}

/** An IPv4 TCP flow from src:srcPort to dst:dstPort. */
export function flow4(src: string | number, srcPort = 40000, dst: string | number = '198.18.0.10', dstPort = 80, proto = 6): FlowKey {
  return {
    family: 'ipv4',
    srcAddr4: typeof src === 'number' ? src >>> 0 : parseIPv4(src)!,
    srcAddr6: null,
    srcPort,
    dstAddr4: typeof dst === 'number' ? dst >>> 0 : parseIPv4(dst)!,
    dstAddr6: null,
    dstPort,
    proto,
  };
}

/** An IPv6 TCP flow. */
export function flow6(src: string, srcPort = 40000, dst = '2001:db8::10', dstPort = 80, proto = 6): FlowKey {
  return { family: 'ipv6', srcAddr4: 0, srcAddr6: parseIPv6(src)!, srcPort, dstAddr4: 0, dstAddr6: parseIPv6(dst)!, dstPort, proto };
}

/** Flow i of a run of distinct clients in 198.18.128.0/17 (ports vary too). */
export function clientFlow(i: number, dst: string | number = '198.18.0.10'): FlowKey {
  return flow4((0xc6128000 + (i * 2654435761) % 32768) >>> 0, 1024 + (i % 60000), dst);
}

/** `count` picks; returns the keys picked (null as '-'). */
export function sequence(s: Scheduler, count: number, flow: FlowKey = flow4('198.18.2.1'), nowMs = 0): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(s.pick(flow, nowMs)?.key ?? '-');
  return out;
}

/** Counts of picked keys over `count` picks (flows from `flowOf`), optionally binding each pick. */
export function tally(s: Scheduler, count: number, flowOf: (i: number) => FlowKey, onPick?: (d: Dest) => void): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const d = s.pick(flowOf(i), 0);
    const k = d?.key ?? '-';
    out[k] = (out[k] ?? 0) + 1;
    if (d && onPick) onPick(d);
  }
  return out;
}

// Naive reference SipHash-c-d over BigInt, following the SipHash paper (Aumasson & Bernstein)
// literally: 64-bit lanes, little-endian message words, (len mod 256) << 56 in the last word.
const MASK = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & MASK;
export function sipHashRef(key0: bigint, key1: bigint, msg: Uint8Array, c: number, d: number): bigint {
  let v0 = 0x736f6d6570736575n ^ key0;
  let v1 = 0x646f72616e646f6dn ^ key1;
  let v2 = 0x6c7967656e657261n ^ key0;
  let v3 = 0x7465646279746573n ^ key1;
  const round = () => {
    v0 = (v0 + v1) & MASK; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & MASK; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & MASK; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const whole = msg.length - (msg.length % 8);
  for (let o = 0; o < whole; o += 8) {
    let m = 0n;
    for (let i = 7; i >= 0; i--) m = (m << 8n) | BigInt(msg[o + i]!);
    v3 ^= m;
    for (let i = 0; i < c; i++) round();
    v0 ^= m;
  }
  let b = BigInt(msg.length & 0xff) << 56n;
  for (let i = msg.length - 1; i >= whole; i--) b |= BigInt(msg[i]!) << BigInt(8 * (i - whole));
  v3 ^= b;
  for (let i = 0; i < c; i++) round();
  v0 ^= b;
  v2 ^= 0xffn;
  for (let i = 0; i < d; i++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

/** The 64-bit kernel's hsiphash of a u32 (4 LE bytes), by the reference: SipHash-1-3 truncated. */
export function hsiphashRef(v: number, k: bigint): number {
  const bytes = new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
  return Number(sipHashRef(k, k, bytes, 1, 3) & 0xffffffffn);
}

/** The kernel's hash_32(v, bits), by BigInt arithmetic. */
export function hash32Ref(v: number, bits: number): number {
  return Number(((BigInt(v >>> 0) * 0x61c88647n) & 0xffffffffn) >> BigInt(32 - bits));
}
