import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MaglevHashing } from '../../../../src/forward/schedulers/mh.js';
import type { Dest, FlowKey } from '../../../../src/forward/schedulers/types.js';
import { clientFlow, dest, dests, flow4, hsiphashRef, make, tally } from './helpers.js';

const M = 251;
const K1 = 2654435761n; // ip_vs_mh.c generate_hash_secret(): hash1 key words
const K2 = 2654446892n; // hash2 key words

/**
 * Naive Maglev population (NSDI'16 §3.4 with the kernel's weighting): full preference lists
 * permutation[i][j] = (offset + j*skip) % M from hsiphash(port + addr), dests taking
 * `turns` claims per round in list order. `list` is in kernel list order.
 */
function maglevRef(list: readonly { key: string; addr4: number; port: number; lw: number }[]): (string | null)[] {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let g = 0;
  let max = 0;
  for (const d of list) {
    if (d.lw > 0) g = g > 0 ? gcd(d.lw, g) : d.lw;
    max = Math.max(max, d.lw);
  }
  const table: (string | null)[] = new Array(M).fill(null);
  if (g < 1) return table;
  const rshift = Math.max(0, 32 - Math.clz32(Math.floor(max / g)) - 6);
  const prefs = list.map((d) => {
    const v = (d.port + d.addr4) >>> 0;
    const offset = hsiphashRef(v, K1) % M;
    const skip = (hsiphashRef(v, K2) % (M - 1)) + 1;
    return Array.from({ length: M }, (_, j) => (offset + j * skip) % M);
  });
  const turns = list.map((d) => Math.floor(d.lw / g) >> rshift || (d.lw !== 0 ? 1 : 0));
  const next = list.map(() => 0);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < list.length; i++) {
      for (let t = 0; t < turns[i]!; t++) {
        while (table[prefs[i]![next[i]!]!] !== null) next[i]!++;
        table[prefs[i]![next[i]!]!] = list[i]!.key;
        next[i]!++;
        if (++filled === M) return table;
      }
    }
  }
}

const kernelOrder = (ds: readonly Dest[]) => [...ds].reverse().map((d) => ({ key: d.key, addr4: d.addr4, port: d.port, lw: d.weight }));
const lookup = (f: FlowKey, port = 0, offset = 0) => hsiphashRef((offset + port + f.srcAddr4) >>> 0, K1) % M;
const table = (s: unknown) => (s as MaglevHashing).table();

test('mh: lookup table equals a naive Maglev population over the kernel hashes', () => {
  const cases: [string, number][][] = [
    [['A', 1], ['B', 1], ['C', 1]],
    [['A', 1], ['B', 2], ['C', 3]],
    [['A', 1000], ['B', 2000], ['C', 3000], ['D', 0]],
    [['A', 200], ['B', 1], ['C', 7]], // rshift > 0: 200 needs 8 bits
    Array.from({ length: 40 }, (_, i) => [`R${i}`, 1 + (i % 5)] as [string, number]),
  ];
  for (const spec of cases) {
    const ds = dests(spec);
    assert.deepEqual(table(make('mh', ds)), maglevRef(kernelOrder(ds)), spec.map((x) => x.join(':')).join(' '));
  }
});

test('mh: table shares follow weight (exact counts for turns 3,2,1)', () => {
  // list C:3, B:2, A:1: 41 rounds of 6 claims, then C takes 3 and B 2 of the last 5
  const t = table(make('mh', dests([['A', 1], ['B', 2], ['C', 3]])));
  const count = (k: string) => t.filter((x) => x === k).length;
  assert.deepEqual([count('A'), count('B'), count('C')], [41, 84, 126]);
  // equal weights: counts within one of each other
  const t3 = table(make('mh', dests([['A', 5], ['B', 5], ['C', 5]])));
  assert.deepEqual(['A', 'B', 'C'].map((k) => t3.filter((x) => x === k).length).sort(), [83, 84, 84]);
});

test('mh: tie-break: the head of the kernel list claims its first preference first', () => {
  const ds = dests([['A', 1], ['B', 1]]);
  const head = ds[1]!; // B heads the kernel list
  const first = hsiphashRef((head.port + head.addr4) >>> 0, K1) % M;
  assert.equal(table(make('mh', ds))[first], 'B');
});

