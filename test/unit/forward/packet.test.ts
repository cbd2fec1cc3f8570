import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PacketView, parseFrame, PARSE_REASONS, P_OK_IP, P_OK_ARP, P_TRUNC_L2, P_TRUNC_L3, P_BAD_IHL, P_BAD_TOTAL_LEN,
  P_FRAGMENT, P_TRUNC_L4, P_BAD_TCP_DOFF, P_UNKNOWN_PROTO, P_BAD_VERSION, P_IPV6_EXT_UNSAFE, P_OTHER_ETHERTYPE, TCP_SYN,
} from '../../../src/forward/packet.js';
import { arpFrame, frame } from './lib/frames.js';

const M = { dstMac: '02:00:00:00:00:01', srcMac: '02:00:00:00:00:02' };

function parse(bytes: number[] | Uint8Array, vnet = false): { code: number; p: PacketView } {
  const buf = new Uint8Array(4096);
  buf.set(bytes, 100);
  const p = new PacketView();
  p.attach(buf);
  const code = vnet ? parseFrame(p, 110, bytes.length - 10, 100) : parseFrame(p, 100, bytes.length, -1);
  return { code, p };
}

test('IPv4 TCP: tuple, flags, offsets', () => {
  const f = frame({ ...M, src: '198.18.0.1', dst: '198.18.1.10', l4: { proto: 'tcp', sport: 40000, dport: 80, flags: 'S' } });
  const { code, p } = parse(f);
  assert.equal(PARSE_REASONS[code], 'ok_ip');
  assert.equal(p.t.fam, 4);
  assert.equal(p.t.s0, 0xc6120001);
  assert.equal(p.t.d0, 0xc612010a);
  assert.equal(p.t.sport, 40000);
  assert.equal(p.t.dport, 80);
  assert.equal(p.tcpFlags, TCP_SYN);
  assert.equal(p.l4, 100 + 14 + 20);
  assert.equal(p.ipLen, 40);
});

test('802.1Q tag is skipped and remembered', () => {
  const f = frame({ ...M, vlan: 42, src: '198.18.0.1', dst: '198.18.1.10', l4: { proto: 'udp', sport: 5, dport: 53 } });
  const { code, p } = parse(f);
  assert.equal(code, P_OK_IP);
  assert.equal(p.vlanTci, 42);
  assert.equal(p.t.dport, 53);
});

test('IPv6 with a hop-by-hop header, and unsafe routing header', () => {
  const f = frame({ ...M, src: '2001:db8::1', dst: '2001:db8::10', l4: { proto: 'udp', sport: 7, dport: 53, payload: [1, 2] } });
  // Insert an 8-byte hop-by-hop header after the fixed header.
  const l3 = 14;
  const hbh = [17, 0, 1, 4, 0, 0, 0, 0];
  const g = [...f.slice(0, l3 + 40), ...hbh, ...f.slice(l3 + 40)];
  g[l3 + 6] = 0;
  const plen = ((g[l3 + 4]! << 8) | g[l3 + 5]!) + 8;
  g[l3 + 4] = plen >> 8; g[l3 + 5] = plen & 255;
  const { code, p } = parse(g);
  assert.equal(code, P_OK_IP);
  assert.equal(p.t.proto, 17);
  assert.equal(p.t.dport, 53);
  assert.equal(p.t.d3, 0x10);
  const rt = [...g];
  rt[l3 + 6] = 43;
  rt[l3 + 40] = 17; rt[l3 + 41] = 0; rt[l3 + 42] = 0; rt[l3 + 43] = 1; // segments left 1
  assert.equal(parse(rt).code, P_IPV6_EXT_UNSAFE);
});

test('bad frames are classified by reason', () => {
  const good = frame({ ...M, src: '198.18.0.1', dst: '198.18.1.10', l4: { proto: 'tcp', sport: 1, dport: 80, flags: 'S' } });
  assert.equal(parse(good.slice(0, 10)).code, P_TRUNC_L2);
  assert.equal(parse(good.slice(0, 30)).code, P_TRUNC_L3);
  const ihl = [...good]; ihl[14] = 0x44;
  assert.equal(parse(ihl).code, P_BAD_IHL);
  const ver = [...good]; ver[14] = 0x55;
  assert.equal(parse(ver).code, P_BAD_VERSION);
  const tot = [...good]; tot[17] = 200;
  assert.equal(parse(tot).code, P_BAD_TOTAL_LEN);
  const frag = [...good]; frag[20] = 0x20; // MF
  assert.equal(parse(frag).code, P_FRAGMENT);
  const frag2 = [...good]; frag2[21] = 0x10; // offset
  assert.equal(parse(frag2).code, P_FRAGMENT);
  const short = [...good.slice(0, 14 + 20 + 10)]; short[17] = 30;
  assert.equal(parse(short).code, P_TRUNC_L4);
  const doff = [...good]; doff[14 + 20 + 12] = 0x20;
  assert.equal(parse(doff).code, P_BAD_TCP_DOFF);
  const gre = frame({ ...M, src: '198.18.0.1', dst: '198.18.1.10', l4: { proto: 47, payload: [0, 0, 0, 0] } });
  assert.equal(parse(gre).code, P_UNKNOWN_PROTO);
  const lldp = [...good]; lldp[12] = 0x88; lldp[13] = 0xcc;
  assert.equal(parse(lldp).code, P_OTHER_ETHERTYPE);
});

test('ARP and the virtio header partial-checksum flag', () => {
  const a = arpFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', srcMac: '02:00:00:00:00:02', op: 1, sha: '02:00:00:00:00:02', spa: '198.18.0.1', tha: '00:00:00:00:00:00', tpa: '198.18.0.10' });
  assert.equal(parse(a).code, P_OK_ARP);
  const f = frame({ ...M, src: '198.18.0.1', dst: '198.18.1.10', vnet: true, l4: { proto: 'tcp', sport: 1, dport: 80, flags: 'A', partial: true } });
  const { code, p } = parse(f, true);
  assert.equal(code, P_OK_IP);
  assert.equal(p.csumPartial, true);
  const g = frame({ ...M, src: '198.18.0.1', dst: '198.18.1.10', vnet: true, l4: { proto: 'tcp', sport: 1, dport: 80, flags: 'A' } });
  assert.equal(parse(g, true).p.csumPartial, false);
});
