/**
 * TUN (IPVS ip_vs_tunnel_xmit): packet-in / packet-out through the pipeline, every expected
 * frame built from scratch by the naive builder (lib/frames.ts encapFrame/ipPacket), and every
 * output frame's checksums verified by a naive full recomputation through the tunnel (a
 * virtio NEEDS_CSUM completed first as the kernel would).
 *
 *   client 198.18.100.7 ── router ── eth0 (198.18.0.1/24, 2001:db8::1/64) director
 *   eth1 02:00:00:00:01:01 (198.18.1.2/24, 2001:db8:1::2/64, fe80::2/64; MTU 1500)
 *     .41 .42 ipip · .43 GRE csum · .44 GUE 6080 csum · .45 GUE 6080 remcsum · .46 GRE · 2001:db8:1::41 ip6ip6
 *     2001:db8:1::42 (an IPv4 service's real server: IPv4 in IPv6) · 198.18.9.41 behind router 198.18.1.254
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { A_DROP, A_IGNORE, A_TX, A_TX_MULTI } from '../../../src/forward/pipeline.js';
import { encapFrame, frame, hex, ipPacket, verifyFrameDeep, type FrameSpec, type TunnelSpec } from './lib/frames.js';
import { CLIENT, CLIENT6, Runner, TUN_DIP, TUN_DIP6, TUN_GUE_PORT, TUN_MAC, tunPipeline } from './lib/topo.js';

const MAC = TUN_MAC;
const DIP = TUN_DIP;
const DIP6 = TUN_DIP6;
const GUE_PORT = TUN_GUE_PORT;

type Inner = Omit<FrameSpec, 'dstMac' | 'srcMac'>;
const fromClient = (s: Inner, vnet = false) => frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet, ...s });
const tcp = (sport: number, flags: string, payload: number[] = [], seq = 1000) => ({ proto: 'tcp' as const, sport, dport: 80, flags, seq, ack: flags.includes('A') ? 1 : 0, payload });
const bytes = (n: number, seed = 1) => Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

/** The expected encapsulation of inner packet spec `s` (its TTL one less) to real server `rs`. */
function expectEncap(rs: string, rsMac: string, s: Inner, o: { id: number; tunnel?: TunnelSpec; outerSrc?: string; vnet?: { needs: boolean; csumStart: number; csumOffset: number } }): string {
  const ttl = (s.ttl ?? 64) - 1;
  const inner = ipPacket({ ...s, ttl });
  const v4 = inner[0]! >> 4 === 4;
  const tos = s.tos ?? 0;
  return hex(encapFrame({
    dstMac: rsMac, srcMac: MAC.eth1, outerSrc: o.outerSrc ?? (rs.includes(':') ? DIP6 : DIP), outerDst: rs, ttl,
    tos: (tos & 0xfc) | ((tos & 3) === 3 ? 2 : tos & 3), df: v4 && s.df !== false, id: o.id, tunnel: o.tunnel, inner, vnet: o.vnet,
  }));
}

test('ipip: the client\'s SYN goes in an outer IPv4 header (protocol 4) from the director\'s eth1 address; rr alternates; TTL and DF as ip_vs_tunnel_xmit', () => {
  const pl = tunPipeline();
  const run = new Runner(pl);
  const picks: string[] = [];
  for (let i = 0; i < 4; i++) {
    const s: Inner = { src: CLIENT, dst: '198.18.0.12', ttl: 60, tos: 0x2b, l4: tcp(41000 + i, 'S') };
    const r = run.run(fromClient(s), 0);
    assert.equal(r.action, A_TX);
    assert.equal(r.outIf, 1);
    const dst = `${r.out![30]}.${r.out![31]}.${r.out![32]}.${r.out![33]}`;
    picks.push(dst);
    assert.equal(hex(r.out!), expectEncap(dst, dst.endsWith('41') ? MAC.r41 : MAC.r42, s, { id: 0x100 + i }), `packet ${i}`);
    assert.deepEqual(verifyFrameDeep(r.out!, false), []);
  }
  // rr walks the kernel's list (the last configured first).
  assert.deepEqual(picks, ['198.18.1.42', '198.18.1.41', '198.18.1.42', '198.18.1.41']);
  // An established packet of the first connection follows it; CE becomes ECT(0) outside.
  const s: Inner = { src: CLIENT, dst: '198.18.0.12', tos: 0x03, l4: tcp(41000, 'PA', bytes(100)) };
  const r = run.run(fromClient(s), 0);
  assert.equal(hex(r.out!), expectEncap('198.18.1.42', MAC.r42, s, { id: 0x104 }));
  assert.equal(r.out![15], 0x02, 'outer ECN: CE encapsulated as ECT(0) (INET_ECN_encapsulate)');
  assert.equal(r.out![34 + 1], 0x03, 'inner ECN unchanged');
  assert.equal(pl.counters().forwarded_in, 5);
  assert.equal(pl.counters().forwarded_out, 0);
  // INPUT-ONLY connection (no reply key), listed as Tunnel.
  const rows = pl.listConns();
  assert.equal(rows.length, 4);
  assert.ok(rows.every((x) => x.method === 'Tunnel'));
});