test('mh: each flow maps to table[hsiphash(saddr) % 251]; same client -> same dest; distribution', () => {
  const ds = dests([['A', 1], ['B', 1], ['C', 1]]);
  const s = make('mh', ds);
  const t = table(s);
  for (let i = 0; i < 10_000; i++) {
    const f = clientFlow(i);
    assert.equal(s.pick(f, 0)!.key, t[lookup(f)]);
    assert.equal(s.pick(flow4(f.srcAddr4, 999), 0)!.key, t[lookup(f)], 'port ignored without mh-port');
  }
  const tt = tally(s, 10_000, clientFlow);
  for (const k of ['A', 'B', 'C']) assert.ok(tt[k]! > 2900 && tt[k]! < 3800, JSON.stringify(tt));
});

test('mh-port: the source port joins the hash (TCP/UDP/SCTP only)', () => {
  const s = make('mh', dests([['A', 1], ['B', 1], ['C', 1], ['D', 1]]), { mhPort: true });
  const t = table(s);
  const seen = new Set<string>();
  for (let p = 1024; p < 2024; p++) {
    const f = flow4('198.18.7.7', p);
    assert.equal(s.pick(f, 0)!.key, t[lookup(f, p)]);
    seen.add(s.pick(f, 0)!.key);
  }
  assert.equal(seen.size, 4);
  const icmp = flow4('198.18.7.7', 77, '198.18.0.10', 0, 1);
  assert.equal(s.pick(icmp, 0)!.key, t[lookup(icmp, 0)]);
});

test('mh: removing one of 10 dests remaps about 1/10 of flows (minimal disruption)', () => {
  const ds = Array.from({ length: 10 }, (_, i) => dest(i, `R${i}`, 1));
  const s = make('mh', ds);
  const before = Array.from({ length: 10_000 }, (_, i) => s.pick(clientFlow(i), 0)!.key);
  s.update(ds.filter((d) => d.key !== 'R4'));
  let movedOnRemoved = 0;
  let movedOthers = 0;
  for (let i = 0; i < before.length; i++) {
    const after = s.pick(clientFlow(i), 0)!.key;
    if (before[i] === 'R4') movedOnRemoved++;
    else if (after !== before[i]) movedOthers++;
  }
  const moved = (movedOnRemoved + movedOthers) / before.length;
  // 1/10 must move; Maglev keeps the rest nearly still (a 251-entry table moves a few more).
  assert.ok(moved >= 0.08 && moved < 0.16, `moved ${moved}`);
  assert.ok(movedOthers / before.length < 0.06, `collateral ${movedOthers}`);
});

test('mh: quiescing (weight 0) keeps the table (last_weight); its flows get null, others unchanged', () => {
  const ds = dests([['A', 1], ['B', 1], ['C', 1]]);
  const s = make('mh', ds);
  const t0 = table(s);
  ds[0]!.weight = 0;
  s.update(ds);
  assert.deepEqual(table(s), t0);
  for (let i = 0; i < 3000; i++) {
    const f = clientFlow(i);
    const want = t0[lookup(f)] === 'A' ? null : t0[lookup(f)];
    assert.equal(s.pick(f, 0)?.key ?? null, want);
  }
  // a dest added with weight 0 gets no entry (last_weight 0), and all-zero empties the table
  const z = make('mh', dests([['A', 0], ['B', 0]]));
  assert.ok(table(z).every((x) => x === null));
  assert.equal(z.pick(clientFlow(0), 0), null);
});

test('mh-fallback: an unavailable hashed dest probes hsiphash(roffset + saddr) onwards', () => {
  const ds = dests([['A', 1], ['B', 1], ['C', 1]]);
  const s = make('mh', ds, { mhFallback: true });
  const t = table(s);
  ds[2]!.overloaded = true; // C
  let probed = 0;
  for (let i = 0; i < 3000; i++) {
    const f = clientFlow(i);
    const ihash = lookup(f);
    let want = t[ihash]!;
    if (want === 'C') {
      probed++;
      want = '';
      for (let offset = 0; offset < M && want === ''; offset++) {
        const k = t[lookup(f, 0, (offset + ihash) % M)]!;
        if (k !== 'C') want = k;
      }
    }
    assert.equal(s.pick(f, 0)!.key, want);
  }
  assert.ok(probed > 800);
  ds[0]!.overloaded = ds[1]!.overloaded = true;
  assert.equal(s.pick(clientFlow(0), 0), null);
});

test('mh: more than 251 dests: the most recently added beyond 251 are left out, as the kernel refuses them', () => {
  const ds = Array.from({ length: 260 }, (_, i) => dest(i, `R${i}`, 1));
  const t = table(make('mh', ds));
  const used = new Set(t);
  assert.equal(used.size, 251);
  assert.ok(used.has('R0') && used.has('R250') && !used.has('R251') && !used.has('R259'));
});
