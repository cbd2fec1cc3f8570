import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConnTable, STRIDE, C0, V0, D0, PORTS_CV, PORTS_D, FLAGS, F_INACTIVE, F_V6, KEY_IN, KEY_OUT, SVC,
} from '../../../src/forward/conn-table.js';
import { CoreDest, M_NAT } from '../../../src/forward/dests.js';
import { Tuple } from '../../../src/forward/packet.js';
import { ExpiryWheel } from '../../../src/forward/expiry-wheel.js';

function dest(id: number, o: Partial<{ upper: number; lower: number }> = {}): CoreDest {
  const d = new CoreDest({ index: 0, key: `198.18.2.${id}:80`, fam: 4, words: [0xc6120200 + id, 0, 0, 0], addr6: null, port: 80, weight: 1, method: M_NAT });
  d.id = id;
  d.upperThreshold = o.upper ?? 0;
  d.lowerThreshold = o.lower ?? 0;
  return d;
}

function addConn(t: ConnTable, d: CoreDest, cip: number, cport: number, vip: number, vport: number, dport: number, deadline: number, v6 = false): number {
  const r = t.alloc();
  assert.ok(r >= 0);
  const o = r * STRIDE;
  t.e[o + C0] = cip;
  t.e[o + V0] = vip;
  t.e[o + D0] = d.w0;
  if (v6) { t.e[o + C0 + 3] = 7; t.e[o + V0 + 3] = 7; t.e[o + D0 + 3] = 7; t.e[o + FLAGS] = F_V6; }
  t.e[o + PORTS_CV] = ((cport << 16) | vport) >>> 0;
  t.e[o + PORTS_D] = ((dport << 16) | (6 << 8)) >>> 0;
  t.commitConn(r, d, true, deadline);
  return r;
}

function tup(s: number, sp: number, d: number, dp: number, v6 = false): Tuple {
  const t = new Tuple();
  t.fam = v6 ? 6 : 4; t.proto = 6; t.s0 = s; t.d0 = d; t.sport = sp; t.dport = dp;
  if (v6) { t.s3 = 7; t.d3 = 7; }
  return t;
}

test('one entry is found from both directions, and not with a wrong field', () => {
  const t = new ConnTable({ capacity: 64, seed: 1 });
  const d = dest(1);
  t.dests[1] = d;
  const r = addConn(t, d, 0xc6120001, 40000, 0xc612010a, 80, 8080, 100);
  assert.equal(t.lookup(tup(0xc6120001, 40000, 0xc612010a, 80)), (r << 1) | KEY_IN);
  assert.equal(t.lookup(tup(d.w0, 8080, 0xc6120001, 40000)), (r << 1) | KEY_OUT);
  assert.equal(t.lookup(tup(0xc6120001, 40001, 0xc612010a, 80)), -1);
  assert.equal(t.lookup(tup(0xc6120001, 40000, 0xc612010a, 80, true)), -1, 'family is part of the key');
  assert.equal(d.inactiveConns, 1, 'a new connection counts as inactive (IPVS binds with F_INACTIVE)');
  assert.ok(t.e[r * STRIDE + FLAGS]! & F_INACTIVE);
});

test('connections sharing a reply tuple (a client port reused towards another VIP:port): the reply finds the newest, then the next as each ends', () => {
  const t = new ConnTable({ capacity: 64, seed: 3 });
  const d = dest(1);
  t.dests[1] = d;
  const old = addConn(t, d, 0xc6120001, 40000, 0xc612010a, 80, 8080, 100);
  const neu = addConn(t, d, 0xc6120001, 40000, 0xc612010a, 81, 8080, 100);
  const reply = tup(d.w0, 8080, 0xc6120001, 40000);
  assert.equal(t.lookup(reply), (neu << 1) | KEY_OUT, 'the newest connection owns the reply tuple');
  assert.equal(t.lookup(tup(0xc6120001, 40000, 0xc612010a, 80)), (old << 1) | KEY_IN, 'the old one is still found from the client side');
  assert.ok(t.remove(old));
  assert.equal(t.lookup(reply), (neu << 1) | KEY_OUT, 'removing the old one keeps the new one\'s reply key');
  const third = addConn(t, d, 0xc6120001, 40000, 0xc612010b, 80, 8080, 100);
  const fourth = addConn(t, d, 0xc6120001, 40000, 0xc612010b, 81, 8080, 100);
  assert.equal(t.lookup(reply), (fourth << 1) | KEY_OUT);
  // Newest first, then each older one in turn as the newer ones end (IPVS's bucket order).
  assert.ok(t.remove(fourth));
  assert.equal(t.lookup(reply), (third << 1) | KEY_OUT);
  assert.ok(t.remove(third));
  assert.equal(t.lookup(reply), (neu << 1) | KEY_OUT);
  assert.ok(t.remove(neu));
  assert.equal(t.lookup(reply), -1);
  assert.equal(t.conns, 0);
  const other = addConn(t, d, 0xc6120001, 40000, 0xc612010a, 80, 8081, 100);
  assert.equal(t.lookup(tup(d.w0, 8081, 0xc6120001, 40000)), (other << 1) | KEY_OUT, 'another real port is another tuple');
});