test('ip6ip6 (next header 41, hop limit decremented) and IPv4 in IPv6 for an IPv6 real server (ip_vs_tunnel_xmit_v6)', () => {
  const pl = tunPipeline();
  const run = new Runner(pl);
  const s6: Inner = { src: CLIENT6, dst: '2001:db8::12', ttl: 50, tos: 0xb8, l4: tcp(42000, 'S') };
  const r6 = run.run(fromClient(s6), 0);
  assert.equal(r6.action, A_TX);
  assert.equal(hex(r6.out!), expectEncap('2001:db8:1::41', MAC.r6, s6, { id: 0 }));
  assert.equal(r6.out![14 + 6], 41);
  assert.deepEqual(verifyFrameDeep(r6.out!, false), []);
  // The outer source is the global address of eth1, not its link-local one.
  const s4: Inner = { src: CLIENT, dst: '198.18.0.17', l4: tcp(42001, 'S') };
  const r4 = run.run(fromClient(s4), 0);
  assert.equal(hex(r4.out!), expectEncap('2001:db8:1::42', MAC.r6b, s4, { id: 0 }));
  assert.equal(r4.out![14 + 6], 4, 'IPv4 inside IPv6: next header 4');
  assert.deepEqual(verifyFrameDeep(r4.out!, false), []);
  const row = pl.listConns().find((x) => x.source.startsWith(CLIENT))!;
  assert.equal(row.destination, '[2001:db8:1::42]:80', 'the listing shows the real server in its own family');
});

test('GRE with and without checksum, GUE with checksum and with remote checksum offload (ipvs_gre_encap / ipvs_gue_encap)', () => {
  const pl = tunPipeline();
  const run = new Runner(pl);
  const greC: Inner = { src: CLIENT, dst: '198.18.0.13', l4: tcp(43000, 'S') };
  const r1 = run.run(fromClient(greC), 0);
  assert.equal(hex(r1.out!), expectEncap('198.18.1.43', MAC.r43, greC, { id: 0x100, tunnel: { type: 'gre', csum: true } }));
  assert.deepEqual(verifyFrameDeep(r1.out!, false), []);
  const gre: Inner = { src: CLIENT, dst: '198.18.0.16', l4: tcp(43001, 'S') };
  const r2 = run.run(fromClient(gre), 0);
  assert.equal(hex(r2.out!), expectEncap('198.18.1.46', MAC.r46, gre, { id: 0x101, tunnel: { type: 'gre' } }));
  // GUE: the UDP source port comes from the inner flow (udp_flow_src_port), stable for the flow.
  const gue: Inner = { src: CLIENT, dst: '198.18.0.14', l4: tcp(43002, 'S') };
  const r3 = run.run(fromClient(gue), 0);
  const sport = (r3.out![34]! << 8) | r3.out![35]!;
  assert.ok(sport >= 32768 && sport < 61000, `GUE source port ${sport}`);
  assert.equal(hex(r3.out!), expectEncap('198.18.1.44', MAC.r44, gue, { id: 0x102, tunnel: { type: 'gue', port: GUE_PORT, sport, csum: true } }));
  assert.deepEqual(verifyFrameDeep(r3.out!, false, GUE_PORT), []);
  const again = run.run(fromClient({ ...gue, l4: tcp(43002, 'A') }), 0);
  assert.equal((again.out![34]! << 8) | again.out![35]!, sport);
  const other = run.run(fromClient({ ...gue, l4: tcp(43003, 'S') }), 0);
  assert.notEqual((other.out![34]! << 8) | other.out![35]!, sport, 'another flow, another port (almost surely)');
  // remcsum with a full inner checksum (no virtio header): no option, UDP checksum complete.
  const rem: Inner = { src: CLIENT, dst: '198.18.0.15', l4: tcp(43004, 'S') };
  const r4 = run.run(fromClient(rem), 0);
  const sport4 = (r4.out![34]! << 8) | r4.out![35]!;
  assert.equal(hex(r4.out!), expectEncap('198.18.1.45', MAC.r45, rem, { id: 0x105, tunnel: { type: 'gue', port: GUE_PORT, sport: sport4, csum: true } }));
});

