/**
 * TUN (IPVS ip_vs_tunnel_xmit / ip_vs_tunnel_xmit_v6): the client's packet, unchanged but for
 * its TTL, is encapsulated in an outer IP packet from the director's address on the egress
 * interface to the real server, which holds the VIP and answers the client directly (no
 * reply tuple, INPUT-ONLY TCP states as DR). Encapsulations (dest tun_type): IP-in-IP
 * (RFC 2003, protocol 4; IPv6 inside: protocol 41, RFC 2473 / RFC 4213), GUE (UDP to the
 * dest's port, draft-ietf-intarea-gue §3, ipvs_gue_encap) and GRE (RFC 2784, ipvs_gre_encap).
 * The outer family is the real server's, so families may mix (IPv4 in IPv6 and the reverse).
 *
 * As the kernel does:
 * - TTL / hop limit decremented, ICMP time exceeded at 1 (__ip_vs_get_out_rt → decrement_ttl);
 * - outer TTL = the inner one, outer DF = the inner DF (IPv6 inside: clear), outer TOS / traffic
 *   class = the inner DSCP with ECN encapsulated (INET_ECN_encapsulate: CE → ECT(0)), flow label
 *   0, outer IPv4 id from a counter (ip_select_ident with ignore_df), checksums;
 * - the tunnel MTU is the egress MTU less the headers (mtu < 68, or < 1280 for an IPv6 outer,
 *   refuses the dest); a packet that would not fit gets ICMP "fragmentation needed" (IPv4 with
 *   DF) or ICMPv6 "packet too big" with that MTU (ensure_mtu_is_adequate), not for ICMP errors;
 *   an IPv4 packet without DF (or an ICMP error) is sent in outer fragments (ip_fragment with
 *   ignore_df).
 *
 * GSO super-frames (PACKET_VNET_HDR delivers TCP/UDP GSO frames of up to 64 KiB): virtio_net_hdr
 * cannot describe IP-in-IP GSO (virtio_net_hdr_to_skb sets only SKB_GSO_TCPV4/TCPV6/UDP_L4, and
 * ipip_gso_segment refuses a frame without SKB_GSO_IPXIP4), so they are cut here by gso_size
 * (tcp_gso_segment / __udp_gso_segment rules: sequence numbers, FIN/PSH on the last segment
 * only, CWR on the first only, IPv4 id incremented, lengths and checksums) and each segment is
 * encapsulated. Where the frame leaves with a virtio header, the inner checksum of each segment
 * is left partial (NEEDS_CSUM at the inner L4 header, the kernel or the NIC completes it on
 * transmit: skb_checksum_help), so no payload byte is summed in JavaScript; GRE/GUE checksums
 * are partial at the outer header instead and the inner one is then completed here.
 * A segment that would not fit the tunnel MTU gets "fragmentation needed" / "packet too big"
 * like a forwarding router (ip_forward → ip_exceeds_mtu checks GSO segments), where IPVS would
 * fragment the outer packets; docs/forwarding.md "TUN" has the reasoning and the measurement.
 */
import { A_DROP, A_IGNORE, MAX_MULTI } from '../actions.js';
import { C0, F_METHOD_MASK, F_METHOD_SHIFT, FLAGS, KEY_IN, MAC_HI, MAC_LO, STRIDE, V0 } from '../conn-table.js';
import { checksum, fold16, pseudoSum6, sumBytes } from '../checksum.js';
import { M_TUN, TUN_CSUM, TUN_GRE, TUN_GUE, TUN_IPIP, TUN_NOCSUM, TUN_REMCSUM, type CoreDest } from '../dests.js';
import { setMacs } from '../l2.js';
import {
  IPPROTO_GRE, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_TCP, IPPROTO_UDP, TCP_CWR, TCP_FIN, TCP_PSH,
  VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_HDR_GSO_UDP_L4,
} from '../packet.js';
import type { IfaceRt, Pipeline } from '../pipeline.js';
import { icmpFragNeeded } from '../responder.js';
import { gIndex } from '../stats.js';
import type { XmitModule } from './types.js';

const GI_FWD_IN = gIndex('forwarded_in');
const GI_NO_EGRESS = gIndex('no_egress');
const GI_GSO_SEGMENTED = gIndex('gso_segmented');
const GI_GSO_SEGMENTS = gIndex('gso_segments');
const GI_FRAGMENTED = gIndex('tun_fragmented');
const GI_FRAGMENTS = gIndex('tun_fragments');
const GI_GSO_UNSUPPORTED = gIndex('gso_unsupported');
const GI_MTU_SMALL = gIndex('tun_mtu_too_small');
const GI_NO_ROOM = gIndex('tun_no_room');

