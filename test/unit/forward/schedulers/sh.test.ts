import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowKey } from '../../../../src/forward/schedulers/types.js';
import { clientFlow, dests, flow4, flow6, hash32Ref, make, tally } from './helpers.js';
import { foldAddr6 } from '../../../../src/forward/schedulers/hash.js';

// Reference: ip_vs_sh_hashkey = (offset + hash_32(port + ntohl(saddr), 8)) & 255; the table is
// filled walking the kernel list (reversed config order), each dest `weight` buckets in a row.
const bucketOf = (f: FlowKey, port = 0, offset = 0) =>
  (offset + hash32Ref(((f.srcAddr6 ? foldAddr6(f.srcAddr6) : f.srcAddr4) + port) >>> 0, 8)) & 255;

test('sh: each flow lands on the dest of its bucket in the weighted 256-bucket table', () => {
  // config A:1, B:2, C:1 -> list C, B, A -> buckets C B B A C B B A ...
  const s = make('sh', dests([['A', 1], ['B', 2], ['C', 1]]));
  const pattern = ['C', 'B', 'B', 'A'];
  for (let i = 0; i < 10_000; i++) {
    const f = clientFlow(i);
    assert.equal(s.pick(f, 0)!.key, pattern[bucketOf(f) % 4], `flow ${i}`);
  }
});

test('sh: same client -> same dest (any port), distribution follows weight', () => {
  const s = make('sh', dests([['A', 1], ['B', 2], ['C', 1]]));
  const f = flow4('198.18.7.7', 1111);
  const first = s.pick(f, 0)!.key;
  for (let p = 1024; p < 2024; p++) assert.equal(s.pick(flow4('198.18.7.7', p), 0)!.key, first);
  const t = tally(s, 10_000, clientFlow);
  assert.ok(t.B! > 4500 && t.B! < 5500 && t.A! > 2000 && t.C! > 2000, JSON.stringify(t));
});

test('sh: tie-break: with weights 1 the first buckets follow the kernel list (last configured first)', () => {
  // bucket 0 belongs to the head of the list: find a client hashing to bucket 0.
  const s = make('sh', dests([['A', 1], ['B', 1], ['C', 1]]));
  let i = 0;
  while (bucketOf(clientFlow(i)) !== 0) i++;
  assert.equal(s.pick(clientFlow(i), 0)!.key, 'C');
});

test('sh-port: the source port joins the hash', () => {
  const s = make('sh', dests([['A', 1], ['B', 1], ['C', 1], ['D', 1]]), { shPort: true });
  const pattern = ['D', 'C', 'B', 'A'];
  const seen = new Set<string>();
  for (let p = 1024; p < 3024; p++) {
    const f = flow4('198.18.7.7', p);
    const d = s.pick(f, 0)!.key;
    assert.equal(d, pattern[bucketOf(f, p) % 4]);
    seen.add(d);
  }
  assert.equal(seen.size, 4);
  // without TCP/UDP/SCTP there is no port: ICMP hashes as port 0
  const icmp = flow4('198.18.7.7', 5555, '198.18.0.10', 0, 1);
  assert.equal(s.pick(icmp, 0)!.key, pattern[bucketOf(icmp, 0) % 4]);
});

test('sh: an unavailable hashed dest gives null without sh-fallback', () => {
  const ds = dests([['A', 1], ['B', 1], ['C', 1]]);
  const s = make('sh', ds);
  ds[0]!.overloaded = true;
  let nulls = 0;
  for (let i = 0; i < 3000; i++) {
    const f = clientFlow(i);
    const d = s.pick(f, 0);
    if (['C', 'B', 'A'][bucketOf(f) % 3] === 'A') {
      assert.equal(d, null);
      nulls++;
    } else assert.notEqual(d, null);
  }
  assert.ok(nulls > 800);
});

test('sh-fallback: an unavailable hashed dest walks the kernel probe sequence; others keep their dest', () => {
  const ds = dests([['A', 1], ['B', 1], ['C', 1], ['D', 1]]);
  const plain = make('sh', ds);
  const before = Array.from({ length: 5000 }, (_, i) => plain.pick(clientFlow(i), 0)!.key);
  const s = make('sh', ds, { shFallback: true });
  ds[1]!.overloaded = true; // B
  const table = ['D', 'C', 'B', 'A'];
  for (let i = 0; i < 5000; i++) {
    const f = clientFlow(i);
    const got = s.pick(f, 0)!.key;
    if (before[i] !== 'B') {
      assert.equal(got, before[i]);
      continue;
    }
    // ip_vs_sh_get_fallback: roffset = (offset + ihash) % 256, bucket = (roffset + hash) & 255
    const ihash = bucketOf(f);
    let want = '';
    for (let offset = 0; offset < 256 && want === ''; offset++) {
      const k = table[bucketOf(f, 0, (offset + ihash) % 256) % 4]!;
      if (k !== 'B') want = k;
    }
    assert.equal(got, want);
  }
  ds[0]!.overloaded = ds[2]!.overloaded = ds[3]!.overloaded = true;
  assert.equal(s.pick(clientFlow(1), 0), null);
});

test('sh: quiescing (weight 0) rebuilds the table: the dest keeps one bucket, unavailable', () => {
  const ds = dests([['A', 2], ['B', 2]]);
  const s = make('sh', ds);
  ds[0]!.weight = 0;
  s.update(ds); // list B:2, A:0 -> B B A B B A ...
  for (let i = 0; i < 2000; i++) {
    const f = clientFlow(i);
    assert.equal(s.pick(f, 0)?.key ?? null, bucketOf(f) % 3 === 2 ? null : 'B');
  }
});

test('sh: IPv6 clients hash on the folded address', () => {
  const s = make('sh', dests([['A', 1], ['B', 1]]));
  for (let i = 1; i < 500; i++) {
    const f = flow6(`2001:db8::${i.toString(16)}`);
    assert.equal(s.pick(f, 0)!.key, ['B', 'A'][bucketOf(f) % 2]);
  }
});
