/**
 * Writes test/golden/forward/*.json: packet-in / packet-out fixtures (katran
 * KatranBaseTestFixtures style). Every expected output frame is built here from scratch by
 * the naive builder (test/unit/forward/lib/frames.ts), never by the code under test.
 *
 *   npx tsx test/golden/forward/gen-fixtures.ts
 */
import { writeFileSync } from 'node:fs';
import { arpFrame, encapFrame, frame, hex, ipPacket, naiveChecksum, mac, type FrameSpec } from '../../unit/forward/lib/frames.js';
import { MAC, CLIENT, CLIENT6, TUN_DIP, TUN_DIP6, TUN_MAC } from '../../unit/forward/lib/topo.js';

type Expect = 'drop' | 'ignore' | { if: number; out: string } | { if: number; outs: string[] };
interface Step { desc: string; if: number; now?: number; vnet?: boolean; in: string; expect: Expect }
interface Fixture { description: string; setup: 'standard' | 'standard-vnet' | 'tun' | 'tun-vnet'; steps: Step[] }

const VIP = '198.18.0.10';
const VIP_DR = '198.18.0.11';
const VIP6 = '2001:db8::10';
const RS11 = '198.18.1.11';
const RS12 = '198.18.1.12';

const fromRouter = (s: Omit<FrameSpec, 'dstMac' | 'srcMac'>): number[] => frame({ dstMac: MAC.eth0, srcMac: MAC.router, ...s });
/** A frame the director made itself (ARP, echo reply, RST, ICMP errors): TTL as given (64 by default). */
const toRouter = (s: Omit<FrameSpec, 'dstMac' | 'srcMac'>): number[] => frame({ dstMac: MAC.router, srcMac: MAC.eth0, ...s });
/** A reply forwarded to the client: the director is a hop (ip_forward), TTL one less than it came with. */
const replyToRouter = (s: Omit<FrameSpec, 'dstMac' | 'srcMac'>): number[] => toRouter({ ...s, ttl: (s.ttl ?? 64) - 1 });
/** A packet forwarded to a real server: TTL one less (IPVS decrement_ttl). */
const toReal = (m: string, s: Omit<FrameSpec, 'dstMac' | 'srcMac'>): number[] => frame({ dstMac: m, srcMac: MAC.eth1, ...s, ttl: (s.ttl ?? 64) - 1 });
const fromReal = (m: string, s: Omit<FrameSpec, 'dstMac' | 'srcMac'>): number[] => frame({ dstMac: MAC.eth1, srcMac: m, ...s });

/** An ICMP error frame quoting `quoted` (an IP packet), trimmed to its IP header + 8 bytes. */
/** `ttl`: 64 as sent; a relayed error is one less (ip_vs_icmp_xmit → decrement_ttl, or ip_forward). */
function icmpError(l2: { dstMac: string; srcMac: string }, src: string, dst: string, type: number, code: number, rest: number[], quoted: number[], ttl = 64): number[] {
  const ihl = (quoted[0]! & 15) * 4;
  const q = quoted.slice(0, ihl + 8);
  return frame({ ...l2, src, dst, ttl, l4: { proto: 'icmp', type, code, rest, payload: q } });
}

/** Sets an IPv4 address / port inside a quoted packet and recomputes its header checksum (not its L4 checksum: IPVS leaves it). */
function patchQuoted(q: number[], which: 'src' | 'dst', addr: string, port: number): number[] {
  const out = [...q];
  const a = addr.split('.').map(Number);
  const at = which === 'src' ? 12 : 16;
  for (let i = 0; i < 4; i++) out[at + i] = a[i]!;
  const ihl = (out[0]! & 15) * 4;
  const po = ihl + (which === 'src' ? 0 : 2);
  out[po] = port >> 8;
  out[po + 1] = port & 255;
  out[10] = 0; out[11] = 0;
  const c = naiveChecksum(out.slice(0, ihl));
  out[10] = c >> 8; out[11] = c & 255;
  return out;
}

const tcp = (sport: number, dport: number, flags: string, seq = 1000, ack = 0, payload: number[] = []) =>
  ({ proto: 'tcp' as const, sport, dport, flags, seq, ack, payload });