test('random inserts and deletes agree with a Map oracle (backward-shift deletion)', () => {
  const cap = 4000;
  const t = new ConnTable({ capacity: cap, seed: 42, slotsPerEntry: 2 }); // a crowded index on purpose
  const d = dest(1);
  t.dests[1] = d;
  const oracle = new Map<string, number>();
  let x = 12345;
  const rnd = () => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x; };
  for (let step = 0; step < 40000; step++) {
    const cip = 0xc6120000 + (rnd() % 64);
    const cport = 1024 + (rnd() % 64);
    const k = `${cip}:${cport}`;
    if (oracle.has(k)) {
      if (rnd() % 2) {
        const r = oracle.get(k)!;
        assert.ok(t.remove(r));
        oracle.delete(k);
      }
    } else if (t.size < cap) {
      oracle.set(k, addConn(t, d, cip, cport, 0xc612010a, 80, 80, 1000));
    }
    if (step % 997 === 0) {
      for (const [key, r] of oracle) {
        const [c, p] = key.split(':').map(Number) as [number, number];
        assert.equal(t.lookup(tup(c, p, 0xc612010a, 80)), r << 1);
        assert.equal(t.lookup(tup(d.w0, 80, c, p)), (r << 1) | 1);
      }
    }
  }
  assert.equal(t.conns, oracle.size);
  assert.equal(d.inactiveConns, oracle.size);
});

test('random inserts and deletes with shared reply tuples: a reply always finds the newest live twin (oracle)', () => {
  const t = new ConnTable({ capacity: 2000, seed: 9, slotsPerEntry: 2 });
  const d = dest(1);
  t.dests[1] = d;
  const live = new Map<string, number>(); // in key → record
  const order: number[] = []; // records, oldest first
  let x = 777;
  const rnd = () => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x >>> 8; };
  for (let step = 0; step < 20000; step++) {
    const cip = 0xc6120000 + (rnd() % 16);
    const cport = 1024 + (rnd() % 16);
    const vport = 80 + (rnd() % 3);
    const k = `${cip}:${cport}:${vport}`;
    const r = live.get(k);
    if (r !== undefined) {
      if (rnd() % 2) { assert.ok(t.remove(r)); live.delete(k); order.splice(order.indexOf(r), 1); }
    } else if (t.size < 2000) {
      const n = addConn(t, d, cip, cport, 0xc612010a, vport, 8080, 1000);
      live.set(k, n);
      order.push(n);
    }
    if (step % 499 === 0) {
      for (let c = 0; c < 16; c++) for (let p = 0; p < 16; p++) {
        const twins = order.filter((q) => t.e[q * STRIDE + C0] === 0xc6120000 + c && t.e[q * STRIDE + PORTS_CV]! >>> 16 === 1024 + p);
        const want = twins.length ? (twins[twins.length - 1]! << 1) | KEY_OUT : -1;
        assert.equal(t.lookup(tup(d.w0, 8080, 0xc6120000 + c, 1024 + p)), want, `reply to ${c}:${1024 + p} at step ${step}`);
      }
      for (const [key, q] of live) {
        const [c, p, v] = key.split(':').map(Number) as [number, number, number];
        assert.equal(t.lookup(tup(c, p, 0xc612010a, v)), q << 1);
      }
    }
  }
});

