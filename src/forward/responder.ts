/**
 * What the core answers itself for the VIPs it owns (ARCHITECTURE D4), since those
 * addresses are not kernel addresses: ARP requests (RFC 826), ICMP echo (RFC 792) and
 * ICMPv6 echo (RFC 4443 §4), neighbour solicitations (RFC 4861 §7.2.4), and what a host's
 * stack would send for traffic it has no socket for: a TCP RST (RFC 9293 §3.10.7.1) or an
 * ICMP port unreachable (RFC 792 / RFC 4443 §3.1) — the latter also IPVS's ip_vs_leave()
 * answer when no real server can take a new connection.
 *
 * Echo and ARP replies are rewritten in place (same size); the rest are built in the
 * pipeline's scratch area. Every function returns a pipeline action.
 */
import { A_DROP } from './actions.js';
import { checksum, csumReplace16, pseudoSum6, sumBytes } from './checksum.js';
import { macHiAt, macLoAt, writeMac } from './l2.js';
import {
  ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN,
  type PacketView,
} from './packet.js';
import type { Pipeline } from './pipeline.js';
import type { GlobalCounter } from './stats.js';

/** ARP reply in place for a request whose target is a claimed VIP (already checked). */
export function arpReply(pl: Pipeline, ifSlot: number): number {
  const p = pl.p;
  const b = p.b;
  const f = p.frame;
  const a = p.l3;
  const ifc = pl.ifaces[ifSlot]!;
  // Ethernet: back to the requester, from us.
  for (let i = 0; i < 6; i++) b[f + i] = b[a + 8 + i]!;
  writeMac(b, f + 6, ifc.macHi, ifc.macLo);
  b[a + 6] = 0;
  b[a + 7] = 2; // op = reply
  // tha/tpa := sha/spa ; sha := our MAC ; spa := the VIP asked for.
  const tpa0 = b[a + 24]!, tpa1 = b[a + 25]!, tpa2 = b[a + 26]!, tpa3 = b[a + 27]!;
  for (let i = 0; i < 10; i++) b[a + 18 + i] = b[a + 8 + i]!;
  writeMac(b, a + 8, ifc.macHi, ifc.macLo);
  b[a + 14] = tpa0; b[a + 15] = tpa1; b[a + 16] = tpa2; b[a + 17] = tpa3;
  pl.count('arp_replies');
  return pl.outInPlace(ifSlot);
}

/** ICMP / ICMPv6 echo reply in place (addresses swapped, TTL 64). */
export function echoReply(pl: Pipeline, ifSlot: number): number {
  const p = pl.p;
  const b = p.b;
  const dv = p.dv;
  const f = p.frame;
  swapMacs(b, f, pl, ifSlot);
  const l3 = p.l3;
  const l4 = p.l4;
  if (p.t.fam === 4) {
    const s = dv.getUint32(l3 + 12);
    dv.setUint32(l3 + 12, dv.getUint32(l3 + 16));
    dv.setUint32(l3 + 16, s);
    // TTL/proto word changes (TTL := 64); addresses swapped leave the header sum unchanged.
    const oldW = dv.getUint16(l3 + 8);
    const newW = (64 << 8) | (oldW & 255);
    dv.setUint16(l3 + 8, newW);
    dv.setUint16(l3 + 10, csumReplace16(dv.getUint16(l3 + 10), oldW, newW));
    // type 8 → 0 (code 0): RFC 1624 update of the ICMP checksum.
    const oldT = dv.getUint16(l4);
    dv.setUint16(l4, oldT & 0x00ff);
    dv.setUint16(l4 + 2, csumReplace16(dv.getUint16(l4 + 2), oldT, oldT & 0x00ff));
  } else {
    for (let i = 0; i < 16; i += 4) {
      const s = dv.getUint32(l3 + 8 + i);
      dv.setUint32(l3 + 8 + i, dv.getUint32(l3 + 24 + i));
      dv.setUint32(l3 + 24 + i, s);
    }
    b[l3 + 7] = 64;
    // type 128 → 129; the pseudo-header sum is unchanged by the swap.
    const oldT = dv.getUint16(l4);
    const newT = (129 << 8) | (oldT & 255);
    dv.setUint16(l4, newT);
    dv.setUint16(l4 + 2, csumReplace16(dv.getUint16(l4 + 2), oldT, newT));
  }
  if (p.vnet >= 0) b[p.vnet] = 0; // no offload on a rebuilt reply
  pl.count('echo_replies');
  return pl.outInPlace(ifSlot);
}