function nat(): Fixture {
  const steps: Step[] = [];
  // rr walks the kernel's list order: the last configured real server (.12) is first.
  steps.push({
    desc: 'NAT in: client SYN to VIP:80 goes to the first real server (rr, kernel list order) at :8080, out of eth1 to its MAC',
    if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, l4: tcp(40000, 80, 'S', 1000) })),
    expect: { if: 1, out: hex(toReal(MAC.rs12, { src: CLIENT, dst: RS12, l4: tcp(40000, 8080, 'S', 1000) })) },
  });
  steps.push({
    desc: 'NAT reply: SYN-ACK from the real server gets VIP:80 as source and goes to the MAC the client frame came from',
    if: 1, in: hex(fromReal(MAC.rs12, { src: RS12, dst: CLIENT, l4: tcp(8080, 40000, 'SA', 5000, 1001) })),
    expect: { if: 0, out: hex(replyToRouter({ src: VIP, dst: CLIENT, l4: tcp(80, 40000, 'SA', 5000, 1001) })) },
  });
  steps.push({
    desc: 'NAT in: the ACK of an existing connection follows it (no scheduling)',
    if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, l4: tcp(40000, 80, 'A', 1001, 5001, [1, 2, 3]) })),
    expect: { if: 1, out: hex(toReal(MAC.rs12, { src: CLIENT, dst: RS12, l4: tcp(40000, 8080, 'A', 1001, 5001, [1, 2, 3]) })) },
  });
  steps.push({
    desc: 'NAT in: a second connection goes to the other real server (rr)',
    if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, l4: tcp(40001, 80, 'S', 7000) })),
    expect: { if: 1, out: hex(toReal(MAC.rs11, { src: CLIENT, dst: RS11, l4: tcp(40001, 8080, 'S', 7000) })) },
  });
  // ICMP frag-needed from a router on the client side about our reply VIP:80 -> CLIENT:40000.
  const reply = ipPacket({ src: VIP, dst: CLIENT, l4: tcp(80, 40000, 'A', 5001, 1004, new Array(40).fill(7)) });
  steps.push({
    desc: 'ICMP frag-needed from the client side about a reply: to the real server, outer dst and quoted src rewritten (ip_vs_in_icmp)',
    if: 0, in: hex(icmpError({ dstMac: MAC.eth0, srcMac: MAC.router }, '198.18.0.254', VIP, 3, 4, [0, 0, 0x05, 0xa0], reply)),
    expect: { if: 1, out: hex(icmpError({ dstMac: MAC.rs12, srcMac: MAC.eth1 }, '198.18.0.254', RS12, 3, 4, [0, 0, 0x05, 0xa0], patchQuoted(reply, 'src', RS12, 8080), 63)) },
  });
  // ICMP frag-needed from a router on the real side about our forwarded CLIENT:40000 -> RS12:8080.
  const fwd = ipPacket({ src: CLIENT, dst: RS12, l4: tcp(40000, 8080, 'A', 1004, 5001, new Array(40).fill(9)) });
  steps.push({
    desc: 'ICMP frag-needed from the real side about a forwarded packet: to the client, outer src and quoted dst become the VIP (ip_vs_out_icmp)',
    if: 1, in: hex(icmpError({ dstMac: MAC.eth1, srcMac: MAC.rs11 }, '198.18.1.254', CLIENT, 3, 4, [0, 0, 0x05, 0xa0], fwd)),
    expect: { if: 0, out: hex(icmpError({ dstMac: MAC.router, srcMac: MAC.eth0 }, VIP, CLIENT, 3, 4, [0, 0, 0x05, 0xa0], patchQuoted(fwd, 'dst', VIP, 80), 63)) },
  });
  steps.push({
    desc: 'TCP ACK with no connection to a service: RST from the VIP (what the local stack does under IPVS)',
    if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, l4: tcp(40002, 80, 'A', 3000, 4000) })),
    expect: { if: 0, out: hex(toRouter({ src: VIP, dst: CLIENT, id: 0, l4: { proto: 'tcp', sport: 80, dport: 40002, flags: 'R', seq: 4000, ack: 0, window: 0 } })) },
  });
  steps.push({
    desc: 'TCP SYN to a VIP port without a service: RST|ACK, ack = seq + 1',
    if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, l4: tcp(40003, 81, 'S', 100) })),
    expect: { if: 0, out: hex(toRouter({ src: VIP, dst: CLIENT, id: 0, l4: { proto: 'tcp', sport: 81, dport: 40003, flags: 'RA', seq: 0, ack: 101, window: 0 } })) },
  });
  const udpProbe = ipPacket({ src: CLIENT, dst: VIP, l4: { proto: 'udp', sport: 5353, dport: 54, payload: [1, 2, 3, 4] } });
  steps.push({
    desc: 'UDP to a VIP port without a service: ICMP port unreachable quoting the packet',
    if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, l4: { proto: 'udp', sport: 5353, dport: 54, payload: [1, 2, 3, 4] } })),
    expect: { if: 0, out: hex(toRouter({ src: VIP, dst: CLIENT, id: 0, l4: { proto: 'icmp', type: 3, code: 3, rest: [0, 0, 0, 0], payload: udpProbe } })) },
  });
  steps.push({
    desc: 'A frame for another MAC is not ours (the kernel has its copy)',
    if: 0, in: hex(frame({ dstMac: '02:00:00:00:77:77', srcMac: MAC.router, src: CLIENT, dst: VIP, l4: tcp(40009, 80, 'S') })),
    expect: 'ignore',
  });
  return { description: 'NAT: both directions, ICMP errors both ways, host-like answers for unserved VIP ports', setup: 'standard', steps };
}