/** GUE flags (include/net/gue.h): the private-flags field follows; in it, remote checksum offload. */
const GUE_FLAG_PRIV = 0x0001;
const GUE_PFLAG_REMCSUM = 0x80000000;
/** GRE C bit (RFC 2784 §2.1). */
const GRE_CSUM = 0x8000;
/** udp_flow_src_port(): the source port comes from the inner flow's hash, in ip_local_port_range (default 32768-60999). */
const SPORT_MIN = 32768;
const SPORT_SPAN = 60999 - 32768;

/** Checksum handling of one output frame (see `emit`). */
/** The inner L4 checksum stays partial (virtio NEEDS_CSUM at it); no tunnel checksum. */
const CS_INNER_PARTIAL = 0;
/** GUE remote checksum offload: the inner checksum stays partial for the receiver, the UDP checksum is partial at the outer UDP header. */
const CS_REMCSUM = 1;
/** Inner checksum complete; the GRE or UDP checksum partial at the outer header (virtio NEEDS_CSUM). */
const CS_OUTER_PARTIAL = 2;
/** No virtio header (or fragments): every checksum complete in the frame. */
const CS_FULL = 3;

export const tunXmit: XmitModule = {
  name: 'TUN',
  code: M_TUN,
  hashOut: false,
  noOutput: true,
  portMap: false,

  inbound(pl: Pipeline, _r: number, dest: CoreDest): number {
    return tunnelOut(pl, dest, false);
  },

  outbound(): number {
    return A_DROP;
  },

  icmp(pl: Pipeline, _r: number, dest: CoreDest, toReal: boolean): number {
    // ip_vs_icmp_xmit: for TUN the error is sent through the connection's transmitter unchanged.
    return toReal ? tunnelOut(pl, dest, true) : A_DROP;
  },
};

/** Bytes of the tunnel header after the outer IP header. */
function encapLen(d: CoreDest, remcsum: boolean): number {
  if (d.tunType === TUN_GRE) return d.tunCsum === TUN_CSUM ? 8 : 4;
  if (d.tunType === TUN_GUE) return remcsum ? 20 : 12;
  return 0;
}

/**
 * The TUN transmitter for the parsed packet (a client packet of a connection, or an ICMP
 * error about one when `isIcmp`) toward dest d. Returns a pipeline action.
 */