test('with a virtio header: a partial inner checksum stays partial (NEEDS_CSUM moved by the outer headers); GRE/GUE checksums are left partial at the outer header, remcsum carries the inner one in the GUE option', () => {
  const pl = tunPipeline({ vnet: true });
  const run = new Runner(pl);
  const pay = bytes(333);
  // ipip: csum_start moves from 34 to 54.
  const s1: Inner = { src: CLIENT, dst: '198.18.0.12', l4: { ...tcp(44000, 'S', pay), partial: true } };
  const r1 = run.run(fromClient(s1, true), 0, 1, true);
  const rs1 = r1.out![10 + 33] === 42 ? ['198.18.1.42', MAC.r42] as const : ['198.18.1.41', MAC.r41] as const;
  assert.equal(hex(r1.out!), expectEncap(rs1[0], rs1[1], s1, { id: 0x100, vnet: { needs: true, csumStart: 54, csumOffset: 16 } }));
  assert.deepEqual(verifyFrameDeep(r1.out!, true), []);
  // GRE with checksum: the inner checksum completed here, the GRE one partial at the GRE header.
  const s2: Inner = { src: CLIENT, dst: '198.18.0.13', l4: { ...tcp(44001, 'S', pay), partial: true } };
  const r2 = run.run(fromClient(s2, true), 0, 1, true);
  assert.equal(hex(r2.out!), expectEncap('198.18.1.43', MAC.r43, { ...s2, l4: { ...s2.l4, partial: false } }, {
    id: 0x101, tunnel: { type: 'gre', csum: true, outerPartial: true }, vnet: { needs: true, csumStart: 34, csumOffset: 4 },
  }));
  assert.deepEqual(verifyFrameDeep(r2.out!, true), []);
  // GUE remcsum: the option says where the inner checksum is (start 20, field 36); UDP partial.
  const s3: Inner = { src: CLIENT, dst: '198.18.0.15', l4: { ...tcp(44002, 'S', pay), partial: true } };
  const r3 = run.run(fromClient(s3, true), 0, 1, true);
  const sport = (r3.out![10 + 34]! << 8) | r3.out![10 + 35]!;
  assert.equal(hex(r3.out!), expectEncap('198.18.1.45', MAC.r45, s3, {
    id: 0x102, tunnel: { type: 'gue', port: GUE_PORT, sport, csum: true, outerPartial: true, remcsum: { start: 20, offset: 16 } },
    vnet: { needs: true, csumStart: 34, csumOffset: 6 },
  }));
  assert.deepEqual(verifyFrameDeep(r3.out!, true, GUE_PORT), []);
});

test('TTL 1: ICMP time exceeded to the client, nothing tunnelled (decrement_ttl)', () => {
  const pl = tunPipeline();
  const run = new Runner(pl);
  const s: Inner = { src: CLIENT, dst: '198.18.0.12', ttl: 1, l4: tcp(45000, 'S') };
  const r = run.run(fromClient(s), 0);
  assert.equal(r.action, A_TX);
  assert.equal(r.outIf, 0);
  const quoted = ipPacket(s);
  assert.equal(hex(r.out!), hex(frame({ dstMac: MAC.router, srcMac: MAC.eth0, src: '198.18.0.12', dst: CLIENT, id: 0, l4: { proto: 'icmp', type: 11, code: 0, rest: [0, 0, 0, 0], payload: quoted } })));
  assert.equal(pl.counters().ttl_exceeded_sent, 1);
});