function icmp(): Fixture {
  const steps: Step[] = [];
  const RS31 = '198.18.1.31';
  const q = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  // A DR connection and a UDP NAT one to be quoted.
  steps.push({
    desc: 'DR in: SYN to VIP_DR:80 (the connection the next error quotes)',
    if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP_DR, l4: tcp(41500, 80, 'S', 1) })),
    expect: { if: 1, out: hex(toReal(MAC.rs21, { src: CLIENT, dst: VIP_DR, l4: tcp(41500, 80, 'S', 1) })) },
  });
  const drReply = ipPacket({ src: VIP_DR, dst: CLIENT, l4: tcp(80, 41500, 'SA', 7, 2, new Array(20).fill(3)) });
  const drErr = { type: 3, code: 4, rest: [0, 0, 0x05, 0xa0] };
  steps.push({
    desc: 'DR ICMP relay: frag-needed from the client side about the real server\'s direct reply goes to the real server unchanged (ip_vs_in_icmp, DR)',
    if: 0, in: hex(icmpError({ dstMac: MAC.eth0, srcMac: MAC.router }, '198.18.0.254', VIP_DR, drErr.type, drErr.code, drErr.rest, drReply)),
    expect: { if: 1, out: hex(icmpError({ dstMac: MAC.rs21, srcMac: MAC.eth1 }, '198.18.0.254', VIP_DR, drErr.type, drErr.code, drErr.rest, drReply, 63)) },
  });
  steps.push({
    desc: 'UDP NAT in: query to VIP:53 (the flow the next errors quote)',
    if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, l4: { proto: 'udp', sport: 33400, dport: 53, payload: q } })),
    expect: { if: 1, out: hex(toReal(MAC.rs31, { src: CLIENT, dst: RS31, l4: { proto: 'udp', sport: 33400, dport: 53, payload: q } })) },
  });
  const answer = ipPacket({ src: VIP, dst: CLIENT, l4: { proto: 'udp', sport: 53, dport: 33400, payload: q } });
  steps.push({
    desc: 'UDP ICMP port unreachable from the client about the answer: to the real server, outer dst and quoted src:sport rewritten (ip_vs_in_icmp)',
    if: 0, in: hex(icmpError({ dstMac: MAC.eth0, srcMac: MAC.router }, CLIENT, VIP, 3, 3, [0, 0, 0, 0], answer)),
    expect: { if: 1, out: hex(icmpError({ dstMac: MAC.rs31, srcMac: MAC.eth1 }, CLIENT, RS31, 3, 3, [0, 0, 0, 0], patchQuoted(answer, 'src', RS31, 53), 63)) },
  });
  const query = ipPacket({ src: CLIENT, dst: RS31, l4: { proto: 'udp', sport: 33400, dport: 53, payload: q } });
  steps.push({
    desc: 'UDP ICMP host unreachable from the real side about a forwarded query: to the client, outer src and quoted dst:dport become VIP:53 (ip_vs_out_icmp)',
    if: 1, in: hex(icmpError({ dstMac: MAC.eth1, srcMac: MAC.rs11 }, '198.18.1.254', CLIENT, 3, 1, [0, 0, 0, 0], query)),
    expect: { if: 0, out: hex(icmpError({ dstMac: MAC.router, srcMac: MAC.eth0 }, VIP, CLIENT, 3, 1, [0, 0, 0, 0], patchQuoted(query, 'dst', VIP, 53), 63)) },
  });
  steps.push({
    desc: 'ICMP source quench (type 4) about the answer is relayed like an unreachable (ip_vs_in_icmp: DEST_UNREACH, SOURCE_QUENCH, TIME_EXCEEDED)',
    if: 0, in: hex(icmpError({ dstMac: MAC.eth0, srcMac: MAC.router }, CLIENT, VIP, 4, 0, [0, 0, 0, 0], answer)),
    expect: { if: 1, out: hex(icmpError({ dstMac: MAC.rs31, srcMac: MAC.eth1 }, CLIENT, RS31, 4, 0, [0, 0, 0, 0], patchQuoted(answer, 'src', RS31, 53), 63)) },
  });
  steps.push({
    desc: 'ICMP time exceeded (type 11) from the real side is relayed to the client',
    if: 1, in: hex(icmpError({ dstMac: MAC.eth1, srcMac: MAC.rs11 }, '198.18.1.254', CLIENT, 11, 0, [0, 0, 0, 0], query)),
    expect: { if: 0, out: hex(icmpError({ dstMac: MAC.router, srcMac: MAC.eth0 }, VIP, CLIENT, 11, 0, [0, 0, 0, 0], patchQuoted(query, 'dst', VIP, 53), 63)) },
  });
  steps.push({
    desc: 'ICMP parameter problem (type 12) is not one IPVS relays: left alone',
    if: 0, in: hex(icmpError({ dstMac: MAC.eth0, srcMac: MAC.router }, CLIENT, VIP, 12, 0, [20, 0, 0, 0], answer)),
    expect: 'ignore',
  });
  const bad = icmpError({ dstMac: MAC.eth0, srcMac: MAC.router }, CLIENT, VIP, 3, 3, [0, 0, 0, 0], answer);
  bad[36] = bad[36]! ^ 0xff; // ICMP checksum (14 + 20 + 2)
  steps.push({
    desc: 'an ICMP error with a bad checksum is dropped, not relayed with a fresh one (ip_vs_in_icmp "Ensure the checksum is correct")',
    if: 0, in: hex(bad), expect: 'drop',
  });
  return { description: 'ICMP errors: DR relay, UDP NAT both ways, the types IPVS relays, bad checksums', setup: 'standard', steps };
}

