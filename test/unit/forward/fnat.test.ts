/**
 * FULLNAT (the LVS FULLNAT patches / dpvs): packet-in / packet-out through the pipeline with
 * frames built from scratch, local address round-robin and local port allocation (no
 * collision, the worker's share, exhaustion counted), ICMP errors both ways, IPv6, listing and
 * trace, and no allocation per frame.
 *
 *   standard topology (lib/topo.ts) plus VIP 198.18.0.20:80 FNAT → 198.18.1.51:8080, .52:8080,
 *   local addresses 198.18.1.200, .201 (on eth1's network); [2001:db8::20]:80 FNAT →
 *   [2001:db8:1::51]:8080, local address 2001:db8:1::200.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { A_DROP, A_TX, LPORT_MAX, LPORT_MIN, Pipeline } from '../../../src/forward/pipeline.js';
import { frame, hex, ipPacket, verifyFrame } from './lib/frames.js';
import { makeModel, type ModelSpec } from './lib/model.js';
import { CLIENT, CLIENT6, MAC, Runner, standardSpec } from './lib/topo.js';

const VIP = '198.18.0.20';
const VIP6 = '2001:db8::20';
const R51 = '198.18.1.51';
const R52 = '198.18.1.52';
const R6 = '2001:db8:1::51';
const LIPS = ['198.18.1.200', '198.18.1.201'];
const LIP6 = '2001:db8:1::200';
const M51 = '02:00:00:00:51:51';
const M52 = '02:00:00:00:51:52';
const M6 = '02:00:00:00:61:51';

function fnatSpec(): ModelSpec {
  const base = standardSpec();
  return {
    services: [
      ...base.services,
      { match: { kind: 'addr', address: VIP, port: 80 }, method: 'FNAT', reals: [{ address: R51, port: 8080 }, { address: R52, port: 8080 }] },
      { match: { kind: 'addr', address: VIP6, port: 80 }, method: 'FNAT', reals: [{ address: R6, port: 8080 }] },
    ],
    coreVips: [...base.coreVips!, { address: VIP, interface: 'eth0' }, { address: VIP6, interface: 'eth0' },
      ...[...LIPS, LIP6].map((address) => ({ address, interface: 'eth0' }))],
  };
}

function fnatPipeline(o: { workers?: number; workerIndex?: number; vnet?: boolean } = {}): Pipeline {
  const pl = new Pipeline({ capacity: 4096, seed: 1, workers: o.workers, workerIndex: o.workerIndex });
  pl.setInterfaces([
    { name: 'eth0', mac: MAC.eth0, vnet: o.vnet ?? false, nets: [{ address: '198.18.0.1', prefixLen: 24 }, { address: '2001:db8::1', prefixLen: 64 }] },
    { name: 'eth1', mac: MAC.eth1, vnet: o.vnet ?? false, nets: [{ address: '198.18.1.2', prefixLen: 24 }, { address: '2001:db8:1::2', prefixLen: 64 }] },
  ]);
  const spec = fnatSpec();
  const model = makeModel(spec);
  // The compiler resolves laddr_group_name into the service's local addresses (and core VIPs, reason fnat_local).
  const vss = { ...model.virtualServers };
  vss[`tcp:${VIP}:80`] = { ...vss[`tcp:${VIP}:80`]!, localAddressGroup: 'laddr_g1', localAddresses: [...LIPS, LIP6] };
  vss[`tcp:[${VIP6}]:80`] = { ...vss[`tcp:[${VIP6}]:80`]!, localAddressGroup: 'laddr_g1', localAddresses: [...LIPS, LIP6] };
  const coreVips = { ...model.coreVips };
  for (const a of [...LIPS, LIP6]) coreVips[a] = { ...coreVips[a]!, reason: 'fnat_local' };
  const m = { ...model, virtualServers: vss, coreVips };
  pl.applyModel(m);
  assert.deepEqual(pl.problems, []);
  pl.setClaim(null, Object.values(m.coreVips), true);
  for (const [a, mac] of [[R51, M51], [R52, M52], [R6, M6], ['198.18.1.11', MAC.rs11], ['198.18.1.12', MAC.rs12]] as const) pl.setNeighbour(a, mac);
  return pl;
}

const fromClient = (s: Parameters<typeof ipPacket>[0]) => frame({ dstMac: MAC.eth0, srcMac: MAC.router, ...s });
const fromReal = (mac: string, s: Parameters<typeof ipPacket>[0]) => frame({ dstMac: MAC.eth1, srcMac: mac, ...s });
const tcp = (sport: number, dport: number, flags: string, seq = 100, ack = 0, payload: number[] = []) => ({ proto: 'tcp' as const, sport, dport, flags, seq, ack, payload });

/** Source address and port of an IPv4 output frame. */
function src4(f: Uint8Array): { addr: string; port: number } {
  return { addr: `${f[26]}.${f[27]}.${f[28]}.${f[29]}`, port: (f[34]! << 8) | f[35]! };
}