test('MTU: a DF packet too big for the tunnel gets ICMP fragmentation needed with the tunnel MTU (1480 ipip, 1476 GRE, 1468 GUE); IPv6 gets packet too big; rate-limited', () => {
  const pl = tunPipeline();
  const run = new Runner(pl);
  for (const [vip, mtu] of [['198.18.0.12', 1480], ['198.18.0.16', 1476], ['198.18.0.14', 1468]] as const) {
    const ok = run.run(fromClient({ src: CLIENT, dst: vip, l4: tcp(46000, 'S') }), 0);
    assert.equal(ok.action, A_TX);
    const s: Inner = { src: CLIENT, dst: vip, l4: tcp(46000, 'A', bytes(mtu + 1 - 40)) };
    const r = run.run(fromClient(s), 0);
    assert.equal(r.action, A_TX, vip);
    assert.equal(r.outIf, 0, 'back to the client');
    const quoted = ipPacket({ ...s, ttl: 63 }).slice(0, 548);
    assert.equal(hex(r.out!), hex(frame({ dstMac: MAC.router, srcMac: MAC.eth0, src: vip, dst: CLIENT, id: 0,
      l4: { proto: 'icmp', type: 3, code: 4, rest: [0, 0, mtu >> 8, mtu & 255], payload: quoted } })), vip);
    // Exactly the tunnel MTU fits.
    const fit = run.run(fromClient({ src: CLIENT, dst: vip, l4: tcp(46000, 'A', bytes(mtu - 40)) }), 0);
    assert.equal(fit.action, A_TX);
    assert.equal(fit.outIf, 1);
    assert.equal(fit.out!.length, 14 + 1500);
  }
  const s6: Inner = { src: CLIENT6, dst: '2001:db8::12', l4: tcp(46001, 'A', bytes(1460 - 60 + 1)) };
  run.run(fromClient({ src: CLIENT6, dst: '2001:db8::12', l4: tcp(46001, 'S') }), 0);
  const r6 = run.run(fromClient(s6), 0);
  const q6 = ipPacket({ ...s6, ttl: 63 });
  assert.equal(hex(r6.out!), hex(frame({ dstMac: MAC.router, srcMac: MAC.eth0, src: '2001:db8::12', dst: CLIENT6,
    l4: { proto: 'icmpv6', type: 2, code: 0, rest: [0, 0, 1460 >> 8, 1460 & 255], payload: q6.slice(0, 1232) } })));
  assert.equal(pl.counters().frag_needed_sent, 4);
  // icmp_msgs_per_sec: a burst of 50, then 1 per ms.
  for (let i = 0; i < 60; i++) run.run(fromClient({ src: CLIENT, dst: '198.18.0.12', l4: tcp(46000, 'A', bytes(1500 - 40)) }), 0, 5);
  assert.equal(pl.counters().frag_needed_sent, 4 + 50);
  assert.equal(pl.counters().icmp_rate_limited, 10);
});

test('MTU: without DF the outer packet is fragmented (ip_fragment with ignore_df): the fragments reassemble to the encapsulated packet', () => {
  const pl = tunPipeline();
  const run = new Runner(pl);
  const syn = run.run(fromClient({ src: CLIENT, dst: '198.18.0.13', l4: tcp(47000, 'S') }), 0);
  assert.equal(syn.action, A_TX);
  const s: Inner = { src: CLIENT, dst: '198.18.0.13', df: false, l4: tcp(47000, 'A', bytes(2800)) };
  const r = run.run(fromClient(s), 0);
  assert.equal(r.action, A_TX_MULTI);
  assert.equal(r.outs.length, 2, '2848 bytes in 1480 + 1368');
  const whole = encapFrame({ dstMac: MAC.r43, srcMac: MAC.eth1, outerSrc: DIP, outerDst: '198.18.1.43', ttl: 63, df: false, id: 0x101,
    tunnel: { type: 'gre', csum: true }, inner: ipPacket({ ...s, ttl: 63 }) });
  const payload = whole.slice(34);
  let off = 0;
  r.outs.forEach((f, k) => {
    assert.ok(f.length <= 14 + 1500, `fragment ${k}: ${f.length}`);
    const len = f.length - 34;
    assert.equal(hex(f.slice(0, 14)), hex(whole.slice(0, 14)), `fragment ${k} Ethernet header`);
    assert.equal((f[20]! << 8 | f[21]!) & 0x1fff, off / 8, `fragment ${k} offset`);
    assert.equal((f[20]! & 0x20) !== 0, k < 1, `fragment ${k} MF`);
    assert.equal((f[18]! << 8) | f[19]!, 0x101, 'one identification');
    assert.equal(f[23], 47);
    assert.deepEqual(verifyFrameDeep(f, false), [], `fragment ${k}`);
    assert.deepEqual([...f.slice(34)], payload.slice(off, off + len), `fragment ${k} payload`);
    off += len;
  });
  assert.equal(off, payload.length);
  assert.equal(pl.counters().tun_fragmented, 1);
  assert.equal(pl.counters().tun_fragments, 2);
});