function dr(): Fixture {
  return {
    description: 'DR: only the destination MAC changes; same frame otherwise',
    setup: 'standard',
    steps: [
      {
        desc: 'DR in: SYN to VIP:80 goes out of eth1 to the real server MAC, IP packet untouched',
        if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP_DR, l4: tcp(41000, 80, 'S', 1) })),
        expect: { if: 1, out: hex(toReal(MAC.rs21, { src: CLIENT, dst: VIP_DR, l4: tcp(41000, 80, 'S', 1) })) },
      },
      {
        desc: 'DR in: data of the same connection follows it',
        if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP_DR, l4: tcp(41000, 80, 'PA', 2, 99, [0x47, 0x45, 0x54]) })),
        expect: { if: 1, out: hex(toReal(MAC.rs21, { src: CLIENT, dst: VIP_DR, l4: tcp(41000, 80, 'PA', 2, 99, [0x47, 0x45, 0x54]) })) },
      },
    ],
  };
}

function udp(): Fixture {
  const q = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  return {
    description: 'UDP NAT: query in, answer out',
    setup: 'standard',
    steps: [
      {
        desc: 'UDP NAT in: query to VIP:53 to the real server',
        if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, l4: { proto: 'udp', sport: 33333, dport: 53, payload: q } })),
        expect: { if: 1, out: hex(toReal(MAC.rs31, { src: CLIENT, dst: '198.18.1.31', l4: { proto: 'udp', sport: 33333, dport: 53, payload: q } })) },
      },
      {
        desc: 'UDP NAT reply: answer gets VIP:53 as source',
        if: 1, in: hex(fromReal(MAC.rs31, { src: '198.18.1.31', dst: CLIENT, l4: { proto: 'udp', sport: 53, dport: 33333, payload: [...q, 9] } })),
        expect: { if: 0, out: hex(replyToRouter({ src: VIP, dst: CLIENT, l4: { proto: 'udp', sport: 53, dport: 33333, payload: [...q, 9] } })) },
      },
      {
        desc: 'UDP NAT in with checksum 0 (none, IPv4): stays 0',
        if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, l4: { proto: 'udp', sport: 33334, dport: 53, payload: q, udpNoCsum: true } })),
        expect: { if: 1, out: hex(toReal(MAC.rs31, { src: CLIENT, dst: '198.18.1.31', l4: { proto: 'udp', sport: 33334, dport: 53, payload: q, udpNoCsum: true } })) },
      },
    ],
  };
}