test('FNAT: CIP:cport → VIP:vport leaves as LIP:lport → RIP:rport (sequence numbers and options unchanged); the reply RIP:rport → LIP:lport returns as VIP:vport → CIP:cport', () => {
  const pl = fnatPipeline();
  const run = new Runner(pl);
  const payload = [2, 4, 5, 0xb4]; // an MSS option would be options, not payload: the bytes pass untouched either way
  const r = run.run(fromClient({ src: CLIENT, dst: VIP, l4: tcp(40000, 80, 'S', 7777, 0, payload) }), 0);
  assert.equal(r.action, A_TX);
  assert.equal(r.outIf, 1);
  const { addr: lip, port: lport } = src4(r.out!);
  assert.equal(lip, LIPS[0], 'round-robin: the first local address');
  assert.ok(lport >= LPORT_MIN && lport <= LPORT_MAX, `lport ${lport}`);
  const rs = r.out![33] === 52 ? [R52, M52] as const : [R51, M51] as const;
  assert.equal(hex(r.out!), hex(frame({ dstMac: rs[1], srcMac: MAC.eth1, ttl: 63, src: lip, dst: rs[0], l4: tcp(lport, 8080, 'S', 7777, 0, payload) })));
  assert.deepEqual(verifyFrame(r.out!), []);
  const back = run.run(fromReal(rs[1], { src: rs[0], dst: lip, l4: tcp(8080, lport, 'SA', 9000, 7778) }), 1);
  assert.equal(back.action, A_TX);
  assert.equal(back.outIf, 0);
  assert.equal(hex(back.out!), hex(frame({ dstMac: MAC.router, srcMac: MAC.eth0, ttl: 63, src: VIP, dst: CLIENT, l4: tcp(80, 40000, 'SA', 9000, 7778) })));
  // The client's next segment finds the same connection.
  const ack = run.run(fromClient({ src: CLIENT, dst: VIP, l4: tcp(40000, 80, 'A', 7778, 9001, [1, 2, 3]) }), 0);
  assert.equal(hex(ack.out!), hex(frame({ dstMac: rs[1], srcMac: MAC.eth1, ttl: 63, src: lip, dst: rs[0], l4: tcp(lport, 8080, 'A', 7778, 9001, [1, 2, 3]) })));
  const c = pl.counters();
  assert.equal(c.forwarded_in, 2);
  assert.equal(c.forwarded_out, 1);
  const row = pl.listConns().find((x) => x.source === `${CLIENT}:40000`)!;
  assert.equal(row.method, 'FullNat');
  assert.equal(row.local, `${lip}:${lport}`);
  assert.equal(row.state, 'ESTABLISHED');
});