test('GSO: a TCP super-frame is cut by gso_size (tcp_gso_segment: seq, PSH/FIN on the last, CWR on the first, IPv4 id +1) and each segment tunnelled with a partial inner checksum', () => {
  const pl = tunPipeline({ vnet: true });
  const run = new Runner(pl);
  run.run(fromClient({ src: CLIENT, dst: '198.18.0.12', l4: tcp(48000, 'S') }, true), 0, 1, true);
  const rs = run.run(fromClient({ src: CLIENT, dst: '198.18.0.12', l4: tcp(48000, 'A') }, true), 0, 1, true).out![10 + 33] === 42
    ? ['198.18.1.42', MAC.r42] as const : ['198.18.1.41', MAC.r41] as const;
  const pay = bytes(4000, 3);
  const seq = 0xfffff000; // wraps within the frame
  for (const partialIn of [true, false]) {
    const s: Inner = { src: CLIENT, dst: '198.18.0.12', id: 0xfffe, l4: { ...tcp(48000, 'FPAC', pay, seq), flags: 'PAF', partial: partialIn } };
    const f = frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, gsoSize: 1400, ...s });
    f[10 + 14 + 20 + 13]! |= 0x80; // CWR
    const id0 = pl.tunId;
    const r = run.run(f, 0, 1, true);
    assert.equal(r.action, A_TX_MULTI);
    assert.equal(r.outs.length, 3);
    r.outs.forEach((o, i) => {
      const chunk = pay.slice(i * 1400, (i + 1) * 1400);
      const flags = i === 2 ? 'PAF' : 'A';
      const seg = ipPacket({ src: CLIENT, dst: '198.18.0.12', ttl: 63, id: (0xfffe + i) & 0xffff,
        l4: { proto: 'tcp', sport: 48000, dport: 80, seq: (seq + i * 1400) >>> 0, ack: 1, flags, payload: chunk, partial: true } });
      if (i === 0) seg[20 + 13] |= 0x80;
      const want = encapFrame({ dstMac: rs[1], srcMac: MAC.eth1, outerSrc: DIP, outerDst: rs[0], ttl: 63, df: true, id: (id0 + i) & 0xffff, inner: seg,
        vnet: { needs: true, csumStart: 54, csumOffset: 16 } });
      assert.equal(hex(o), hex(want), `segment ${i} (partial in: ${partialIn})`);
      assert.deepEqual(verifyFrameDeep(o, true), [], `segment ${i}`);
      assert.ok(o.length - 10 <= 14 + 1500);
    });
  }
  assert.equal(pl.counters().gso_segmented, 2);
  assert.equal(pl.counters().gso_segments, 6);
});

test('GSO: IPv6 super-frames through ip6ip6, UDP GSO (USO), GRE with checksum (inner completed here, GRE partial); too big segments get fragmentation needed', () => {
  const pl = tunPipeline({ vnet: true });
  const run = new Runner(pl);
  // IPv6 TCP.
  run.run(fromClient({ src: CLIENT6, dst: '2001:db8::12', l4: tcp(49000, 'S') }, true), 0, 1, true);
  const pay = bytes(3000, 5);
  const r6 = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, gsoSize: 1400, src: CLIENT6, dst: '2001:db8::12', l4: { ...tcp(49000, 'PA', pay), partial: true } }), 0, 1, true);
  assert.equal(r6.action, A_TX_MULTI);
  assert.equal(r6.outs.length, 3);
  r6.outs.forEach((o, i) => {
    const seg = ipPacket({ src: CLIENT6, dst: '2001:db8::12', ttl: 63,
      l4: { proto: 'tcp', sport: 49000, dport: 80, seq: 1000 + i * 1400, ack: 1, flags: i === 2 ? 'PA' : 'A', payload: pay.slice(i * 1400, (i + 1) * 1400), partial: true } });
    assert.equal(hex(o), hex(encapFrame({ dstMac: MAC.r6, srcMac: MAC.eth1, outerSrc: DIP6, outerDst: '2001:db8:1::41', ttl: 63, inner: seg,
      vnet: { needs: true, csumStart: 14 + 40 + 40, csumOffset: 16 } })), `v6 segment ${i}`);
    assert.deepEqual(verifyFrameDeep(o, true), []);
  });
  // UDP GSO (virtio GSO_UDP_L4): each segment a datagram of its own.
  const upay = bytes(2500, 9);
  const ru = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, gsoSize: 1000, gsoType: 5, src: CLIENT, dst: '198.18.0.19',
    l4: { proto: 'udp', sport: 5353, dport: 53, payload: upay, partial: true } }), 0, 1, true);
  assert.equal(ru.action, A_TX_MULTI);
  assert.equal(ru.outs.length, 3);
  ru.outs.forEach((o, i) => {
    assert.deepEqual(verifyFrameDeep(o, true), [], `udp segment ${i}`);
    assert.equal((o[10 + 34 + 24]! << 8) | o[10 + 34 + 25]!, 8 + Math.min(1000, 2500 - i * 1000), 'UDP length');
  });
  // GRE with checksum: complete inner checksums, the GRE one partial.
  run.run(fromClient({ src: CLIENT, dst: '198.18.0.13', l4: tcp(49001, 'S') }, true), 0, 1, true);
  const rg = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, gsoSize: 1400, src: CLIENT, dst: '198.18.0.13', l4: { ...tcp(49001, 'A', pay), partial: true } }), 0, 1, true);
  assert.equal(rg.outs.length, 3);
  for (const o of rg.outs) {
    assert.equal(o[0], 1);
    assert.equal(o[6]! | (o[7]! << 8), 34, 'csum_start at the GRE header');
    assert.deepEqual(verifyFrameDeep(o, true), []);
  }
  // Segments bigger than the tunnel MTU: 1460 + 40 > 1480.
  const big = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, gsoSize: 1460, src: CLIENT, dst: '198.18.0.12', l4: { ...tcp(49002, 'A', pay), partial: true } }), 0, 1, true);
  assert.equal(big.action, A_TX);
  assert.equal(big.out![10 + 14 + 20 + 13]! & 0x04, 0x04, 'no connection yet: a non-SYN gets a RST, not a frag-needed');
  run.run(fromClient({ src: CLIENT, dst: '198.18.0.12', l4: tcp(49002, 'S') }, true), 0, 1, true);
  const big2 = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, gsoSize: 1460, src: CLIENT, dst: '198.18.0.12', l4: { ...tcp(49002, 'A', pay), partial: true } }), 0, 1, true);
  assert.equal(big2.action, A_TX);
  assert.equal(big2.outIf, 0);
  assert.equal(big2.out![10 + 34], 3);
  assert.equal(big2.out![10 + 35], 4);
  assert.equal((big2.out![10 + 40]! << 8) | big2.out![10 + 41]!, 1480);
  // An unsupported GSO kind (UFO) is dropped and counted.
  const ufo = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, gsoSize: 1000, gsoType: 3, src: CLIENT, dst: '198.18.0.19',
    l4: { proto: 'udp', sport: 5353, dport: 53, payload: upay, partial: true } }), 0, 1, true);
  assert.equal(ufo.action, A_DROP);
  assert.equal(pl.counters().gso_unsupported, 1);
});