export function tunnelOut(pl: Pipeline, d: CoreDest, isIcmp: boolean): number {
  if (!pl.egressOk(d)) return A_DROP;
  const g = pl.stats.global;
  if (!d.tunSrcOk) {
    g[GI_NO_EGRESS]!++;
    return A_DROP;
  }
  const p = pl.p;
  const b = p.b;
  const dv = p.dv;
  const l3 = p.l3;
  const v4in = p.t.fam === 4;
  // The pipeline decremented the TTL already (decrement_ttl(), xmit/ttl.ts); the outer header copies it.
  let ttl: number;
  let tos: number;
  let df = false;
  if (v4in) {
    ttl = b[l3 + 8]!;
    tos = b[l3 + 1]!;
    df = (b[l3 + 6]! & 0x40) !== 0;
  } else {
    ttl = b[l3 + 7]!;
    tos = ((b[l3]! & 15) << 4) | (b[l3 + 1]! >>> 4);
  }
  // INET_ECN_encapsulate(): the outer ECN field copies the inner one, CE becomes ECT(0).
  const dsfield = (tos & 0xfc) | ((tos & 3) === 3 ? 2 : tos & 3);
  const vo = p.vnet;
  const needs = vo >= 0 && (b[vo]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0;
  const gso = vo >= 0 ? b[vo + 1]! & 0x7f : 0;
  const remcsum = d.tunType === TUN_GUE && d.tunCsum === TUN_REMCSUM && (needs || gso !== 0);
  const outer4 = d.fam === 4;
  const H = (outer4 ? 20 : 40) + encapLen(d, remcsum);
  const ifc = pl.ifaces[d.ifSlot]!;
  const mtu = ifc.mtu - H;
  if (mtu < (outer4 ? 68 : 1280)) {
    g[GI_MTU_SMALL]!++;
    return A_DROP;
  }
  if (gso !== 0) return segmentOut(pl, d, ifc, H, mtu, ttl, dsfield, df, remcsum);
  const innerLen = p.ipLen;
  if (innerLen > mtu) {
    // ensure_mtu_is_adequate(): never about an ICMP error; IPv6 is never fragmented on the way.
    if (!v4in) return isIcmp ? A_DROP : icmpFragNeeded(pl, pl.inIf, mtu);
    if (df && !isIcmp) return icmpFragNeeded(pl, pl.inIf, mtu);
    return fragmentOut(pl, d, ifc, H, ttl, dsfield);
  }
  // The inner packet's checksum: left partial where the tunnel allows it.
  let mode = CS_FULL;
  if (vo >= 0) {
    if (d.tunType === TUN_IPIP || d.tunCsum === TUN_NOCSUM) mode = needs ? CS_INNER_PARTIAL : CS_FULL;
    else if (remcsum) mode = CS_REMCSUM;
    else mode = CS_OUTER_PARTIAL;
  }
  if (needs && mode !== CS_INNER_PARTIAL && mode !== CS_REMCSUM) completeInner(pl);
  const l2s = vo >= 0 ? vo : p.frame;
  const l2Len = l3 - l2s;
  let start: number;
  const inPlace = pl.headroom >= H;
  if (inPlace) {
    // In place: the virtio and Ethernet headers move H bytes back, the outer headers go between.
    start = l2s - H;
    b.copyWithin(start, l2s, l3);
  } else {
    // No headroom (not the worker's layout): a copy in the segment area.
    start = pl.segStart;
    if (start + l2Len + H + innerLen > pl.segEnd) {
      g[GI_NO_ROOM]!++;
      return A_DROP;
    }
    b.copyWithin(start, l2s, l3);
    b.copyWithin(start + l2Len + H, l3, l3 + innerLen);
  }
  const csStart = needs ? p.frame + (b[vo + 6]! | (b[vo + 7]! << 8)) : 0;
  const csOff = needs ? b[vo + 8]! | (b[vo + 9]! << 8) : 0;
  emit(pl, d, ifc, start, l2Len, H, innerLen, v4in, ttl, dsfield, df, mode, csStart - l3, csOff, pl.tunId);
  if (outer4) pl.tunId = (pl.tunId + 1) & 0xffff;
  g[GI_FWD_IN]!++;
  if (!inPlace) {
    pl.outOffs[0] = start;
    pl.outLens[0] = l2Len + H + innerLen;
    return pl.outMulti(d.ifSlot, 1);
  }
  return pl.outScratch(d.ifSlot, start, l2Len + H + innerLen);
}

/**
 * Writes the headers of one output frame starting at `fo` (whose first l2Len bytes already
 * hold the received virtio and Ethernet headers, and whose inner packet of innerLen bytes sits
 * at fo + l2Len + H): MACs, ethertype, the virtio header, the outer IP header and the tunnel
 * header, with the checksums `mode` says. `csRel` is the inner checksum start relative to the
 * inner IP header, `csOff` its field offset (virtio csum_start / csum_offset).
 */
function emit(pl: Pipeline, d: CoreDest, ifc: IfaceRt, fo: number, l2Len: number, H: number, innerLen: number, v4in: boolean,
  ttl: number, dsfield: number, df: boolean, mode: number, csRel: number, csOff: number, id: number): void {
  const p = pl.p;
  const b = p.b;
  const dv = p.dv;
  const hasVnet = p.vnet >= 0;
  const eth = fo + (hasVnet ? 10 : 0);
  const oo = fo + l2Len;
  const outer4 = d.fam === 4;
  setMacs(b, eth, d.macHi, d.macLo, ifc.macHi, ifc.macLo);
  dv.setUint16(oo - 2, outer4 ? 0x0800 : 0x86dd);
  const eo = oo + (outer4 ? 20 : 40);
  const io = oo + H;
  const innerProto = v4in ? IPPROTO_IPIP : IPPROTO_IPV6;
  let proto = innerProto;
  // Tunnel header.
  let csStartAbs = -1;
  let csOffOut = 0;
  const type = d.tunType;
  if (type === TUN_GRE) {
    proto = IPPROTO_GRE;
    const withCsum = d.tunCsum === TUN_CSUM;
    dv.setUint16(eo, withCsum ? GRE_CSUM : 0);
    dv.setUint16(eo + 2, v4in ? 0x0800 : 0x86dd);
    if (withCsum) {
      dv.setUint32(eo + 4, 0);
      if (mode === CS_OUTER_PARTIAL) {
        csStartAbs = eo;
        csOffOut = 4;
      } else {
        dv.setUint16(eo + 4, checksum(b, eo, 8 + innerLen));
      }
    }
  } else if (type === TUN_GUE) {
    proto = IPPROTO_UDP;
    const udpLen = H - (outer4 ? 20 : 40) + innerLen;
    dv.setUint16(eo, gueSourcePort(p.t));
    dv.setUint16(eo + 2, d.tunPort);
    dv.setUint16(eo + 4, udpLen);
    dv.setUint16(eo + 6, 0);
    const rem = mode === CS_REMCSUM;
    b[eo + 8] = rem ? 2 : 0; // version 0, C 0, hlen in 32-bit words of options
    b[eo + 9] = innerProto;
    dv.setUint16(eo + 10, rem ? GUE_FLAG_PRIV : 0);
    if (rem) {
      // ipvs_gue_encap(): the private flags, then csum_start / csum_start + csum_offset from the inner packet.
      dv.setUint32(eo + 12, GUE_PFLAG_REMCSUM);
      dv.setUint16(eo + 16, csRel);
      dv.setUint16(eo + 18, csRel + csOff);
    }
    if (d.tunCsum !== TUN_NOCSUM) {
      const ps = outer4
        ? ((d.tunS0 >>> 16) + (d.tunS0 & 0xffff) + (d.w0 >>> 16) + (d.w0 & 0xffff) + IPPROTO_UDP + udpLen)
        : pseudoWords6(d, udpLen);
      if (mode === CS_OUTER_PARTIAL || mode === CS_REMCSUM) {
        dv.setUint16(eo + 6, fold16(ps));
        csStartAbs = eo;
        csOffOut = 6;
      } else {
        const c = checksum(b, eo, udpLen, ps);
        dv.setUint16(eo + 6, c === 0 ? 0xffff : c);
      }
    }
  }
  // Outer IP header.
  const tot = H + innerLen;
  if (outer4) {
    const fw = df ? 0x4000 : 0;
    b[oo] = 0x45;
    b[oo + 1] = dsfield;
    dv.setUint16(oo + 2, tot);
    dv.setUint16(oo + 4, id);
    dv.setUint16(oo + 6, fw);
    b[oo + 8] = ttl;
    b[oo + 9] = proto;
    dv.setInt32(oo + 12, d.tunS0 | 0);
    dv.setInt32(oo + 16, d.w0 | 0);
    const s = d.tunS0 | 0;
    const t = d.w0 | 0;
    const sum = ((0x45 << 8) | dsfield) + tot + id + fw + ((ttl << 8) | proto) + (s >>> 16) + (s & 0xffff) + (t >>> 16) + (t & 0xffff);
    dv.setUint16(oo + 10, ~fold16(sum) & 0xffff);
  } else {
    dv.setUint32(oo, (0x60000000 | (dsfield << 20)) >>> 0);
    dv.setUint16(oo + 4, tot - 40);
    b[oo + 6] = proto;
    b[oo + 7] = ttl;
    dv.setInt32(oo + 8, d.tunS0 | 0);
    dv.setInt32(oo + 12, d.tunS1 | 0);
    dv.setInt32(oo + 16, d.tunS2 | 0);
    dv.setInt32(oo + 20, d.tunS3 | 0);
    dv.setInt32(oo + 24, d.w0 | 0);
    dv.setInt32(oo + 28, d.w1 | 0);
    dv.setInt32(oo + 32, d.w2 | 0);
    dv.setInt32(oo + 36, d.w3 | 0);
  }
  if (!hasVnet) return;
  // virtio_net_hdr of the output: no GSO; NEEDS_CSUM where a checksum is left to the kernel.
  if (mode === CS_INNER_PARTIAL) {
    csStartAbs = io + csRel;
    csOffOut = csOff;
  }
  b[fo] = csStartAbs >= 0 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0;
  b[fo + 1] = 0;
  b[fo + 2] = 0; b[fo + 3] = 0;
  b[fo + 4] = 0; b[fo + 5] = 0;
  const rel = csStartAbs >= 0 ? csStartAbs - eth : 0;
  b[fo + 6] = rel & 255; b[fo + 7] = rel >>> 8;
  b[fo + 8] = csStartAbs >= 0 ? csOffOut : 0; b[fo + 9] = 0;
}

/** The IPv6 pseudo-header sum of the outer UDP header (RFC 8200 §8.1) from the dest's words. */
function pseudoWords6(d: CoreDest, len: number): number {
  return IPPROTO_UDP + len + halves(d.tunS0) + halves(d.tunS1) + halves(d.tunS2) + halves(d.tunS3) +
    halves(d.w0) + halves(d.w1) + halves(d.w2) + halves(d.w3);
}

/** Sum of the two 16-bit halves of a 32-bit word. */
function halves(w: number): number {
  const x = w | 0;
  return (x >>> 16) + (x & 0xffff);
}

/** GUE's UDP source port: a hash of the inner flow mapped into the local port range (udp_flow_src_port). */
function gueSourcePort(t: { s0: number; s1: number; s2: number; s3: number; d0: number; d1: number; d2: number; d3: number; sport: number; dport: number; proto: number }): number {
  let h = Math.imul(t.s0 ^ t.d0 ^ ((t.sport << 16) | t.dport), 0x9e3779b1);
  h = Math.imul(h ^ t.s1 ^ t.d1 ^ t.proto, 0x85ebca6b);
  h = Math.imul(h ^ t.s2 ^ t.d2 ^ t.s3 ^ t.d3, 0xc2b2ae35);
  h ^= h >>> 16;
  return SPORT_MIN + Math.floor(((h >>> 0) * SPORT_SPAN) / 4294967296);
}

/** Completes a partial (NEEDS_CSUM) checksum in place, as skb_checksum_help does. */
function completeInner(pl: Pipeline): void {
  const p = pl.p;
  const b = p.b;
  const vo = p.vnet;
  const start = p.frame + (b[vo + 6]! | (b[vo + 7]! << 8));
  const at = start + (b[vo + 8]! | (b[vo + 9]! << 8));
  const end = p.l3 + p.ipLen;
  if (start < p.l3 || at + 2 > end) return;
  const c = checksum(b, start, end - start);
  // UDP: a computed 0 is sent as 0xffff (RFC 768).
  p.dv.setUint16(at, c === 0 && p.t.proto === IPPROTO_UDP && start === p.l4 ? 0xffff : c);
  b[vo] = b[vo]! & ~VIRTIO_NET_HDR_F_NEEDS_CSUM;
}

/**
 * Software GSO for a tunnel: cuts the super-frame into gso_size segments (tcp_gso_segment,
 * __udp_gso_segment), each one a complete inner packet, encapsulated and written to the
 * segment area; returns A_TX_MULTI (or a drop, or an ICMP error when a segment would not fit).
 */
function segmentOut(pl: Pipeline, d: CoreDest, ifc: IfaceRt, H: number, mtu: number, ttl: number, dsfield: number, df: boolean, remcsum: boolean): number {
  const p = pl.p;
  const b = p.b;
  const dv = p.dv;
  const g = pl.stats.global;
  const vo = p.vnet;
  const l3 = p.l3;
  const l4 = p.l4;
  const v4in = p.t.fam === 4;
  const gsoType = b[vo + 1]! & 0x7f;
  const gsoSize = b[vo + 4]! | (b[vo + 5]! << 8);
  const tcp = p.t.proto === IPPROTO_TCP && gsoType === (v4in ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
  const udp = p.t.proto === IPPROTO_UDP && gsoType === VIRTIO_NET_HDR_GSO_UDP_L4;
  if ((!tcp && !udp) || gsoSize === 0) {
    g[GI_GSO_UNSUPPORTED]!++;
    return A_DROP;
  }
  const l4Hdr = tcp ? (b[l4 + 12]! >>> 4) << 2 : 8;
  const l3Hdr = l4 - l3;
  const hl = l3Hdr + l4Hdr;
  const payStart = l4 + l4Hdr;
  const payload = l3 + p.ipLen - payStart;
  const n = payload <= 0 ? 1 : Math.ceil(payload / gsoSize);
  if (hl + Math.min(gsoSize, Math.max(payload, 0)) > mtu) {
    // What a router does with a GSO packet whose segments exceed the MTU (ip_forward → ip_exceeds_mtu).
    if (!v4in || df) return icmpFragNeeded(pl, pl.inIf, mtu);
    g[GI_GSO_UNSUPPORTED]!++;
    return A_DROP;
  }
  const l2s = vo;
  const l2Len = l3 - l2s;
  const per = l2Len + H + hl;
  if (n > MAX_MULTI || pl.segStart + n * per + Math.max(payload, 0) > pl.segEnd) {
    g[GI_NO_ROOM]!++;
    return A_DROP;
  }
  // Segments carry a partial inner checksum where the tunnel has no checksum of its own (or
  // with GUE remote checksum offload); else it is computed here.
  const innerPartial = d.tunType === TUN_IPIP || d.tunCsum === TUN_NOCSUM || remcsum;
  const mode = remcsum ? CS_REMCSUM : innerPartial ? CS_INNER_PARTIAL : CS_OUTER_PARTIAL;
  const seq0 = dv.getUint32(l4 + 4);
  const flags0 = b[l4 + 13]!;
  const id0 = v4in ? dv.getUint16(l3 + 4) : 0;
  const csOff = tcp ? 16 : 6;
  let pos = pl.segStart;
  let id = pl.tunId;
  for (let i = 0; i < n; i++) {
    const from = payStart + i * gsoSize;
    const chunk = payload <= 0 ? 0 : Math.min(gsoSize, payload - i * gsoSize);
    const innerLen = hl + chunk;
    const fo = pos;
    const io = fo + l2Len + H;
    b.copyWithin(fo, l2s, l3);
    b.copyWithin(io, l3, payStart);
    if (chunk > 0) b.copyWithin(io + hl, from, from + chunk);
    // Inner IP header.
    if (v4in) {
      dv.setUint16(io + 2, innerLen);
      dv.setUint16(io + 4, (id0 + i) & 0xffff);
      dv.setUint16(io + 10, 0);
      dv.setUint16(io + 10, checksum(b, io, l3Hdr));
    } else {
      dv.setUint16(io + 4, innerLen - 40);
    }
    // Inner L4 header and its checksum.
    const lo = io + l3Hdr;
    const l4Len = l4Hdr + chunk;
    if (tcp) {
      dv.setUint32(lo + 4, (seq0 + i * gsoSize) >>> 0);
      let f = flags0;
      if (i < n - 1) f &= ~(TCP_FIN | TCP_PSH);
      if (i > 0) f &= ~TCP_CWR;
      b[lo + 13] = f;
    } else {
      dv.setUint16(lo + 4, l4Len);
    }
    const proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
    const ps = v4in ? sumBytes(b, io + 12, 8, proto + l4Len) : pseudoSum6(b, io + 8, proto, l4Len);
    dv.setUint16(lo + csOff, fold16(ps));
    if (!innerPartial) {
      const c = checksum(b, lo, l4Len);
      dv.setUint16(lo + csOff, c === 0 && udp ? 0xffff : c);
    }
    emit(pl, d, ifc, fo, l2Len, H, innerLen, v4in, ttl, dsfield, df, mode, l3Hdr, csOff, id);
    if (d.fam === 4) id = (id + 1) & 0xffff;
    pl.outOffs[i] = fo;
    pl.outLens[i] = l2Len + H + innerLen;
    pos += l2Len + H + innerLen;
  }
  pl.tunId = id;
  g[GI_GSO_SEGMENTED]!++;
  g[GI_GSO_SEGMENTS]! += n;
  g[GI_FWD_IN]!++;
  return pl.outMulti(d.ifSlot, n);
}

/**
 * An encapsulated packet larger than the egress MTU without DF (or an ICMP error): outer
 * fragments (RFC 791 §3.2 / RFC 8200 §4.5), as ip_fragment / ip6_fragment do with ignore_df.
 * Checksums are completed first: a partial one cannot span fragments (skb_checksum_help).
 */
function fragmentOut(pl: Pipeline, d: CoreDest, ifc: IfaceRt, H: number, ttl: number, dsfield: number): number {
  const p = pl.p;
  const b = p.b;
  const dv = p.dv;
  const g = pl.stats.global;
  const vo = p.vnet;
  if (vo >= 0 && (b[vo]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) completeInner(pl);
  const l3 = p.l3;
  const innerLen = p.ipLen;
  const v4in = p.t.fam === 4;
  const outer4 = d.fam === 4;
  const oip = outer4 ? 20 : 40;
  const E = H - oip;
  const total = E + innerLen;
  const chunk = Math.floor((ifc.mtu - oip - (outer4 ? 0 : 8)) / 8) * 8;
  const n = Math.ceil(total / chunk);
  const l2s = vo >= 0 ? vo : p.frame;
  const l2Len = l3 - l2s;
  const fh = outer4 ? 0 : 8;
  if (n > MAX_MULTI || pl.segStart + n * (l2Len + oip + fh) + total > pl.segEnd) {
    g[GI_NO_ROOM]!++;
    return A_DROP;
  }
  // The unfragmented packet is built once in the segment area (outer headers, tunnel header,
  // inner packet, all checksums complete), then cut: fragment k copies its share after its own headers.
  const whole = pl.segEnd - (l2Len + H + innerLen);
  if (whole < pl.segStart + n * (l2Len + oip + fh + chunk)) {
    g[GI_NO_ROOM]!++;
    return A_DROP;
  }
  b.copyWithin(whole, l2s, l3);
  b.copyWithin(whole + l2Len + H, l3, l3 + innerLen);
  const id = pl.tunId;
  pl.tunId = (id + 1) & 0xffff;
  emit(pl, d, ifc, whole, l2Len, H, innerLen, v4in, ttl, dsfield, false, CS_FULL, 0, 0, id);
  if (vo >= 0) b.fill(0, whole, whole + 10);
  const src = whole + l2Len + oip; // outer payload: tunnel header + inner packet
  const proto = b[whole + l2Len + (outer4 ? 9 : 6)]!;
  let pos = pl.segStart;
  const ident = (id << 16) | (pl.tunId ^ 0x5a5a);
  for (let k = 0; k < n; k++) {
    const off = k * chunk;
    const len = Math.min(chunk, total - off);
    const fo = pos;
    b.copyWithin(fo, whole, whole + l2Len + oip);
    const oo = fo + l2Len;
    b.copyWithin(oo + oip + fh, src + off, src + off + len);
    const more = k < n - 1 ? 1 : 0;
    if (outer4) {
      dv.setUint16(oo + 2, oip + len);
      dv.setUint16(oo + 6, (more ? 0x2000 : 0) | (off >>> 3));
      dv.setUint16(oo + 10, 0);
      dv.setUint16(oo + 10, checksum(b, oo, 20));
    } else {
      dv.setUint16(oo + 4, fh + len);
      b[oo + 6] = 44; // Fragment header (RFC 8200 §4.5)
      b[oo + 40] = proto;
      b[oo + 41] = 0;
      dv.setUint16(oo + 42, (off & ~7) | more);
      dv.setUint32(oo + 44, ident >>> 0);
    }
    pl.outOffs[k] = fo;
    pl.outLens[k] = l2Len + oip + fh + len;
    pos += l2Len + oip + fh + len;
  }
  g[GI_FRAGMENTED]!++;
  g[GI_FRAGMENTS]! += n;
  g[GI_FWD_IN]!++;
  return pl.outMulti(d.ifSlot, n);
}

const GI_TUN_ICMP = gIndex('tun_icmp_relayed');
const GI_ICMP_NO_CONN = gIndex('icmp_no_conn');
const GI_RATE_LIMITED = gIndex('icmp_rate_limited');

/**
 * ip_vs_in_icmp's tunnel case: an ICMP error a router sent (to the director's own address)
 * about one of our outer IPv4 packets — IP-in-IP, GRE or GUE to a TUN dest — quoting enough
 * of it to reach the client's packet inside. The error goes on to that connection's client,
 * from the VIP, about its own packet; "fragmentation needed" only when the client's packet
 * had DF (the client does path MTU discovery), with the tunnel's headers taken off the MTU
 * (`mtu -= sizeof(struct iphdr) + ulen`). `qi` is the quoted outer header, `end` the end of
 * the ICMP payload. Returns an action, or -1 when the error is not about a tunnel of ours (the
 * caller goes on as for any error).
 */
export function tunnelIcmp(pl: Pipeline, qi: number, ihl: number, end: number): number {
  const p = pl.p;
  const b = p.b;
  const dv = p.dv;
  if ((dv.getUint16(qi + 6) & 0x1fff) !== 0) return -1; // a later fragment has no tunnel header
  const proto = b[qi + 9]!;
  const qo = qi + ihl;
  const rip = dv.getInt32(qi + 16);
  let io: number;
  let d: CoreDest | null;
  if (proto === IPPROTO_IPIP) {
    d = pl.tunDestOf(4, TUN_IPIP, rip, 0, 0, 0, 0);
    io = qo;
  } else if (proto === IPPROTO_GRE) {
    if (qo + 4 > end || dv.getUint16(qo + 2) !== 0x0800) return -1;
    d = pl.tunDestOf(4, TUN_GRE, rip, 0, 0, 0, 0);
    io = qo + ((b[qo]! & 0x80) !== 0 ? 8 : 4);
  } else {
    if (qo + 12 > end || b[qo + 9] !== IPPROTO_IPIP) return -1;
    d = pl.tunDestOf(4, TUN_GUE, rip, 0, 0, 0, dv.getUint16(qo + 2));
    io = qo + 12 + ((b[qo + 8]! & 31) << 2);
  }
  if (!d) return -1;
  // The client's packet inside (IPv4, as the kernel handles: cih->version == 4).
  if (io + 28 > end || b[io]! >> 4 !== 4) return -1;
  const ihl2 = (b[io]! & 15) << 2;
  const l4 = io + ihl2;
  const ip = b[io + 9]!;
  if (ihl2 < 20 || l4 + 4 > end || (ip !== IPPROTO_TCP && ip !== IPPROTO_UDP)) return -1;
  const t = pl.tunTuple;
  t.fam = 4; t.proto = ip;
  t.s0 = dv.getUint32(io + 12); t.s1 = 0; t.s2 = 0; t.s3 = 0;
  t.d0 = dv.getUint32(io + 16); t.d1 = 0; t.d2 = 0; t.d3 = 0;
  t.sport = dv.getUint16(l4);
  t.dport = dv.getUint16(l4 + 2);
  const g = pl.stats.global;
  const rk = pl.conns.lookup(t);
  if (rk < 0 || (rk & 1) !== KEY_IN) {
    g[GI_ICMP_NO_CONN]!++;
    return A_IGNORE;
  }
  const r = rk >>> 1;
  const e = pl.conns.e;
  const o = r * STRIDE;
  if (((e[o + FLAGS]! & F_METHOD_MASK) >>> F_METHOD_SHIFT) !== M_TUN) return -1;
  const type = p.icmpType;
  const code = p.icmpCode;
  let info = dv.getUint32(p.l4 + 4);
  if (type === 3 && code === 4) {
    // "Client uses PMTUD?"
    if ((b[io + 6]! & 0x40) === 0) return A_IGNORE;
    let mtu = dv.getUint16(p.l4 + 6);
    const ulen = io - qo;
    if (mtu > 68 + 20 + ulen) mtu -= 20 + ulen;
    info = mtu;
  }
  if (!pl.icmpAllowed()) {
    g[GI_RATE_LIMITED]!++;
    return A_DROP;
  }
  const at = pl.allocScratch();
  if (at < 0) return A_DROP;
  // To the client: the MAC its frames came from, out of the interface they came in on.
  const ifSlot = (e[o + FLAGS]! >>> 16) & 255;
  const ifc = pl.ifaces[ifSlot]!;
  let f = at;
  if (ifc.vnet) {
    b.fill(0, f, f + 10);
    f += 10;
  }
  setMacs(b, f, e[o + MAC_HI]!, e[o + MAC_LO]!, ifc.macHi, ifc.macLo);
  dv.setUint16(f + 12, 0x0800);
  const o3 = f + 14;
  const o4 = o3 + 20;
  const quote = Math.min(end - io, 576 - 28);
  b.copyWithin(o4 + 8, io, io + quote);
  const icmpLen = 8 + quote;
  b[o3] = 0x45; b[o3 + 1] = 0;
  dv.setUint16(o3 + 2, 20 + icmpLen);
  dv.setUint32(o3 + 4, 0x00004000); // id 0, DF
  b[o3 + 8] = 64; b[o3 + 9] = 1;
  dv.setUint16(o3 + 10, 0);
  dv.setInt32(o3 + 12, e[o + V0]! | 0);
  dv.setInt32(o3 + 16, e[o + C0]! | 0);
  dv.setUint16(o3 + 10, checksum(b, o3, 20));
  b[o4] = type; b[o4 + 1] = code;
  dv.setUint16(o4 + 2, 0);
  dv.setUint32(o4 + 4, info >>> 0);
  dv.setUint16(o4 + 2, checksum(b, o4, icmpLen));
  g[GI_TUN_ICMP]!++;
  return pl.outScratch(ifSlot, at, o4 + icmpLen - at);
}