test('expiry by the wheel: refreshed connections survive, others go; counters follow', () => {
  const t = new ConnTable({ capacity: 16, seed: 3, wheelSlots: 64 });
  const d = dest(2);
  t.dests[2] = d;
  const a = addConn(t, d, 1, 1, 9, 80, 80, 10);
  const b = addConn(t, d, 2, 2, 9, 80, 80, 10);
  t.touch(b, 500); // beyond the wheel's horizon: re-filed lazily
  const gone: number[] = [];
  t.advance(10, (r) => gone.push(r));
  assert.deepEqual(gone, [a]);
  assert.equal(d.inactiveConns, 1);
  t.advance(499, (r) => gone.push(r));
  assert.deepEqual(gone, [a]);
  t.advance(500, (r) => gone.push(r));
  assert.deepEqual(gone, [a, b]);
  assert.equal(t.conns, 0);
  // Moving a deadline earlier takes effect (ESTABLISHED → CLOSE).
  const c = addConn(t, d, 3, 3, 9, 80, 80, 1400);
  t.touch(c, 520);
  t.advance(520, (r) => gone.push(r));
  assert.deepEqual(gone, [a, b, c]);
});

test('templates: found by their own key, re-armed while they control connections', () => {
  const t = new ConnTable({ capacity: 16, seed: 9, wheelSlots: 64 });
  const d = dest(3);
  t.dests[3] = d;
  t.templateTicks[5] = 100;
  const tr = t.alloc();
  const o = tr * STRIDE;
  t.e[o + C0] = 0xc6120000; t.e[o + V0] = 0xc612010a; t.e[o + PORTS_CV] = 0; t.e[o + PORTS_D] = (80 << 16) | (6 << 8); t.e[o + SVC] = 5;
  t.commitTemplate(tr, d, 100);
  assert.equal(d.persistConns, 1);
  assert.equal(t.lookupTemplate(4, 6, 0xc6120000, 0, 0, 0, 0xc612010a, 0, 0, 0, 0), tr);
  assert.equal(t.lookupTemplate(4, 6, 0xc6120000, 0, 0, 0, 0xc612010a, 0, 0, 0, 80), -1);
  // A packet tuple never matches a template.
  assert.equal(t.lookup(tup(0xc6120000, 0, 0xc612010a, 0)), -1);
  const c = addConn(t, d, 0xc6120001, 5000, 0xc612010a, 443, 443, 300);
  t.control(c, tr);
  t.advance(100);
  assert.equal(t.lookupTemplate(4, 6, 0xc6120000, 0, 0, 0, 0xc612010a, 0, 0, 0, 0), tr, 'still controls a connection');
  t.advance(300);
  assert.equal(t.conns, 0);
  t.advance(400);
  assert.equal(t.templates, 0);
  assert.equal(d.persistConns, 0);
});

test('upper and lower thresholds set and clear overload (ip_vs_bind_dest/unbind_dest)', () => {
  const t = new ConnTable({ capacity: 16, seed: 2 });
  const d = dest(4, { upper: 2, lower: 1 });
  t.dests[4] = d;
  const a = addConn(t, d, 1, 1, 9, 80, 80, 10);
  assert.equal(d.overloaded, false);
  const b = addConn(t, d, 2, 2, 9, 80, 80, 10);
  assert.equal(d.overloaded, true);
  t.remove(a);
  assert.equal(d.overloaded, true, 'still ≥ lower threshold');
  t.remove(b);
  assert.equal(d.overloaded, false);
});

test('memory per entry at 1 M capacity stays within 200 bytes', () => {
  const t = new ConnTable({ capacity: 1 << 20, seed: 1 });
  assert.ok(t.bytesPerEntry <= 200, `${t.bytesPerEntry} B/entry`);
});

test('wheel: a jump of many turns expires everything due exactly once', () => {
  const w = new ExpiryWheel(100, 16);
  const dl = new Array(100).fill(0).map((_, i) => 1 + i * 7);
  for (let i = 0; i < 100; i++) w.schedule(i, dl[i]!);
  const seen: number[] = [];
  w.advance(10000, (i) => dl[i]!, (i) => seen.push(i));
  assert.equal(seen.length, 100);
  assert.equal(new Set(seen).size, 100);
});