test('routed TUN: a real server behind a gateway is reached through the gateway\'s MAC (TUN works routed, unlike DR)', () => {
  const pl = tunPipeline();
  const run = new Runner(pl);
  const s: Inner = { src: CLIENT, dst: '198.18.0.18', l4: tcp(50000, 'S') };
  const r = run.run(fromClient(s), 0);
  assert.equal(r.action, A_TX);
  assert.equal(hex(r.out!), expectEncap('198.18.9.41', MAC.gw, s, { id: 0x100 }));
  assert.deepEqual(pl.nextHops().find((h) => h.address === '198.18.9.41'), { address: '198.18.9.41', ifname: 'eth1', known: true, via: '198.18.1.254' });
});

test('without headroom the frame is built in the segment area (same bytes); an ICMP error from the client side is tunnelled to the real server', () => {
  const pl = tunPipeline({ headroom: 0 });
  const run = new Runner(pl);
  const s: Inner = { src: CLIENT, dst: '198.18.0.12', l4: tcp(51000, 'S') };
  const r = run.run(fromClient(s), 0);
  assert.equal(r.action, A_TX_MULTI);
  assert.equal(r.outs.length, 1);
  const rs = r.out![33] === 42 ? ['198.18.1.42', MAC.r42] as const : ['198.18.1.41', MAC.r41] as const;
  assert.equal(hex(r.out!), expectEncap(rs[0], rs[1], s, { id: 0x100 }));
  // ip_vs_in_icmp → ip_vs_icmp_xmit: an error about the connection, quoting VIP → client, goes through the tunnel.
  const quoted = ipPacket({ src: '198.18.0.12', dst: CLIENT, l4: { proto: 'tcp', sport: 80, dport: 51000, flags: 'SA', seq: 5, ack: 1001 } }).slice(0, 28);
  const icmp: Inner = { src: '198.18.100.1', dst: '198.18.0.12', l4: { proto: 'icmp', type: 3, code: 1, rest: [0, 0, 0, 0], payload: quoted } };
  const ri = run.run(fromClient(icmp), 0);
  assert.equal(ri.action, A_TX_MULTI);
  assert.equal(hex(ri.out!), expectEncap(rs[0], rs[1], icmp, { id: 0x101 }));
  assert.equal(pl.counters().icmp_relayed, 1);
});