function responder(): Fixture {
  const echo = (src: string, dst: string, type: number) => ({ src, dst, l4: { proto: 'icmp' as const, type, code: 0, rest: [0, 7, 0, 1], payload: [1, 2, 3, 4, 5, 6, 7, 8] } });
  return {
    description: 'Core-owned VIPs: ARP, ICMP echo, ND answered by the core (ARCHITECTURE D4)',
    setup: 'standard',
    steps: [
      {
        desc: 'ARP request for a claimed VIP on its interface: reply with the interface MAC',
        if: 0, in: hex(arpFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', srcMac: MAC.router, op: 1, sha: MAC.router, spa: '198.18.0.254', tha: '00:00:00:00:00:00', tpa: VIP })),
        expect: { if: 0, out: hex(arpFrame({ dstMac: MAC.router, srcMac: MAC.eth0, op: 2, sha: MAC.eth0, spa: VIP, tha: MAC.router, tpa: '198.18.0.254' })) },
      },
      {
        desc: 'ARP request for the NAT gateway VIP from a real server',
        if: 1, in: hex(arpFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', srcMac: MAC.rs11, op: 1, sha: MAC.rs11, spa: RS11, tha: '00:00:00:00:00:00', tpa: '198.18.1.1' })),
        expect: { if: 1, out: hex(arpFrame({ dstMac: MAC.rs11, srcMac: MAC.eth1, op: 2, sha: MAC.eth1, spa: '198.18.1.1', tha: MAC.rs11, tpa: RS11 })) },
      },
      {
        desc: 'ARP request for a VIP on the wrong interface: not answered',
        if: 1, in: hex(arpFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', srcMac: MAC.rs11, op: 1, sha: MAC.rs11, spa: RS11, tha: '00:00:00:00:00:00', tpa: VIP })),
        expect: 'ignore',
      },
      {
        desc: 'ARP request for an address the core does not own: not answered',
        if: 0, in: hex(arpFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', srcMac: MAC.router, op: 1, sha: MAC.router, spa: '198.18.0.254', tha: '00:00:00:00:00:00', tpa: '198.18.0.99' })),
        expect: 'ignore',
      },
      {
        desc: 'ICMP echo request to a VIP: echo reply from the VIP (TTL 64)',
        if: 0, in: hex(fromRouter({ ...echo(CLIENT, VIP, 8), ttl: 61 })),
        expect: { if: 0, out: hex(toRouter({ ...echo(VIP, CLIENT, 0), ttl: 64 })) },
      },
      {
        desc: 'ICMPv6 echo request to an IPv6 VIP: echo reply',
        if: 0, in: hex(fromRouter({ src: CLIENT6, dst: VIP6, ttl: 60, l4: { proto: 'icmpv6', type: 128, code: 0, rest: [0, 9, 0, 1], payload: [5, 5, 5] } })),
        expect: { if: 0, out: hex(toRouter({ src: VIP6, dst: CLIENT6, ttl: 64, l4: { proto: 'icmpv6', type: 129, code: 0, rest: [0, 9, 0, 1], payload: [5, 5, 5] } })) },
      },
      {
        desc: 'Neighbour solicitation for an IPv6 VIP: solicited advertisement with our MAC (RFC 4861 §7.2.4)',
        if: 0, in: hex(frame({ dstMac: '33:33:ff:00:00:10', srcMac: MAC.router, src: 'fe80::fe', dst: 'ff02::1:ff00:10', ttl: 255,
          l4: { proto: 'icmpv6', type: 135, code: 0, rest: [0, 0, 0, 0], payload: [...v6bytes(VIP6), 1, 1, ...mac(MAC.router)] } })),
        expect: { if: 0, out: hex(frame({ dstMac: MAC.router, srcMac: MAC.eth0, src: VIP6, dst: 'fe80::fe', ttl: 255,
          l4: { proto: 'icmpv6', type: 136, code: 0, rest: [0x60, 0, 0, 0], payload: [...v6bytes(VIP6), 2, 1, ...mac(MAC.eth0)] } })) },
      },
    ],
  };
}

function v6bytes(a: string): number[] {
  // Only the addresses used here.
  if (a === VIP6) return [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
  throw new Error(a);
}

function ipv6(): Fixture {
  return {
    description: 'IPv6 NAT: address words rewritten, checksums from the pseudo-header',
    setup: 'standard',
    steps: [
      {
        desc: 'IPv6 NAT in: SYN to [VIP6]:80 goes to [2001:db8:1::11]:8080',
        if: 0, in: hex(fromRouter({ src: CLIENT6, dst: VIP6, l4: tcp(42000, 80, 'S', 9) })),
        expect: { if: 1, out: hex(toReal(MAC.rs6, { src: CLIENT6, dst: '2001:db8:1::11', l4: tcp(42000, 8080, 'S', 9) })) },
      },
      {
        desc: 'IPv6 NAT reply: source back to [VIP6]:80',
        if: 1, in: hex(fromReal(MAC.rs6, { src: '2001:db8:1::11', dst: CLIENT6, l4: tcp(8080, 42000, 'SA', 77, 10) })),
        expect: { if: 0, out: hex(replyToRouter({ src: VIP6, dst: CLIENT6, l4: tcp(80, 42000, 'SA', 77, 10) })) },
      },
    ],
  };
}

function bad(): Fixture {
  const good = fromRouter({ src: CLIENT, dst: VIP, l4: tcp(43000, 80, 'S') });
  const ihl = [...good]; ihl[14] = 0x44;
  const frag = [...good]; frag[20] = 0x20;
  const trunc = good.slice(0, 30);
  const tot = [...good]; tot[17] = 0xff;
  const gre = fromRouter({ src: CLIENT, dst: VIP, l4: { proto: 47, payload: [0, 0, 8, 0] } });
  // IP total length 30: the TCP header has 10 bytes; the IP header checksum fixed for it.
  const cut = (f: number[]) => {
    const o = f.slice(0, 14 + 30);
    o[16] = 0; o[17] = 30; o[24] = 0; o[25] = 0;
    const c = naiveChecksum(o.slice(14, 34));
    o[24] = c >> 8; o[25] = c & 255;
    return o;
  };
  const truncL4 = cut(good);
  const truncOther = cut(fromRouter({ src: CLIENT, dst: '198.18.0.77', l4: tcp(43000, 80, 'S') }));
  const doff = [...good]; doff[14 + 20 + 12] = 0x30;
  const doffBig = [...good]; doffBig[14 + 20 + 12] = 0xf0;
  const other = fromRouter({ src: CLIENT, dst: '198.18.0.77', l4: { proto: 47, payload: [0, 0, 8, 0] } });
  return {
    description: 'Bad frames: counted by reason; dropped when addressed to an owned VIP, left to the kernel otherwise',
    setup: 'standard',
    steps: [
      { desc: 'IPv4 header length 16 to a VIP: dropped (bad_ihl)', if: 0, in: hex(ihl), expect: 'drop' },
      { desc: 'fragment (MF) to a VIP: dropped (fragment; the core does not reassemble)', if: 0, in: hex(frag), expect: 'drop' },
      { desc: 'total length beyond the frame to a VIP: dropped (bad_total_length)', if: 0, in: hex(tot), expect: 'drop' },
      { desc: 'truncated IPv4 header: left to the kernel (truncated_l3, destination unknown)', if: 0, in: hex(trunc), expect: 'ignore' },
      { desc: 'GRE to a VIP: dropped (unknown_protocol)', if: 0, in: hex(gre), expect: 'drop' },
      { desc: 'GRE to an address the core does not own: left to the kernel', if: 0, in: hex(other), expect: 'ignore' },
      { desc: 'TCP header cut short (10 of 20 bytes inside the IP length) to a VIP: dropped (truncated_l4)', if: 0, in: hex(truncL4), expect: 'drop' },
      { desc: 'TCP data offset 3 (12 bytes, below the minimum 20) to a VIP: dropped (bad_tcp_doff)', if: 0, in: hex(doff), expect: 'drop' },
      { desc: 'TCP data offset beyond the segment to a VIP: dropped (bad_tcp_doff)', if: 0, in: hex(doffBig), expect: 'drop' },
      { desc: 'truncated TCP header to an address the core does not own: left to the kernel', if: 0, in: hex(truncOther), expect: 'ignore' },
    ],
  };
}

function gso(): Fixture {
  const payload = Array.from({ length: 3000 }, (_, i) => i & 255);
  return {
    description: 'PACKET_VNET_HDR: a GSO super-frame with a partial checksum keeps its virtio header; the pseudo-header sum moves with the opposite sign',
    setup: 'standard-vnet',
    steps: [
      {
        desc: 'vnet: SYN (full checksum, no offload) to VIP:80',
        if: 0, vnet: true, in: hex(frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, src: CLIENT, dst: VIP, l4: tcp(44000, 80, 'S', 1) })),
        expect: { if: 1, out: hex(frame({ dstMac: MAC.rs12, srcMac: MAC.eth1, vnet: true, ttl: 63, src: CLIENT, dst: RS12, l4: tcp(44000, 8080, 'S', 1) })) },
      },
      {
        desc: 'vnet: 3000-byte GSO super-frame, CHECKSUM_PARTIAL: virtio header carried, partial sum updated for the new address only',
        if: 0, vnet: true, in: hex(frame({ dstMac: MAC.eth0, srcMac: MAC.router, vnet: true, gsoSize: 1448, src: CLIENT, dst: VIP, l4: { ...tcp(44000, 80, 'A', 2, 1, payload), partial: true } })),
        expect: { if: 1, out: hex(frame({ dstMac: MAC.rs12, srcMac: MAC.eth1, vnet: true, ttl: 63, gsoSize: 1448, src: CLIENT, dst: RS12, l4: { ...tcp(44000, 8080, 'A', 2, 1, payload), partial: true } })) },
      },
      {
        desc: 'vnet: reply GSO super-frame with a partial checksum, back to the client',
        if: 1, vnet: true, in: hex(frame({ dstMac: MAC.eth1, srcMac: MAC.rs12, vnet: true, gsoSize: 1448, src: RS12, dst: CLIENT, l4: { ...tcp(8080, 44000, 'A', 1, 3002, payload), partial: true } })),
        expect: { if: 0, out: hex(frame({ dstMac: MAC.router, srcMac: MAC.eth0, vnet: true, ttl: 63, gsoSize: 1448, src: VIP, dst: CLIENT, l4: { ...tcp(80, 44000, 'A', 1, 3002, payload), partial: true } })) },
      },
    ],
  };
}

/** The client's packet as the real server gets it inside the tunnel: TTL one less, checksums redone. */
const innerOf = (s: Omit<FrameSpec, 'dstMac' | 'srcMac'>) => ipPacket({ ...s, ttl: (s.ttl ?? 64) - 1 });
const fromClientT = (s: Omit<FrameSpec, 'dstMac' | 'srcMac'>, vnet = false) => frame({ dstMac: TUN_MAC.eth0, srcMac: TUN_MAC.router, vnet, ...s });
const toClientT = (s: Omit<FrameSpec, 'dstMac' | 'srcMac'>, vnet = false) => frame({ dstMac: TUN_MAC.router, srcMac: TUN_MAC.eth0, vnet, ...s });

function tun(): Fixture {
  const syn: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { src: CLIENT, dst: '198.18.0.12', ttl: 60, l4: tcp(41000, 80, 'S', 1000) };
  const data: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { src: CLIENT, dst: '198.18.0.12', l4: tcp(41000, 80, 'PA', 1001, 1, Array.from({ length: 100 }, (_, i) => i)) };
  const big: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { src: CLIENT, dst: '198.18.0.12', l4: tcp(41000, 80, 'A', 1101, 1, Array.from({ length: 1441 }, (_, i) => i & 255)) };
  const syn6: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { src: CLIENT6, dst: '2001:db8::12', l4: tcp(41001, 80, 'S', 7) };
  const syn46: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { src: CLIENT, dst: '198.18.0.17', l4: tcp(41002, 80, 'S', 9) };
  const ttl1: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { src: CLIENT, dst: '198.18.0.12', ttl: 1, l4: tcp(41003, 80, 'S', 11) };
  const gre: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { src: CLIENT, dst: '198.18.0.13', l4: tcp(41004, 80, 'S', 13) };
  const enc = (rs: string, m: string, s: Omit<FrameSpec, 'dstMac' | 'srcMac'>, id: number, extra: Partial<Parameters<typeof encapFrame>[0]> = {}) =>
    hex(encapFrame({ dstMac: m, srcMac: TUN_MAC.eth1, outerSrc: rs.includes(':') ? TUN_DIP6 : TUN_DIP, outerDst: rs, ttl: (s.ttl ?? 64) - 1,
      df: !s.src.includes(':'), id, inner: innerOf(s), ...extra }));
  return {
    description: 'TUN (ip_vs_tunnel_xmit): IP-in-IP, ip6ip6, IPv4 in IPv6, GRE; TTL, DF, ECN, ids; fragmentation needed and time exceeded to the client',
    setup: 'tun',
    steps: [
      { desc: 'ipip: SYN to 198.18.0.12:80 (rr: the last configured real server first) in an outer IPv4 header from the director\'s eth1 address, TTL 60 → 59 both, DF copied, id 0x100',
        if: 0, in: hex(fromClientT(syn)), expect: { if: 1, out: enc('198.18.1.42', TUN_MAC.r42, syn, 0x100) } },
      { desc: 'ipip: the connection\'s data segment follows it (id 0x101)',
        if: 0, in: hex(fromClientT(data)), expect: { if: 1, out: enc('198.18.1.42', TUN_MAC.r42, data, 0x101) } },
      { desc: 'ipip: 1481 bytes with DF do not fit 1500 - 20: ICMP fragmentation needed, next-hop MTU 1480, from the VIP to the client, quoting 548 bytes',
        if: 0, in: hex(fromClientT(big)), expect: { if: 0, out: hex(toClientT({ src: '198.18.0.12', dst: CLIENT, id: 0,
          l4: { proto: 'icmp', type: 3, code: 4, rest: [0, 0, 1480 >> 8, 1480 & 255], payload: innerOf(big).slice(0, 548) } })) } },
      { desc: 'ip6ip6: SYN to [2001:db8::12]:80 in an outer IPv6 header (next header 41) from eth1\'s global address, hop limit 64 → 63',
        if: 0, in: hex(fromClientT(syn6)), expect: { if: 1, out: enc('2001:db8:1::41', TUN_MAC.r6, syn6, 0) } },
      { desc: 'IPv4 service, IPv6 real server: IPv4 in IPv6 (next header 4)',
        if: 0, in: hex(fromClientT(syn46)), expect: { if: 1, out: enc('2001:db8:1::42', TUN_MAC.r6b, syn46, 0) } },
      { desc: 'TTL 1: ICMP time exceeded to the client (decrement_ttl), nothing tunnelled',
        if: 0, in: hex(fromClientT(ttl1)), expect: { if: 0, out: hex(toClientT({ src: '198.18.0.12', dst: CLIENT, id: 0,
          l4: { proto: 'icmp', type: 11, code: 0, rest: [0, 0, 0, 0], payload: ipPacket(ttl1) } })) } },
      { desc: 'GRE with checksum (RFC 2784: C bit, checksum over GRE header and payload), protocol 47, id 0x102',
        if: 0, in: hex(fromClientT(gre)), expect: { if: 1, out: enc('198.18.1.43', TUN_MAC.r43, gre, 0x102, { tunnel: { type: 'gre', csum: true } }) } },
    ],
  };
}

function tunGso(): Fixture {
  const pay = Array.from({ length: 4000 }, (_, i) => (i * 13) & 255);
  const syn: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { src: CLIENT, dst: '198.18.0.12', l4: { ...tcp(42000, 80, 'S', 500), partial: true } };
  const gso: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { src: CLIENT, dst: '198.18.0.12', id: 0x0200, l4: { ...tcp(42000, 80, 'PA', 501, 1, pay), partial: true } };
  const tooBig: Omit<FrameSpec, 'dstMac' | 'srcMac'> = { ...gso, l4: { ...gso.l4 } };
  const vnet = (csumStart: number) => ({ needs: true, csumStart, csumOffset: 16 });
  const segs = [0, 1, 2].map((i) => {
    const seg = ipPacket({ src: CLIENT, dst: '198.18.0.12', ttl: 63, id: 0x200 + i,
      l4: { proto: 'tcp', sport: 42000, dport: 80, seq: 501 + i * 1400, ack: 1, flags: i === 2 ? 'PA' : 'A', payload: pay.slice(i * 1400, (i + 1) * 1400), partial: true } });
    return hex(encapFrame({ dstMac: TUN_MAC.r42, srcMac: TUN_MAC.eth1, outerSrc: TUN_DIP, outerDst: '198.18.1.42', ttl: 63, df: true, id: 0x101 + i, inner: seg, vnet: vnet(54) }));
  });
  return {
    description: 'TUN with PACKET_VNET_HDR: partial checksums stay partial (csum_start moved), GSO super-frames cut in software (tcp_gso_segment) and each segment tunnelled',
    setup: 'tun-vnet',
    steps: [
      { desc: 'vnet: SYN with a partial checksum: NEEDS_CSUM kept, csum_start 34 → 54',
        if: 0, vnet: true, in: hex(fromClientT(syn, true)),
        expect: { if: 1, out: hex(encapFrame({ dstMac: TUN_MAC.r42, srcMac: TUN_MAC.eth1, outerSrc: TUN_DIP, outerDst: '198.18.1.42', ttl: 63, df: true, id: 0x100, inner: innerOf(syn), vnet: vnet(54) })) } },
      { desc: 'vnet: a 4000-byte TCP GSO super-frame (gso_size 1400, PSH): three tunnelled segments, seq +1400, ids +1, PSH on the last only, partial inner checksums',
        if: 0, vnet: true, in: hex(frame({ dstMac: TUN_MAC.eth0, srcMac: TUN_MAC.router, vnet: true, gsoSize: 1400, ...gso })), expect: { if: 1, outs: segs } },
      { desc: 'vnet: gso_size 1460 segments (1500 bytes) do not fit the tunnel: fragmentation needed, MTU 1480, as a router answers a GSO packet',
        if: 0, vnet: true, in: hex(frame({ dstMac: TUN_MAC.eth0, srcMac: TUN_MAC.router, vnet: true, gsoSize: 1460, ...tooBig })),
        expect: { if: 0, out: hex([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...toClientT({ src: '198.18.0.12', dst: CLIENT, id: 0,
          l4: { proto: 'icmp', type: 3, code: 4, rest: [0, 0, 1480 >> 8, 1480 & 255], payload: innerOf(tooBig).slice(0, 548) } })]) } },
    ],
  };
}

/** TTL / hop limit at the director (IPVS decrement_ttl, Linux 5.3+; ip_forward for replies). */
function ttl(): Fixture {
  const syn1 = { src: CLIENT, dst: VIP, ttl: 1, l4: tcp(45000, 80, 'S', 1) };
  const dr1 = { src: CLIENT, dst: VIP_DR, ttl: 1, l4: tcp(45002, 80, 'S', 1) };
  const v61 = { src: CLIENT6, dst: VIP6, ttl: 1, l4: tcp(45003, 80, 'S', 1) };
  return {
    description: 'TTL: every forwarded packet loses one; at 1 the client hears time exceeded, a reply is dropped',
    setup: 'standard',
    steps: [
      { desc: 'NAT in, TTL 1: ICMP time exceeded (11/0) from the VIP quoting the packet, nothing forwarded (the connection is scheduled, as IPVS does, on .12)',
        if: 0, in: hex(fromRouter(syn1)),
        expect: { if: 0, out: hex(toRouter({ src: VIP, dst: CLIENT, id: 0, l4: { proto: 'icmp', type: 11, code: 0, rest: [0, 0, 0, 0], payload: ipPacket(syn1) } })) } },
      { desc: 'NAT in, TTL 2: forwarded with TTL 1 (the next real server in rr order, .11), header checksum updated',
        if: 0, in: hex(fromRouter({ src: CLIENT, dst: VIP, ttl: 2, l4: tcp(45001, 80, 'S', 1) })),
        expect: { if: 1, out: hex(toReal(MAC.rs11, { src: CLIENT, dst: RS11, ttl: 2, l4: tcp(45001, 8080, 'S', 1) })) } },
      { desc: 'NAT reply, TTL 1: dropped (the kernel\'s ip_forward would not pass it either)',
        if: 1, in: hex(fromReal(MAC.rs11, { src: RS11, dst: CLIENT, ttl: 1, l4: tcp(8080, 45001, 'SA', 9, 2) })), expect: 'drop' },
      { desc: 'NAT reply, TTL 255: forwarded with 254',
        if: 1, in: hex(fromReal(MAC.rs11, { src: RS11, dst: CLIENT, ttl: 255, l4: tcp(8080, 45001, 'SA', 9, 2) })),
        expect: { if: 0, out: hex(replyToRouter({ src: VIP, dst: CLIENT, ttl: 255, l4: tcp(80, 45001, 'SA', 9, 2) })) } },
      { desc: 'DR in, TTL 1: time exceeded from the DR VIP',
        if: 0, in: hex(fromRouter(dr1)),
        expect: { if: 0, out: hex(toRouter({ src: VIP_DR, dst: CLIENT, id: 0, l4: { proto: 'icmp', type: 11, code: 0, rest: [0, 0, 0, 0], payload: ipPacket(dr1) } })) } },
      { desc: 'IPv6 NAT in, hop limit 1: ICMPv6 time exceeded (3/0) from the VIP',
        if: 0, in: hex(fromRouter(v61)),
        expect: { if: 0, out: hex(toRouter({ src: VIP6, dst: CLIENT6, ttl: 64, l4: { proto: 'icmpv6', type: 3, code: 0, rest: [0, 0, 0, 0], payload: ipPacket(v61) } })) } },
    ],
  };
}

const dir = new URL('.', import.meta.url);
for (const [name, f] of Object.entries({ nat: nat(), dr: dr(), udp: udp(), icmp: icmp(), responder: responder(), ipv6: ipv6(), bad: bad(), gso: gso(), tun: tun(), 'tun-gso': tunGso(), ttl: ttl() })) {
  writeFileSync(new URL(`${name}.json`, dir), JSON.stringify(f, null, 2) + '\n');
}
console.log('fixtures written');