test('FNAT: local addresses in round-robin; ports unique per (LIP, RIP, rport), in this worker\'s share (≡ index mod workers)', () => {
  const pl = fnatPipeline({ workers: 3, workerIndex: 2 });
  const run = new Runner(pl);
  const seen = new Set<string>();
  const lips: string[] = [];
  for (let i = 0; i < 400; i++) {
    const r = run.run(fromClient({ src: CLIENT, dst: VIP, l4: tcp(20000 + i, 80, 'S') }), 0);
    assert.equal(r.action, A_TX);
    const { addr, port } = src4(r.out!);
    assert.equal(port % 3, 2, `lport ${port} is not this worker's (≡ 2 mod 3)`);
    const rs = `${r.out![30]}.${r.out![31]}.${r.out![32]}.${r.out![33]}`;
    const k = `${addr}:${port}>${rs}`;
    assert.ok(!seen.has(k), `reply tuple ${k} reused`);
    seen.add(k);
    lips.push(addr);
  }
  assert.deepEqual(lips.slice(0, 4), [LIPS[0], LIPS[1], LIPS[0], LIPS[1]]);
  // Each reply tuple finds its own connection.
  for (const k of [...seen].slice(0, 20)) {
    const [lp, rs] = k.split('>') as [string, string];
    const [lip, port] = lp.split(':') as [string, string];
    const back = run.run(fromReal(rs.endsWith('52') ? M52 : M51, { src: rs, dst: lip, l4: tcp(8080, Number(port), 'SA', 1, 101) }), 1);
    assert.equal(back.action, A_TX, k);
    assert.equal(back.outIf, 0);
  }
});

test('FNAT: exhaustion of the local ports of a real server drops the SYN (no_local_port) and never crashes; a freed port is used again; another real server has its own ports', () => {
  // 20 000 workers leave this one 3 ports (20007, 40007, 60007) per local address.
  const pl = fnatPipeline({ workers: 20000, workerIndex: 7 });
  const run = new Runner(pl);
  const got: { lip: string; port: number; rs: string }[] = [];
  for (let i = 0; i < 12; i++) {
    const r = run.run(fromClient({ src: CLIENT, dst: VIP, l4: tcp(30000 + i, 80, 'S') }), 0, 1);
    assert.equal(r.action, A_TX, `connection ${i}`);
    const { addr, port } = src4(r.out!);
    got.push({ lip: addr, port, rs: `${r.out![30]}.${r.out![31]}.${r.out![32]}.${r.out![33]}` });
  }
  // 2 real servers × 2 local addresses × 3 ports.
  assert.deepEqual(new Set(got.map((g) => g.port)), new Set([20007, 40007, 60007]));
  const drop = run.run(fromClient({ src: CLIENT, dst: VIP, l4: tcp(30100, 80, 'S') }), 0, 1);
  assert.equal(drop.action, A_DROP);
  assert.equal(pl.counters().no_local_port, 1);
  // A RST ends one connection of the real server rr picks next (the 13th SYN took its turn);
  // a port is free again for that server.
  const first = got[1]!;
  const rst = run.run(fromReal(first.rs.endsWith('52') ? M52 : M51, { src: first.rs, dst: first.lip, l4: tcp(8080, first.port, 'R', 1, 0) }), 1, 1);
  assert.equal(rst.action, A_TX);
  pl.advance(200); // CLOSE expires (10 s at 100 ms ticks)
  const again = run.run(fromClient({ src: CLIENT, dst: VIP, l4: tcp(30200, 80, 'S') }), 0, 201);
  assert.equal(again.action, A_TX, 'a port freed by an expired connection is used again');
  assert.equal(pl.counters().no_local_port, 1);
});

