/**
 * Packet views over the receive buffer: one reusable PacketView is filled by `parseFrame()`
 * from a frame in place (no copy, no allocation) and read by the pipeline. Addresses are
 * held as four 32-bit words so IPv4 (word 0, others 0) and IPv6 share one tuple shape and
 * one connection table.
 *
 * What a bad frame becomes is decided per reason (docs/forwarding.md "Bad packets"): the
 * parser only reports the reason; the pipeline counts it and drops the frame when it was
 * addressed to something the core owns, and otherwise leaves it to the kernel (the
 * AF_PACKET tap sees a copy; "pass" means "do nothing").
 */

export const ETH_HLEN = 14;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_IPV6 = 0x86dd;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
/** IP-in-IP (RFC 2003), IPv6-in-IP (RFC 2473 / RFC 4213), GRE (RFC 2784): TUN's outer protocols. */
export const IPPROTO_IPIP = 4;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_GRE = 47;

/** virtio_net_hdr (PACKET_VNET_HDR): 10 bytes before the Ethernet header, little-endian. */
export const VNET_HDR_LEN = 10;
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
/** virtio_net_hdr gso_type (linux/virtio_net.h): none, TCPv4, UDP (UFO), TCPv6, UDP L4 (USO), ECN bit. */
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/** TCP flag bits (RFC 9293 §3.1). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_CWR = 0x80;

/**
 * Parse outcome: what kind of frame it is, or why it is bad. Index into PARSE_REASONS.
 * From P_BAD_IHL to P_IPV6_EXT_UNSAFE the tuple's addresses are valid.
 */
export const P_OK_IP = 0;
export const P_OK_ARP = 1;
export const P_OTHER_ETHERTYPE = 2;
export const P_TRUNC_L2 = 3;
export const P_TRUNC_L3 = 4;
export const P_BAD_VERSION = 5;
export const P_BAD_IHL = 6;
export const P_BAD_TOTAL_LEN = 7;
export const P_FRAGMENT = 8;
export const P_TRUNC_L4 = 9;
export const P_BAD_TCP_DOFF = 10;
export const P_UNKNOWN_PROTO = 11;
export const P_IPV6_EXT_UNSAFE = 12;
export const P_BAD_ARP = 13;

/** Reason names, indexed by the P_* codes (stable: they appear in counters and docs). */
export const PARSE_REASONS = [
  'ok_ip', 'ok_arp', 'other_ethertype', 'truncated_l2', 'truncated_l3', 'bad_ip_version', 'bad_ihl',
  'bad_total_length', 'fragment', 'truncated_l4', 'bad_tcp_doff', 'unknown_protocol', 'ipv6_ext_unsafe', 'bad_arp',
] as const;

/**
 * A flow tuple: family, protocol, source and destination as four words each, ports.
 * The connection table hashes and compares exactly these fields.
 */
export class Tuple {
  /** 4 or 6. */
  fam = 4;
  proto = 0;
  s0 = 0; s1 = 0; s2 = 0; s3 = 0;
  d0 = 0; d1 = 0; d2 = 0; d3 = 0;
  sport = 0;
  dport = 0;
}

/** A parsed frame. Offsets are absolute indexes into `b`. */
export class PacketView {
  b: Uint8Array = new Uint8Array(0);
  dv: DataView = new DataView(new ArrayBuffer(0));
  /** Offset of the virtio_net_hdr, or -1 when the socket has none. */
  vnet = -1;
  /** Offset of the Ethernet header. */
  frame = 0;
  /** Bytes from `frame` to the end of the frame. */
  len = 0;
  /** Outer VLAN TCI, or -1. Tags stay in place when a frame is rewritten. */
  vlanTci = -1;
  ethType = 0;
  /** Offset of the L3 header (IP or ARP). */
  l3 = 0;
  /** IP header length in bytes (IPv4 IHL*4, IPv6 40 + extension headers skipped). */
  l3HdrLen = 0;
  /** IP packet length: IPv4 total length, IPv6 40 + payload length (what the stats count). */
  ipLen = 0;
  /** Offset of the L4 header. */
  l4 = 0;
  /** L4 length (header + payload) per the IP header. */
  l4Len = 0;
  /** TCP flags, 0 for others. */
  tcpFlags = 0;
  /** ICMP/ICMPv6 type and code, -1 for others. */
  icmpType = -1;
  icmpCode = -1;
  /** L4 checksum is partial (virtio NEEDS_CSUM with csum_start at the L4 header). */
  csumPartial = false;
  /** The flow tuple of this packet as it arrived. */
  readonly t = new Tuple();

