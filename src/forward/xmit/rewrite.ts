/**
 * Address and port rewrites with incremental checksum updates (RFC 1624), shared by the
 * forwarding methods. A rewrite touches the IPv4 header checksum (address changes), and
 * the TCP/UDP checksum: full checksums move with the usual sign, partial ones (virtio
 * NEEDS_CSUM) with the opposite sign for addresses and not at all for ports
 * (ip_vs_proto_tcp.c tcp_fast_csum_update / tcp_partial_csum_update).
 */
import { checksum, csumReplace32, l4Replace16, l4Replace32, pseudoSum6, udpFix } from '../checksum.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, type PacketView } from '../packet.js';

/** Offset of the L4 checksum field for proto at l4, or -1. */
export function l4CsumOffset(proto: number, l4: number): number {
  return proto === IPPROTO_TCP ? l4 + 16 : proto === IPPROTO_UDP ? l4 + 6 : -1;
}

/**
 * Rewrites one address (`which` 0 = source, 1 = destination) and the matching port of the
 * parsed packet p to (w0..w3, port), fixing checksums. Words may be given signed (`| 0`)
 * or unsigned: every use reduces them modulo 2^32. Words handed on to the checksum helpers
 * are int32 (`| 0`, getInt32): a uint32 above 2^31 passed to a call that is not inlined is a
 * heap number, and inlining depends on how many kinds of frames the path has seen (measured:
 * 8 bytes per frame with IPv4 and IPv6 NAT traffic mixed, 0 with this).
 */
export function rewriteAddrPort(p: PacketView, which: 0 | 1, w0: number, w1: number, w2: number, w3: number, port: number): void {
  const dv = p.dv;
  const t = p.t;
  const l3 = p.l3;
  const proto = t.proto;
  const co = l4CsumOffset(proto, p.l4);
  const partial = p.csumPartial;
  // UDP over IPv4 with checksum 0 carries no checksum (RFC 768).
  const hasL4 = co >= 0 && !(proto === IPPROTO_UDP && t.fam === 4 && dv.getUint16(co) === 0);
  let c = hasL4 ? dv.getUint16(co) : 0;
  if (t.fam === 4) {
    const at = l3 + (which === 0 ? 12 : 16);
    const old = (which === 0 ? t.s0 : t.d0) | 0;
    const nw = w0 | 0;
    if (old !== nw) {
      dv.setUint16(l3 + 10, csumReplace32(dv.getUint16(l3 + 10), old, nw));
      if (hasL4) c = l4Replace32(c, old, nw, partial);
      dv.setInt32(at, nw);
    }
  } else {
    const at = l3 + (which === 0 ? 8 : 24);
    if (hasL4) {
      c = l4Replace32(c, dv.getInt32(at), w0 | 0, partial);
      c = l4Replace32(c, dv.getInt32(at + 4), w1 | 0, partial);
      c = l4Replace32(c, dv.getInt32(at + 8), w2 | 0, partial);
      c = l4Replace32(c, dv.getInt32(at + 12), w3 | 0, partial);
    }
    dv.setInt32(at, w0 | 0);
    dv.setInt32(at + 4, w1 | 0);
    dv.setInt32(at + 8, w2 | 0);
    dv.setInt32(at + 12, w3 | 0);
  }
  const po = p.l4 + (which === 0 ? 0 : 2);
  const oldPort = which === 0 ? t.sport : t.dport;
  if (oldPort !== port) {
    if (hasL4) c = l4Replace16(c, oldPort, port, partial);
    dv.setUint16(po, port);
  }
  if (hasL4) {
    if (proto === IPPROTO_UDP && !partial) c = udpFix(c);
    dv.setUint16(co, c);
  }
}

/** Rewrites the outer IPv4/IPv6 source (which 0) or destination (1) address only (ICMP errors). */
export function rewriteOuterAddr(p: PacketView, which: 0 | 1, w0: number, w1: number, w2: number, w3: number): void {
  const dv = p.dv;
  const l3 = p.l3;
  if (p.t.fam === 4) {
    const at = l3 + (which === 0 ? 12 : 16);
    const old = dv.getInt32(at);
    dv.setUint16(l3 + 10, csumReplace32(dv.getUint16(l3 + 10), old, w0 | 0));
    dv.setInt32(at, w0 | 0);
  } else {
    const at = l3 + (which === 0 ? 8 : 24);
    dv.setUint32(at, w0);
    dv.setUint32(at + 4, w1);
    dv.setUint32(at + 8, w2);
    dv.setUint32(at + 12, w3);
  }
}

/**
 * Rewrites the quoted packet inside an ICMP error at `inner` (its IP header): address
 * `which` (0 src, 1 dst) and the matching port; the quoted IPv4 header checksum is updated,
 * the quoted L4 checksum is left alone (as ip_vs_nat_icmp), the ICMP checksum is recomputed.
 */
export function rewriteInner(p: PacketView, inner: number, which: 0 | 1, w0: number, w1: number, w2: number, w3: number, port: number): void {
  const dv = p.dv;
  if (p.t.fam === 4) {
    const at = inner + (which === 0 ? 12 : 16);
    const old = dv.getInt32(at);
    dv.setUint16(inner + 10, csumReplace32(dv.getUint16(inner + 10), old, w0 | 0));
    dv.setInt32(at, w0 | 0);
    const ihl = (p.b[inner]! & 15) << 2;
    dv.setUint16(inner + ihl + (which === 0 ? 0 : 2), port);
  } else {
    const at = inner + (which === 0 ? 8 : 24);
    dv.setUint32(at, w0);
    dv.setUint32(at + 4, w1);
    dv.setUint32(at + 8, w2);
    dv.setUint32(at + 12, w3);
    dv.setUint16(inner + 40 + (which === 0 ? 0 : 2), port);
  }
}

/** Recomputes the ICMP/ICMPv6 checksum of p from scratch (ICMP errors are small). */
export function fixIcmpChecksum(p: PacketView): void {
  const dv = p.dv;
  const l4 = p.l4;
  dv.setUint16(l4 + 2, 0);
  const init = p.t.proto === IPPROTO_ICMPV6 ? pseudoSum6(p.b, p.l3 + 8, IPPROTO_ICMPV6, p.l4Len) : 0;
  dv.setUint16(l4 + 2, checksum(p.b, l4, p.l4Len, init));
  void IPPROTO_ICMP;
}