test('the TUN path does not allocate: in place, segmented and fragmented frames over 60,000 frames', async () => {
  const pl = tunPipeline({ vnet: true });
  const run = new Runner(pl);
  run.run(fromClient({ src: CLIENT, dst: '198.18.0.12', l4: tcp(52000, 'S') }, true), 0, 1, true);
  run.run(fromClient({ src: CLIENT6, dst: '2001:db8::12', l4: tcp(52001, 'S') }, true), 0, 1, true);
  run.run(fromClient({ src: CLIENT, dst: '198.18.0.15', l4: tcp(52002, 'S') }, true), 0, 1, true);
  const frames = [
    fromClient({ src: CLIENT, dst: '198.18.0.12', l4: { ...tcp(52000, 'PA', bytes(200)), partial: true } }, true),
    fromClient({ src: CLIENT6, dst: '2001:db8::12', l4: { ...tcp(52001, 'PA', bytes(300)), partial: true } }, true),
    fromClient({ src: CLIENT, dst: '198.18.0.15', l4: { ...tcp(52002, 'PA', bytes(100)), partial: true } }, true),
    frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, gsoSize: 1400, src: CLIENT, dst: '198.18.0.12', l4: { ...tcp(52000, 'A', bytes(6000)), partial: true } }),
    fromClient({ src: CLIENT, dst: '198.18.0.12', df: false, l4: tcp(52000, 'A', bytes(2000)) }, true),
  ].map((f) => Uint8Array.from(f));
  const buf = run.buf;
  const once = (n: number) => {
    for (let i = 0; i < n; i++) {
      const f = frames[i % frames.length]!;
      pl.resetScratch();
      buf.set(f, run.at);
      pl.process(buf, run.at, f.length, true, 0, 2);
    }
  };
  const acts = frames.map((f) => { buf.set(f, run.at); return pl.process(buf, run.at, f.length, true, 0, 2); });
  assert.deepEqual(acts, [A_TX, A_TX, A_TX, A_TX_MULTI, A_TX_MULTI]);
  let gcs = 0;
  const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  try {
    once(30_000);
    let clean = false;
    let last = '';
    for (let attempt = 0; attempt < 3 && !clean; attempt++) {
      await new Promise((r) => setTimeout(r, 5));
      gcs = 0;
      const before = process.memoryUsage().heapUsed;
      once(60_000);
      const grew = process.memoryUsage().heapUsed - before;
      await new Promise((r) => setTimeout(r, 5));
      clean = gcs === 0 && grew < 64 * 1024;
      last = `${gcs} GC(s), heap +${grew} bytes`;
    }
    assert.ok(clean, `${last} over 60,000 frames`);
  } finally {
    obs.disconnect();
  }
});

test('IPv4 without DF in an IPv6 tunnel: IPv6 outer fragments (RFC 8200 §4.5 fragment header) that reassemble to the encapsulated packet', () => {
  const pl = tunPipeline();
  const run = new Runner(pl);
  run.run(fromClient({ src: CLIENT, dst: '198.18.0.17', l4: tcp(53000, 'S') }), 0);
  const s: Inner = { src: CLIENT, dst: '198.18.0.17', df: false, l4: tcp(53000, 'A', bytes(1700)) };
  const r = run.run(fromClient(s), 0);
  assert.equal(r.action, A_TX_MULTI);
  const inner = ipPacket({ ...s, ttl: 63 });
  let got: number[] = [];
  let ident = -1;
  r.outs.forEach((f, k) => {
    assert.ok(f.length <= 14 + 1500);
    assert.equal(f[14 + 6], 44, 'next header: Fragment');
    assert.equal(f[54], 4, 'fragment header: next header 4 (IPv4 inside)');
    const fo = (f[56]! << 8) | f[57]!;
    assert.equal(fo & ~7, got.length, `fragment ${k} offset`);
    assert.equal(fo & 1, k < r.outs.length - 1 ? 1 : 0, `fragment ${k} M`);
    const id = ((f[58]! << 24) | (f[59]! << 16) | (f[60]! << 8) | f[61]!) >>> 0;
    if (ident < 0) ident = id;
    assert.equal(id, ident, 'one identification');
    assert.equal((f[18]! << 8) | f[19]!, f.length - 54, 'payload length');
    got = [...got, ...f.slice(62)];
  });
  assert.deepEqual(got, inner, 'reassembled: the inner packet, checksums complete');
  assert.deepEqual(verifyFrameDeep(Uint8Array.from([...r.outs[0]!.slice(0, 14), 0x60, 0, 0, 0, (inner.length >> 8), inner.length & 255, 4, 63,
    ...r.outs[0]!.slice(22, 54), ...inner]), false), []);
});

