/**
 * Connection-table figures for bench/forward.ts: bytes per entry at a capacity, the cost of a
 * lookup (hit) with the table holding 1 k versus 1 M connections, and the memory-access floor
 * it is up against: random reads over a typed array as large as the table.
 *
 * The table's arrays come from `hugeAlloc` when the addon is built (anonymous mmap +
 * madvise(MADV_HUGEPAGE)); `hugePages` says how many bytes the kernel actually backed with
 * 2 MiB pages (AnonHugePages of this process grew by that much).
 */
import { readFileSync } from 'node:fs';
import { ConnTable, STRIDE, C0, V0, D0, PORTS_CV, PORTS_D, type ConnTableOptions } from '../../src/forward/conn-table.js';
import { CoreDest, M_NAT } from '../../src/forward/dests.js';
import { Tuple } from '../../src/forward/packet.js';
import { hugeAlloc } from '../../src/io/huge.js';

export interface ConnTableFigures {
  readonly entries: number;
  readonly bytesPerEntry: number;
  /** Bytes of the record and index arrays (what lookups touch). */
  readonly tableBytes: number;
  /** Resident memory growth measured while filling (RSS: the huge-page buffers are outside V8's accounting). */
  readonly measuredBytesPerEntry: number;
  /** Random existing keys, each looked up once in a random order. */
  readonly lookupNs: number;
  /** The same keys in runs of 8 (a flow's packets arrive together): cache-warm after the first. */
  readonly localNs: number;
  readonly insertNs: number;
  /** Bytes the kernel backed with transparent huge pages ('off' when the addon is absent). */
  readonly hugePages: string;
}

function anonHugeKb(): number {
  try {
    const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function fill(n: number, capacity: number, alloc: ConnTableOptions['alloc']): { t: ConnTable; keys: Uint32Array; insertNs: number } {
  const t = new ConnTable({ capacity, seed: 7, alloc });
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
export function measureConnTable(entries: number, lookups = 2_000_000, huge = true): ConnTableFigures {
  global.gc?.();
  const before = process.memoryUsage();
  const hk0 = anonHugeKb();
  const alloc = huge ? hugeAlloc() ?? undefined : undefined;
  const { t, keys, insertNs } = fill(entries, entries, alloc);
  const after = process.memoryUsage();
  const hugeKb = anonHugeKb() - hk0;
  const grown = after.rss - before.rss;
  const tup = new Tuple();
  tup.fam = 4;
  tup.proto = 6;
  tup.d0 = 0xc612000a;
  tup.dport = 80;
  // The probe sequence: existing keys in a random order, laid out so the benchmark reads
  // its own keys sequentially and only the table is accessed at random.
  const n = Math.min(lookups, 1 << 21);
  const seq = new Uint32Array(n * 2);
  const local = new Uint32Array(n * 2);
  let x = 99;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const k = x % entries;
    seq[i * 2] = keys[k * 2]!;
    seq[i * 2 + 1] = keys[k * 2 + 1]!;
  }
  for (let i = 0; i < n; i++) {
    const j = (i >>> 3) * 2; // runs of 8 of the same key
    local[i * 2] = seq[j]!;
    local[i * 2 + 1] = seq[j + 1]!;
  }
  let hits = 0;
  const run = (s: Uint32Array, count: number) => {
    for (let i = 0; i < count; i++) {
      const j = (i % n) * 2;
      tup.s0 = s[j]!;
      tup.sport = s[j + 1]!;
      if (t.lookup(tup) >= 0) hits++;
    }
  };
  run(seq, 200_000); // warm up (JIT)
  let t0 = process.hrtime.bigint();
  run(seq, lookups);
  const lookupNs = Number(process.hrtime.bigint() - t0) / lookups;
  t0 = process.hrtime.bigint();
  run(local, lookups);
  const localNs = Number(process.hrtime.bigint() - t0) / lookups;
  if (hits !== 2 * lookups + 200_000) throw new Error(`lookups missed: ${2 * lookups + 200_000 - hits}`);
  return {
    entries, bytesPerEntry: t.bytesPerEntry, tableBytes: t.lookupBytes, measuredBytesPerEntry: grown / entries, lookupNs, localNs, insertNs,
    hugePages: alloc ? `${(hugeKb / 1024).toFixed(0)} MiB of ${(t.lookupBytes / 2 ** 20).toFixed(0)} MiB` : huge ? 'off (addon not built)' : 'off',
  };
}

/**
 * The memory floor for a lookup over `bytes`: ns per random 4-byte read of a typed array that
 * size (allocated the same way as the table), each read's address computed by the same kind
 * of multiplicative hash, reads independent of each other (as successive lookups are).
 */
export function memoryFloor(bytes: number, reads = 4_000_000, huge = true): number {
  const alloc = huge ? hugeAlloc() : null;
  const words = Math.max(1024, Math.floor(bytes / 4));
  let size = 1;
  while (size * 2 <= words) size *= 2;
  const a = alloc ? new Uint32Array(alloc(size * 4)) : new Uint32Array(size);
  for (let i = 0; i < size; i += 1024) a[i] = i; // touch every page
  const mask = size - 1;
  let acc = 0;
  const go = (count: number) => {
    for (let i = 0; i < count; i++) {
      let h = Math.imul(i ^ 0x2545f491, 0x9e3779b1);
      h ^= h >>> 15;
      acc = (acc + a[h & mask]!) | 0;
    }
  };
  go(200_000);
  const t0 = process.hrtime.bigint();
  go(reads);
  const ns = Number(process.hrtime.bigint() - t0) / reads;
  if (acc === 0x7fffffff) console.log(''); // keep acc alive
  return ns;
}

/**
 * The latency of one memory access over `bytes`: a chain of dependent random reads (each
 * read's value is the next index, a random cycle through the array), so no two misses
 * overlap. A lookup that needs k dependent accesses cannot beat k × this.
 */
export function memoryLatency(bytes: number, reads = 2_000_000, huge = true): number {
  const alloc = huge ? hugeAlloc() : null;
  const words = Math.max(1024, Math.floor(bytes / 4));
  let size = 1;
  while (size * 2 <= words) size *= 2;
  const a = alloc ? new Uint32Array(alloc(size * 4)) : new Uint32Array(size);
  // One random cycle over cache-line-spaced slots (16 words apart), Sattolo's shuffle.
  const lines = size >>> 4;
  const order = new Uint32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  let x = 12345;
  for (let i = lines - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const j = x % i;
    const tmp = order[i]!; order[i] = order[j]!; order[j] = tmp;
  }
  for (let i = 0; i < lines; i++) a[order[i]! << 4] = order[(i + 1) % lines]! << 4;
  let p = 0;
  for (let i = 0; i < 100_000; i++) p = a[p]!;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) p = a[p]!;
  const ns = Number(process.hrtime.bigint() - t0) / reads;
  if (p === 0xffffffff) console.log('');
  return ns;
}
