/**
 * A small open-addressing map from (family, protocol, address words, port) to a
 * non-negative integer, for the hot path's service and VIP lookups: no string keys, no
 * allocation on lookup. Rebuilt (not edited) when the model changes, so it has no deletion.
 * Address words are kept as int32: callers pass them `| 0` (a uint32 above 2^31 passed to
 * a call that is not inlined is a heap number: an allocation per lookup); uint32 works too.
 */
export class KeyMap {
  private keys: Int32Array;
  private vals: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 16) {
    let n = 16;
    while (n < expected * 2) n *= 2;
    this.keys = new Int32Array(n * 6);
    this.vals = new Int32Array(n).fill(-1);
    this.mask = n - 1;
  }

  get size(): number {
    return this.count;
  }

  private static hash(famProto: number, a0: number, a1: number, a2: number, a3: number, port: number): number {
    let h = Math.imul(famProto ^ 0x27d4eb2d, 0x9e3779b1);
    h = Math.imul(h ^ a0, 0x85ebca6b); h ^= h >>> 13;
    h = Math.imul(h ^ a1, 0xc2b2ae35); h ^= h >>> 16;
    h = Math.imul(h ^ a2, 0x85ebca6b); h ^= h >>> 13;
    h = Math.imul(h ^ a3, 0xc2b2ae35); h ^= h >>> 16;
    h = Math.imul(h ^ port, 0x9e3779b1);
    return h ^ (h >>> 15); // int32 (a returned uint32 above 2^31 is a heap number); masked by the caller
  }

  /** Sets key → value (value ≥ 0), replacing an existing value. */
  set(fam: number, proto: number, a0: number, a1: number, a2: number, a3: number, port: number, value: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const fp = (fam << 8) | proto;
    let i = KeyMap.hash(fp, a0, a1, a2, a3, port) & this.mask;
    for (;;) {
      if (this.vals[i] === -1) {
        this.count++;
        break;
      }
      if (this.same(i, fp, a0, a1, a2, a3, port)) break;
      i = (i + 1) & this.mask;
    }
    const k = this.keys;
    const o = i * 6;
    k[o] = fp; k[o + 1] = a0 | 0; k[o + 2] = a1 | 0; k[o + 3] = a2 | 0; k[o + 4] = a3 | 0; k[o + 5] = port;
    this.vals[i] = value;
  }

  /** The value of key, or -1. */
  get(fam: number, proto: number, a0: number, a1: number, a2: number, a3: number, port: number): number {
    const fp = (fam << 8) | proto;
    let i = KeyMap.hash(fp, a0, a1, a2, a3, port) & this.mask;
    for (;;) {
      const v = this.vals[i]!;
      if (v === -1) return -1;
      if (this.same(i, fp, a0, a1, a2, a3, port)) return v;
      i = (i + 1) & this.mask;
    }
  }

  private same(i: number, fp: number, a0: number, a1: number, a2: number, a3: number, port: number): boolean {
    const k = this.keys;
    const o = i * 6;
    return k[o] === fp && k[o + 1] === (a0 | 0) && k[o + 2] === (a1 | 0) && k[o + 3] === (a2 | 0) && k[o + 4] === (a3 | 0) && k[o + 5] === port;
  }

  private grow(): void {
    const oldK = this.keys;
    const oldV = this.vals;
    const n = (this.mask + 1) * 2;
    this.keys = new Int32Array(n * 6);
    this.vals = new Int32Array(n).fill(-1);
    this.mask = n - 1;
    this.count = 0;
    for (let i = 0; i < oldV.length; i++) {
      if (oldV[i] === -1) continue;
      const o = i * 6;
      this.set(oldK[o]! >>> 8, oldK[o]! & 255, oldK[o + 1]!, oldK[o + 2]!, oldK[o + 3]!, oldK[o + 4]!, oldK[o + 5]!, oldV[i]!);
    }
  }
}

/** The four words of an address text (IPv4 in word 0), or null. */
export function addrWords(fam: 4 | 6, bytes: Uint8Array | number): [number, number, number, number] {
  if (fam === 4) return [(bytes as number) >>> 0, 0, 0, 0];
  const b = bytes as Uint8Array;
  const w = (i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  return [w(0), w(4), w(8), w(12)];
}