test('the oracle catches what it must: a changed payload byte, a wrong partial sum, a wrong outer header', () => {
  const pl = tunPipeline({ vnet: true });
  const run = new Runner(pl);
  const r = run.run(fromClient({ src: CLIENT, dst: '198.18.0.13', l4: { ...tcp(54000, 'S', bytes(50)), partial: true } }, true), 0, 1, true);
  assert.deepEqual(verifyFrameDeep(r.out!, true), []);
  const bad = r.out!.slice();
  bad[bad.length - 1]! ^= 1;
  assert.notDeepEqual(verifyFrameDeep(bad, true), []);
  const r2 = run.run(fromClient({ src: CLIENT, dst: '198.18.0.12', l4: { ...tcp(54001, 'S', bytes(50)), partial: true } }, true), 0, 1, true);
  const bad2 = r2.out!.slice();
  bad2[10 + 54 + 17]! ^= 4; // the partial inner TCP sum
  assert.notDeepEqual(verifyFrameDeep(bad2, true), []);
  const bad3 = r2.out!.slice();
  bad3[10 + 14 + 8]! -= 1; // outer TTL without its checksum
  assert.notDeepEqual(verifyFrameDeep(bad3, true), []);
});

test('an ICMP error about an outer packet (ip_vs_in_icmp\'s tunnel case): fragmentation needed goes to the client with the tunnel headers off the MTU; other errors as they are; not without DF', () => {
  const pl = tunPipeline();
  const run = new Runner(pl);
  const syn: Inner = { src: CLIENT, dst: '198.18.0.12', l4: tcp(55000, 'S') };
  const r = run.run(fromClient(syn), 0);
  const rs = `${r.out![30]}.${r.out![31]}.${r.out![32]}.${r.out![33]}`;
  const data: Inner = { src: CLIENT, dst: '198.18.0.12', l4: tcp(55000, 'A', bytes(1400)) };
  const out = run.run(fromClient(data), 0).out!;
  const outerPacket = [...out.slice(14)];
  // A router between the director and the real server: its next link has MTU 1400.
  const routerErr = (type: number, code: number, mtu: number, quoted: number[]) => frame({ dstMac: MAC.eth1, srcMac: MAC.gw, src: '198.18.1.254', dst: DIP,
    l4: { proto: 'icmp', type, code, rest: [0, 0, mtu >> 8, mtu & 255], payload: quoted.slice(0, 576 - 28) } });
  const e = run.run(routerErr(3, 4, 1400, outerPacket), 1);
  assert.equal(e.action, A_TX);
  assert.equal(e.outIf, 0, 'to the client');
  // The client gets what the router quoted of its packet (548 bytes of the outer one, less the outer header).
  const inner = outerPacket.slice(0, 548).slice(20);
  assert.equal(hex(e.out!), hex(frame({ dstMac: MAC.router, srcMac: MAC.eth0, src: '198.18.0.12', dst: CLIENT, id: 0,
    l4: { proto: 'icmp', type: 3, code: 4, rest: [0, 0, 1380 >> 8, 1380 & 255], payload: inner } })));
  assert.equal(pl.counters().tun_icmp_relayed, 1);
  // Time exceeded on the way: relayed as it is.
  const tx = run.run(routerErr(11, 0, 0, outerPacket), 1);
  assert.equal(tx.out![34], 11);
  assert.equal(tx.outIf, 0);
  // GRE: the GRE header comes off the MTU too (20 + 8 with its checksum).
  run.run(fromClient({ src: CLIENT, dst: '198.18.0.13', l4: tcp(55001, 'S') }), 0);
  const gre = run.run(fromClient({ src: CLIENT, dst: '198.18.0.13', l4: tcp(55001, 'A', bytes(1300)) }), 0).out!;
  const g = run.run(routerErr(3, 4, 1400, [...gre.slice(14)]), 1);
  assert.equal((g.out![34 + 6]! << 8) | g.out![34 + 7]!, 1400 - 28);
  // The client's packet without DF: nothing to tell it (the kernel's "Client uses PMTUD?").
  run.run(fromClient({ src: CLIENT, dst: '198.18.0.12', l4: tcp(55002, 'S') }), 0);
  const nodf = run.run(fromClient({ src: CLIENT, dst: '198.18.0.12', df: false, l4: tcp(55002, 'A', bytes(100)) }), 0).out!;
  assert.equal(run.run(routerErr(3, 4, 1400, [...nodf.slice(14)]), 1).action, A_IGNORE);
  // An error about a packet to an address that is no TUN real server: the usual relay (none here).
  const other = [...outerPacket];
  other[19] = 99;
  assert.equal(run.run(routerErr(3, 4, 1400, other), 1).action, A_IGNORE);
  assert.equal(pl.counters().tun_icmp_relayed, 3);
  void rs;
});