function swapMacs(b: Uint8Array, f: number, pl: Pipeline, ifSlot: number): void {
  const ifc = pl.ifaces[ifSlot]!;
  for (let i = 0; i < 6; i++) b[f + i] = b[f + 6 + i]!;
  writeMac(b, f + 6, ifc.macHi, ifc.macLo);
}

/** Writes vnet header (if any), Ethernet header back to the sender of p, VLAN tag copied; returns the L3 offset. */
function replyL2(pl: Pipeline, at: number, ifSlot: number, etherType: number): number {
  const p = pl.p;
  const b = p.b;
  const ifc = pl.ifaces[ifSlot]!;
  let o = at;
  if (ifc.vnet) {
    b.fill(0, o, o + 10);
    o += 10;
  }
  writeMac(b, o, macHiAt(b, p.frame + 6), macLoAt(b, p.frame + 6));
  writeMac(b, o + 6, ifc.macHi, ifc.macLo);
  o += 12;
  if (p.vlanTci >= 0) {
    b[o] = ETH_P_8021Q >> 8; b[o + 1] = ETH_P_8021Q & 255;
    b[o + 2] = p.vlanTci >> 8; b[o + 3] = p.vlanTci & 255;
    o += 4;
  }
  b[o] = etherType >> 8;
  b[o + 1] = etherType & 255;
  return o + 2;
}

/**
 * An IPv4 header at o answering the packet in view: its source is the packet's destination,
 * its destination the packet's source, copied byte for byte from the received header (an
 * address above 2^31 passed as a number argument would be boxed: one allocation per answer).
 */
function writeIPv4Reply(b: Uint8Array, dv: DataView, o: number, totLen: number, proto: number, l3: number): void {
  b[o] = 0x45; b[o + 1] = 0;
  dv.setUint16(o + 2, totLen);
  dv.setUint16(o + 4, 0);
  dv.setUint16(o + 6, 0x4000); // DF
  b[o + 8] = 64; b[o + 9] = proto;
  dv.setUint16(o + 10, 0);
  b.copyWithin(o + 12, l3 + 16, l3 + 20);
  b.copyWithin(o + 16, l3 + 12, l3 + 16);
  dv.setUint16(o + 10, checksum(b, o, 20));
}

/** The IPv4 pseudo-header sum from the 8 address bytes at addrOff (src then dst), as pseudoSum6 does for IPv6. */
function pseudoSumAt4(b: Uint8Array, addrOff: number, proto: number, l4Len: number): number {
  return sumBytes(b, addrOff, 8, proto + l4Len);
}

function writeIPv6Header(b: Uint8Array, p: PacketView, o: number, payloadLen: number, proto: number, hopLimit: number): void {
  const dv = p.dv;
  dv.setUint32(o, 0x60000000);
  dv.setUint16(o + 4, payloadLen);
  b[o + 6] = proto;
  b[o + 7] = hopLimit;
  // src := the packet's destination, dst := its source.
  for (let i = 0; i < 16; i++) {
    b[o + 8 + i] = b[p.l3 + 24 + i]!;
    b[o + 24 + i] = b[p.l3 + 8 + i]!;
  }
}

/**
 * A TCP RST for segment p that found no connection (RFC 9293 §3.10.7.1): never for a RST;
 * with ACK: SEQ = SEG.ACK; without: SEQ = 0, ACK = SEG.SEQ + SEG.LEN, flags RST|ACK.
 */