test('FNAT: ICMP errors both ways: from the client side to the real server as if from the local address; from the real server\'s side to the client as if from the VIP', () => {
  const pl = fnatPipeline();
  const run = new Runner(pl);
  const r = run.run(fromClient({ src: CLIENT, dst: VIP, l4: tcp(41000, 80, 'S', 1) }), 0);
  const { addr: lip, port: lport } = src4(r.out!);
  const rs = r.out![33] === 52 ? [R52, M52] as const : [R51, M51] as const;
  // The client's router: fragmentation needed about a reply VIP:80 → CIP:41000.
  const q1 = ipPacket({ src: VIP, dst: CLIENT, l4: tcp(80, 41000, 'A', 5, 2, [0, 0, 0, 0]) }).slice(0, 28);
  const e1 = run.run(fromClient({ src: '198.18.100.1', dst: VIP, l4: { proto: 'icmp', type: 3, code: 4, rest: [0, 0, 5, 0xa0], payload: q1 } }), 0);
  assert.equal(e1.action, A_TX);
  assert.equal(e1.outIf, 1);
  const want1 = ipPacket({ src: rs[0], dst: lip, l4: tcp(8080, lport, 'A', 5, 2, [0, 0, 0, 0]) }).slice(0, 28);
  // (The quote holds the ports and the sequence number; the quoted IP header checksum follows the rewrite.)
  assert.equal(hex(e1.out!), hex(frame({ dstMac: rs[1], srcMac: MAC.eth1, ttl: 63, src: lip, dst: rs[0], l4: { proto: 'icmp', type: 3, code: 4, rest: [0, 0, 5, 0xa0], payload: want1 } })));
  assert.deepEqual(verifyFrame(e1.out!), []);
  // The real server's side: port unreachable about LIP:lport → RIP:8080, to the local address.
  const q2 = ipPacket({ src: lip, dst: rs[0], l4: tcp(lport, 8080, 'A', 2, 5, [0, 0, 0, 0]) }).slice(0, 28);
  const e2 = run.run(fromReal(rs[1], { src: rs[0], dst: lip, l4: { proto: 'icmp', type: 3, code: 3, rest: [0, 0, 0, 0], payload: q2 } }), 1);
  assert.equal(e2.action, A_TX);
  assert.equal(e2.outIf, 0);
  const want2 = ipPacket({ src: CLIENT, dst: VIP, l4: tcp(41000, 80, 'A', 2, 5, [0, 0, 0, 0]) }).slice(0, 28);
  assert.equal(hex(e2.out!), hex(frame({ dstMac: MAC.router, srcMac: MAC.eth0, ttl: 63, src: VIP, dst: CLIENT, l4: { proto: 'icmp', type: 3, code: 3, rest: [0, 0, 0, 0], payload: want2 } })));
  assert.deepEqual(verifyFrame(e2.out!), []);
  assert.equal(pl.counters().icmp_relayed, 2);
});

test('FNAT over IPv6: the IPv6 local address; both directions; a partial checksum (virtio NEEDS_CSUM) moves with the opposite sign', () => {
  const pl = fnatPipeline({ vnet: true });
  const run = new Runner(pl);
  const r = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, src: CLIENT6, dst: VIP6, l4: { ...tcp(42000, 80, 'S', 3), partial: true } }), 0, 1, true);
  assert.equal(r.action, A_TX);
  const lport = (r.out![10 + 54]! << 8) | r.out![10 + 55]!;
  assert.equal(hex(r.out!), hex(frame({ dstMac: M6, srcMac: MAC.eth1, ttl: 63, vnet: true, src: LIP6, dst: R6, l4: { ...tcp(lport, 8080, 'S', 3), partial: true } })));
  assert.deepEqual(verifyFrame(r.out!, true), []);
  const back = run.run(frame({ dstMac: MAC.eth1, srcMac: M6, vnet: true, src: R6, dst: LIP6, l4: { ...tcp(8080, lport, 'SA', 9, 4), partial: true } }), 1, 1, true);
  assert.equal(hex(back.out!), hex(frame({ dstMac: MAC.router, srcMac: MAC.eth0, ttl: 63, vnet: true, src: VIP6, dst: CLIENT6, l4: { ...tcp(80, 42000, 'SA', 9, 4), partial: true } })));
  assert.equal(pl.listConns().find((x) => x.source.includes(CLIENT6))!.local, `[${LIP6}]:${lport}`);
});