  /** Points the view at a buffer (once per receive buffer, not per frame). */
  attach(b: Uint8Array): void {
    if (this.b !== b) {
      this.b = b;
      this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
  }
}

/** Reads a big-endian u16. */
function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/**
 * Parses the frame at `frame` (length `len`) of the view's buffer; `vnet` is the offset of
 * its virtio_net_hdr or -1. Returns a P_* code; fields are valid up to what was parsed.
 */
export function parseFrame(p: PacketView, frame: number, len: number, vnet: number): number {
  const b = p.b;
  p.frame = frame;
  p.len = len;
  p.vnet = vnet;
  p.vlanTci = -1;
  p.tcpFlags = 0;
  p.icmpType = -1;
  p.icmpCode = -1;
  p.csumPartial = false;
  if (len < ETH_HLEN) return P_TRUNC_L2;
  const end = frame + len;
  let o = frame + 12;
  let et = u16(b, o);
  // 802.1ad / 802.1Q: up to two tags.
  if (et === ETH_P_8021AD || et === ETH_P_8021Q) {
    if (o + 6 > end) return P_TRUNC_L2;
    p.vlanTci = u16(b, o + 2) & 0x0fff;
    o += 4;
    et = u16(b, o);
    if (et === ETH_P_8021Q) {
      if (o + 6 > end) return P_TRUNC_L2;
      o += 4;
      et = u16(b, o);
    }
  }
  p.ethType = et;
  const l3 = o + 2;
  p.l3 = l3;
  if (et === ETH_P_IP) return parseIPv4(p, b, l3, end);
  if (et === ETH_P_IPV6) return parseIPv6(p, b, l3, end);
  if (et === ETH_P_ARP) {
    // RFC 826 for Ethernet/IPv4: htype 1, ptype 0x0800, hlen 6, plen 4.
    if (l3 + 28 > end) return P_BAD_ARP;
    if (u16(b, l3) !== 1 || u16(b, l3 + 2) !== ETH_P_IP || b[l3 + 4] !== 6 || b[l3 + 5] !== 4) return P_BAD_ARP;
    return P_OK_ARP;
  }
  return P_OTHER_ETHERTYPE;
}

function parseIPv4(p: PacketView, b: Uint8Array, l3: number, end: number): number {
  if (l3 + 20 > end) return P_TRUNC_L3;
  const vihl = b[l3]!;
  if (vihl >> 4 !== 4) return P_BAD_VERSION;
  // Addresses first: the pipeline decides what a bad packet becomes by its destination.
  const t = p.t;
  const dv = p.dv;
  t.fam = 4;
  t.s0 = dv.getUint32(l3 + 12);
  t.d0 = dv.getUint32(l3 + 16);
  t.s1 = 0; t.s2 = 0; t.s3 = 0;
  t.d1 = 0; t.d2 = 0; t.d3 = 0;
  t.sport = 0;
  t.dport = 0;
  const proto = b[l3 + 9]!;
  t.proto = proto;
  const hl = (vihl & 15) << 2;
  if (hl < 20) return P_BAD_IHL;
  const tot = u16(b, l3 + 2);
  if (hl > tot) return P_BAD_IHL;
  if (l3 + tot > end) return P_BAD_TOTAL_LEN;
  p.l3HdrLen = hl;
  p.ipLen = tot;
  p.l4 = l3 + hl;
  p.l4Len = tot - hl;
  // MF set or a non-zero fragment offset (RFC 791 §3.1); DF alone is fine.
  if ((u16(b, l3 + 6) & 0x3fff) !== 0) return P_FRAGMENT;
  return parseL4(p, b, proto);
}

function parseIPv6(p: PacketView, b: Uint8Array, l3: number, end: number): number {
  if (l3 + 40 > end) return P_TRUNC_L3;
  if (b[l3]! >> 4 !== 6) return P_BAD_VERSION;
  const t = p.t;
  const dv = p.dv;
  t.fam = 6;
  t.s0 = dv.getUint32(l3 + 8); t.s1 = dv.getUint32(l3 + 12); t.s2 = dv.getUint32(l3 + 16); t.s3 = dv.getUint32(l3 + 20);
  t.d0 = dv.getUint32(l3 + 24); t.d1 = dv.getUint32(l3 + 28); t.d2 = dv.getUint32(l3 + 32); t.d3 = dv.getUint32(l3 + 36);
  t.sport = 0;
  t.dport = 0;
  t.proto = b[l3 + 6]!;
  const plen = u16(b, l3 + 4);
  if (l3 + 40 + plen > end) return P_BAD_TOTAL_LEN;
  p.ipLen = 40 + plen;
  let nh = b[l3 + 6]!;
  let o = l3 + 40;
  const ipEnd = l3 + 40 + plen;
  // RFC 8200 §4: skip Hop-by-Hop and Destination Options, a Routing header with nothing
  // left to route (segments left 0); a Fragment header is a fragment; anything else that
  // is not an upper layer is not safe to forward blindly.
  for (let n = 0; n < 8; n++) {
    if (nh === 0 || nh === 60 || nh === 43) {
      if (o + 8 > ipEnd) return P_TRUNC_L3;
      if (nh === 43 && b[o + 3] !== 0) return P_IPV6_EXT_UNSAFE;
      const next = b[o]!;
      o += (b[o + 1]! + 1) << 3;
      nh = next;
      continue;
    }
    if (nh === 44) return P_FRAGMENT;
    break;
  }
  if (nh === 0 || nh === 60 || nh === 43 || nh === 51) {
    t.proto = nh;
    return P_IPV6_EXT_UNSAFE;
  }
  if (o > ipEnd) return P_TRUNC_L3;
  t.proto = nh;
  p.l3HdrLen = o - l3;
  p.l4 = o;
  p.l4Len = ipEnd - o;
  return parseL4(p, b, nh);
}

function parseL4(p: PacketView, b: Uint8Array, proto: number): number {
  const l4 = p.l4;
  const l4Len = p.l4Len;
  const t = p.t;
  if (proto === IPPROTO_TCP) {
    if (l4Len < 20) return P_TRUNC_L4;
    const doff = (b[l4 + 12]! >> 4) << 2;
    if (doff < 20 || doff > l4Len) return P_BAD_TCP_DOFF;
    t.sport = u16(b, l4);
    t.dport = u16(b, l4 + 2);
    p.tcpFlags = b[l4 + 13]!;
  } else if (proto === IPPROTO_UDP) {
    if (l4Len < 8) return P_TRUNC_L4;
    t.sport = u16(b, l4);
    t.dport = u16(b, l4 + 2);
  } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
    if (l4Len < 8) return P_TRUNC_L4;
    p.icmpType = b[l4]!;
    p.icmpCode = b[l4 + 1]!;
  } else {
    return P_UNKNOWN_PROTO;
  }
  const vn = p.vnet;
  if (vn >= 0 && (b[vn]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) {
    // csum_start is relative to the Ethernet header (virtio 1.x §5.1.6.2).
    const start = b[vn + 6]! | (b[vn + 7]! << 8);
    p.csumPartial = p.frame + start === l4;
  }
  return P_OK_IP;
}