export function tcpReset(pl: Pipeline, ifSlot: number): number {
  const p = pl.p;
  if (p.tcpFlags & TCP_RST) return A_DROP;
  const at = pl.allocScratch();
  if (at < 0) return A_DROP;
  const b = p.b;
  const dv = p.dv;
  const l4 = p.l4;
  const doff = (b[l4 + 12]! >> 4) << 2;
  let segLen = p.l4Len - doff;
  if (p.tcpFlags & TCP_SYN) segLen++;
  if (p.tcpFlags & TCP_FIN) segLen++;
  const hasAck = (p.tcpFlags & TCP_ACK) !== 0;
  const seq = hasAck ? dv.getUint32(l4 + 8) : 0;
  const ack = hasAck ? 0 : (dv.getUint32(l4 + 4) + segLen) >>> 0;
  const v4 = p.t.fam === 4;
  const o3 = replyL2(pl, at, ifSlot, v4 ? ETH_P_IP : ETH_P_IPV6);
  const o4 = o3 + (v4 ? 20 : 40);
  if (v4) writeIPv4Reply(b, dv, o3, 40, IPPROTO_TCP, p.l3);
  else writeIPv6Header(b, p, o3, 20, IPPROTO_TCP, 64);
  dv.setUint16(o4, p.t.dport);
  dv.setUint16(o4 + 2, p.t.sport);
  dv.setUint32(o4 + 4, seq);
  dv.setUint32(o4 + 8, ack);
  b[o4 + 12] = 0x50;
  b[o4 + 13] = hasAck ? TCP_RST : TCP_RST | TCP_ACK;
  dv.setUint32(o4 + 14, 0); // window 0, checksum 0
  dv.setUint16(o4 + 18, 0);
  const init = v4 ? pseudoSumAt4(b, o3 + 12, IPPROTO_TCP, 20) : pseudoSum6(b, o3 + 8, IPPROTO_TCP, 20);
  dv.setUint16(o4 + 16, checksum(b, o4, 20, init));
  pl.count('rsts_sent');
  return pl.outScratch(ifSlot, at, o4 + 20 - at);
}

/**
 * ICMP destination unreachable / port unreachable (type 3 code 3; ICMPv6 type 1 code 4)
 * quoting as much of p as fits in 576 (IPv4, RFC 1812 §4.3.2.3) or 1280 (IPv6) bytes.
 * Rate-limited like the kernel's icmp_msgs_per_sec.
 */
export function icmpPortUnreachable(pl: Pipeline, ifSlot: number): number {
  return icmpToSender(pl, ifSlot, 3, 3, 1, 4, 0, 'unreach_sent');
}

/**
 * "Fragmentation needed and DF set" (RFC 792 type 3 code 4, the next-hop MTU in the low 16
 * bits of the second word, RFC 1191 §4) or ICMPv6 Packet Too Big (RFC 4443 §3.2, type 2, the
 * MTU as 32 bits): what ip_vs_tunnel_xmit sends the client (ensure_mtu_is_adequate) when the
 * encapsulated packet would not fit the egress MTU.
 */
export function icmpFragNeeded(pl: Pipeline, ifSlot: number, mtu: number): number {
  return icmpToSender(pl, ifSlot, 3, 4, 2, 0, mtu, 'frag_needed_sent');
}

/**
 * Time exceeded in transit (RFC 792 type 11 code 0; ICMPv6 type 3 code 0): the TTL/hop limit
 * ran out at the director (IPVS decrement_ttl, Linux 5.3+).
 */
export function icmpTimeExceeded(pl: Pipeline, ifSlot: number): number {
  return icmpToSender(pl, ifSlot, 11, 0, 3, 0, 0, 'ttl_exceeded_sent');
}

/**
 * An ICMP/ICMPv6 error about packet p back to its sender (out of ifSlot, to the MAC the frame
 * came from), from the address p was sent to, quoting what fits (576 bytes in all for IPv4,
 * 1280 for IPv6). `info` is the second word of the ICMP header (an MTU, or 0). Never about an
 * ICMP error (RFC 1122 §3.2.2, RFC 4443 §2.4 (e.1)); rate-limited like icmp_msgs_per_sec.
 */
