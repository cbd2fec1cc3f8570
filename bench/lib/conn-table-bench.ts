/**
 * Connection-table figures for bench/forward.ts: bytes per entry at a capacity, and the
 * cost of a lookup (hit) with the table holding 1 k versus 1 M connections.
 */
import { ConnTable, STRIDE, C0, V0, D0, PORTS_CV, PORTS_D } from '../../src/forward/conn-table.js';
import { CoreDest, M_NAT } from '../../src/forward/dests.js';
import { Tuple } from '../../src/forward/packet.js';

export interface ConnTableFigures {
  readonly entries: number;
  readonly bytesPerEntry: number;
  /** Heap + external growth measured while filling (includes V8 overhead). */
  readonly measuredBytesPerEntry: number;
  readonly lookupNs: number;
  readonly insertNs: number;
}

function fill(n: number, capacity: number): { t: ConnTable; keys: Uint32Array; insertNs: number } {
  const t = new ConnTable({ capacity, seed: 7 });
  const d = new CoreDest({ index: 0, key: 'd', fam: 4, words: [0xc6120101, 0, 0, 0], addr6: null, port: 80, weight: 1, method: M_NAT });
  d.id = 0;
  t.dests[0] = d;
  const keys = new Uint32Array(n * 2);
  let x = 0x12345678;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const cip = (0xc6130000 | (i >>> 8)) >>> 0; // 198.19.x.y: distinct clients
    const cport = 1024 + ((i & 255) << 5) + (x & 31);
    keys[i * 2] = cip;
    keys[i * 2 + 1] = cport;
    const r = t.alloc();
    const o = r * STRIDE;
    t.e[o + C0] = cip;
    t.e[o + V0] = 0xc612000a;
    t.e[o + D0] = d.w0;
    t.e[o + PORTS_CV] = ((cport << 16) | 80) >>> 0;
    t.e[o + PORTS_D] = ((80 << 16) | (6 << 8)) >>> 0;
    t.commitConn(r, d, true, 1 << 30);
  }
  const insertNs = Number(process.hrtime.bigint() - t0) / n;
  return { t, keys, insertNs };
}

/** Measures a table of `entries` connections (capacity = entries). */
export function measureConnTable(entries: number, lookups = 2_000_000): ConnTableFigures {
  global.gc?.();
  const before = process.memoryUsage();
  const { t, keys, insertNs } = fill(entries, entries);
  const after = process.memoryUsage();
  const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  const tup = new Tuple();
  tup.fam = 4;
  tup.proto = 6;
  tup.d0 = 0xc612000a;
  tup.dport = 80;
  // The probe sequence: existing keys in a random order, laid out so the benchmark reads
  // its own keys sequentially and only the table is accessed at random.
  const n = Math.min(lookups, 1 << 21);
  const seq = new Uint32Array(n * 2);
  let x = 99;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const k = x % entries;
    seq[i * 2] = keys[k * 2]!;
    seq[i * 2 + 1] = keys[k * 2 + 1]!;
  }
  let hits = 0;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      const j = (i % n) * 2;
      tup.s0 = seq[j]!;
      tup.sport = seq[j + 1]!;
      if (t.lookup(tup) >= 0) hits++;
    }
  };
  run(200_000); // warm up (JIT)
  const t0 = process.hrtime.bigint();
  run(lookups);
  const lookupNs = Number(process.hrtime.bigint() - t0) / lookups;
  if (hits !== lookups + 200_000) throw new Error(`lookups missed: ${lookups + 200_000 - hits}`);
  return { entries, bytesPerEntry: t.bytesPerEntry, measuredBytesPerEntry: grown / entries, lookupNs, insertNs };
}