test('FNAT: trace explains the local address a new connection would get, and shows an existing connection\'s', () => {
  const pl = fnatPipeline({ workers: 2, workerIndex: 1 });
  const run = new Runner(pl);
  const t1 = pl.trace('tcp', CLIENT, 43000, VIP, 80);
  assert.equal(t1.method, 'FNAT');
  assert.equal(t1.local?.address, LIPS[0]);
  assert.match(t1.local!.why, /round-robin over the service's 2 local addresses .*laddr_group_name laddr_g1.*≡ 1 mod 2/);
  const r = run.run(fromClient({ src: CLIENT, dst: VIP, l4: tcp(43000, 80, 'S') }), 0);
  const { addr, port } = src4(r.out!);
  const t2 = pl.trace('tcp', CLIENT, 43000, VIP, 80);
  assert.deepEqual({ address: t2.local!.address, port: t2.local!.port }, { address: addr, port });
  assert.equal(pl.trace('tcp', CLIENT, 43001, VIP, 80).local?.address, LIPS[1], 'the next one in turn');
});

test('FNAT: a reply to a local address without a connection gets a RST (the core owns the address: nothing listens there)', () => {
  const pl = fnatPipeline();
  const run = new Runner(pl);
  const r = run.run(fromReal(M51, { src: R51, dst: LIPS[0]!, l4: tcp(8080, 5555, 'A', 1, 1) }), 1);
  assert.equal(r.action, A_TX);
  assert.equal(r.outIf, 1);
  assert.equal(r.out![47]! & 0x04, 0x04);
});

test('the FNAT path does not allocate: both directions, IPv4 and IPv6, new connections with port allocation', async () => {
  const pl = fnatPipeline();
  const run = new Runner(pl);
  const syn = run.run(fromClient({ src: CLIENT, dst: VIP, l4: tcp(44000, 80, 'S') }), 0);
  const { addr: lip, port: lport } = src4(syn.out!);
  const rs = syn.out![33] === 52 ? [R52, M52] as const : [R51, M51] as const;
  const syn6 = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT6, dst: VIP6, l4: tcp(44001, 80, 'S') }), 0);
  const lport6 = (syn6.out![54]! << 8) | syn6.out![55]!;
  const frames = [
    fromClient({ src: CLIENT, dst: VIP, l4: tcp(44000, 80, 'PA', 2, 1, [1, 2, 3]) }),
    fromReal(rs[1], { src: rs[0], dst: lip, l4: tcp(8080, lport, 'PA', 1, 5, [4, 5]) }),
    frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT6, dst: VIP6, l4: tcp(44001, 80, 'PA', 2, 1, [6]) }),
    frame({ dstMac: MAC.eth1, srcMac: M6, src: R6, dst: LIP6, l4: tcp(8080, lport6, 'PA', 1, 3, [7]) }),
  ].map((f) => Uint8Array.from(f));
  const buf = run.buf;
  let sport = 1024;
  const synFrame = Uint8Array.from(fromClient({ src: '198.18.100.9', dst: VIP, l4: tcp(1024, 80, 'S') }));
  let now = 2;
  const once = (n: number) => {
    for (let i = 0; i < n; i++) {
      pl.resetScratch();
      now++;
      if (now % 1000 === 0) pl.advance(now);
      if (i % 5 === 4) {
        // A new connection: a local port is allocated (and the record given back by expiry).
        sport = sport >= 65000 ? 1024 : sport + 1;
        buf.set(synFrame, run.at);
        buf[run.at + 34] = sport >> 8; buf[run.at + 35] = sport & 255;
        buf[run.at + 50] = 0; buf[run.at + 51] = 0; // the checksum is not verified on this path
        pl.process(buf, run.at, synFrame.length, false, 0, now);
        continue;
      }
      const f = frames[i % frames.length]!;
      buf.set(f, run.at);
      pl.process(buf, run.at, f.length, false, i % 2 === 1 ? 1 : 0, now);
    }
  };
  assert.deepEqual(frames.map((f, i) => { buf.set(f, run.at); return pl.process(buf, run.at, f.length, false, i % 2, 2); }), [A_TX, A_TX, A_TX, A_TX]);
  let gcs = 0;
  const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  try {
    once(20_000);
    let clean = false;
    let last = '';
    for (let attempt = 0; attempt < 3 && !clean; attempt++) {
      await new Promise((r) => setTimeout(r, 5));
      gcs = 0;
      const before = process.memoryUsage().heapUsed;
      once(40_000);
      const grew = process.memoryUsage().heapUsed - before;
      await new Promise((r) => setTimeout(r, 5));
      clean = gcs === 0 && grew < 64 * 1024;
      last = `${gcs} GC(s), heap +${grew} bytes`;
    }
    assert.ok(clean, `${last} over 40,000 frames`);
  } finally {
    obs.disconnect();
  }
});