export function icmpToSender(pl: Pipeline, ifSlot: number, type4: number, code4: number, type6: number, code6: number, info: number, counter: GlobalCounter): number {
  const p = pl.p;
  const v4 = p.t.fam === 4;
  const it = p.icmpType;
  if (p.t.proto === (v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6) && (v4 ? it === 3 || it === 4 || it === 5 || it === 11 || it === 12 : it < 128)) return A_DROP;
  if (!pl.icmpAllowed()) {
    pl.count('icmp_rate_limited');
    return A_DROP;
  }
  const at = pl.allocScratch();
  if (at < 0) return A_DROP;
  const b = p.b;
  const dv = p.dv;
  const quote = Math.min(p.ipLen, v4 ? 576 - 28 : 1280 - 48);
  const o3 = replyL2(pl, at, ifSlot, v4 ? ETH_P_IP : ETH_P_IPV6);
  const o4 = o3 + (v4 ? 20 : 40);
  const icmpLen = 8 + quote;
  b.copyWithin(o4 + 8, p.l3, p.l3 + quote);
  b[o4] = v4 ? type4 : type6;
  b[o4 + 1] = v4 ? code4 : code6;
  dv.setUint16(o4 + 2, 0);
  dv.setUint32(o4 + 4, v4 ? info & 0xffff : info >>> 0);
  if (v4) {
    writeIPv4Reply(b, dv, o3, 20 + icmpLen, IPPROTO_ICMP, p.l3);
    dv.setUint16(o4 + 2, checksum(b, o4, icmpLen));
  } else {
    writeIPv6Header(b, p, o3, icmpLen, IPPROTO_ICMPV6, 64);
    dv.setUint16(o4 + 2, checksum(b, o4, icmpLen, pseudoSum6(b, o3 + 8, IPPROTO_ICMPV6, icmpLen)));
  }
  pl.count(counter);
  return pl.outScratch(ifSlot, at, o4 + icmpLen - at);
}

/**
 * Neighbour advertisement for a solicitation whose target is a claimed VIP (RFC 4861
 * §7.2.4): solicited, override, with the target link-layer address option; to the
 * solicitation's source, or to all-nodes when that was unspecified (DAD).
 */
export function neighbourAdvert(pl: Pipeline, ifSlot: number): number {
  const p = pl.p;
  const at = pl.allocScratch();
  if (at < 0) return A_DROP;
  const b = p.b;
  const dv = p.dv;
  const ifc = pl.ifaces[ifSlot]!;
  const target = p.l4 + 8;
  let unspecified = true;
  for (let i = 0; i < 16; i++) if (b[p.l3 + 8 + i] !== 0) unspecified = false;
  const o3 = replyL2(pl, at, ifSlot, ETH_P_IPV6);
  if (unspecified) {
    // 33:33:00:00:00:01 for ff02::1
    writeMac(b, at + (ifc.vnet ? 10 : 0), 0x3333, 1);
  }
  const o4 = o3 + 40;
  dv.setUint32(o3, 0x60000000);
  dv.setUint16(o3 + 4, 32);
  b[o3 + 6] = IPPROTO_ICMPV6;
  b[o3 + 7] = 255; // RFC 4861 §7.1.2: hop limit 255
  for (let i = 0; i < 16; i++) b[o3 + 8 + i] = b[target + i]!;
  if (unspecified) {
    b.fill(0, o3 + 24, o3 + 40);
    b[o3 + 24] = 0xff; b[o3 + 25] = 0x02; b[o3 + 39] = 1;
  } else {
    for (let i = 0; i < 16; i++) b[o3 + 24 + i] = b[p.l3 + 8 + i]!;
  }
  b[o4] = 136; b[o4 + 1] = 0;
  dv.setUint16(o4 + 2, 0);
  dv.setUint32(o4 + 4, unspecified ? 0x20000000 : 0x60000000); // S (solicited) | O (override)
  for (let i = 0; i < 16; i++) b[o4 + 8 + i] = b[target + i]!;
  b[o4 + 24] = 2; b[o4 + 25] = 1; // target link-layer address option, 8 bytes
  writeMac(b, o4 + 26, ifc.macHi, ifc.macLo);
  dv.setUint16(o4 + 2, checksum(b, o4, 32, pseudoSum6(b, o3 + 8, IPPROTO_ICMPV6, 32)));
  pl.count('nd_adverts');
  return pl.outScratch(ifSlot, at, o4 + 32 - at);
}
