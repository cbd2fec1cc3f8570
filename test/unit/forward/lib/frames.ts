/**
 * A naive frame builder and verifier for forwarding tests: builds Ethernet/IPv4/IPv6/TCP/UDP/
 * ICMP/ARP frames with checksums computed from scratch, and recomputes checksums of a frame
 * to verify what the core produced. Deliberately simple and slow: it is the oracle.
 */
import { parseIPv4, parseIPv6 } from '../../../../src/lib/ip.js';
import { parseMac } from '../../../../src/lib/mac.js';

export function mac(s: string): number[] {
  const m = parseMac(s);
  if (!m) throw new Error(`bad mac ${s}`);
  return [...m];
}

function addrBytes(a: string): number[] {
  const v4 = parseIPv4(a);
  if (v4 !== null) return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255];
  const v6 = parseIPv6(a);
  if (!v6) throw new Error(`bad address ${a}`);
  return [...v6];
}

function sum16(bytes: number[], initial = 0): number {
  let s = initial;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** Naive RFC 1071 checksum of bytes (with an initial pseudo-header sum). */
export function naiveChecksum(bytes: number[], initial = 0): number {
  return ~sum16(bytes, initial) & 0xffff;
}

function be16(v: number): number[] {
  return [(v >>> 8) & 255, v & 255];
}
function be32(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

export interface L4Spec {
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | number;
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  /** TCP flags as letters: S A F R P. */
  flags?: string;
  /** TCP window (default 65535). */
  window?: number;
  payload?: number[];
  /** ICMP type/code and the 4 bytes after the checksum (id/seq, or unused/mtu). */
  type?: number;
  code?: number;
  rest?: number[];
  /** Leave the L4 checksum as the partial pseudo-header sum (CHECKSUM_PARTIAL). */
  partial?: boolean;
  /** Corrupt: UDP checksum 0 (none). */
  udpNoCsum?: boolean;
}

export interface FrameSpec {
  dstMac: string;
  srcMac: string;
  vlan?: number;
  src: string;
  dst: string;
  ttl?: number;
  id?: number;
  /** IPv4 TOS / IPv6 traffic class. */
  tos?: number;
  /** IPv4 DF (default set). */
  df?: boolean;
  l4: L4Spec;
  /** Prepend a virtio_net_hdr (10 bytes); NEEDS_CSUM set when l4.partial. */
  vnet?: boolean;
  gsoSize?: number;
  /** virtio gso_type (default TCPV4 / TCPV6 by family when gsoSize is given). */
  gsoType?: number;
}

const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

function flagsByte(f = ''): number {
  let v = 0;
  for (const c of f) v |= ({ F: 1, S: 2, R: 4, P: 8, A: 16 } as Record<string, number>)[c] ?? 0;
  return v;
}

/** Builds the L4 bytes with a correct (or partial) checksum for the given pseudo-header. */
function buildL4(l4: L4Spec, src: number[], dst: number[], v6: boolean): { bytes: number[]; csumOff: number } {
  const proto = typeof l4.proto === 'number' ? l4.proto : PROTO[l4.proto]!;
  const payload = l4.payload ?? [];
  let hdr: number[];
  let csumOff: number;
  if (proto === 6) {
    hdr = [...be16(l4.sport ?? 0), ...be16(l4.dport ?? 0), ...be32(l4.seq ?? 0), ...be32(l4.ack ?? 0), 0x50, flagsByte(l4.flags), ...be16(l4.window ?? 65535), 0, 0, 0, 0];
    csumOff = 16;
  } else if (proto === 17) {
    hdr = [...be16(l4.sport ?? 0), ...be16(l4.dport ?? 0), ...be16(8 + payload.length), 0, 0];
    csumOff = 6;
  } else if (proto === 1 || proto === 58) {
    hdr = [l4.type ?? 8, l4.code ?? 0, 0, 0, ...(l4.rest ?? [0, 0, 0, 0])];
    csumOff = 2;
  } else {
    hdr = [];
    csumOff = -1;
  }
  const bytes = [...hdr, ...payload];
  if (csumOff < 0) return { bytes, csumOff };
  const len = bytes.length;
  let pseudo = 0;
  if (proto !== 1) {
    pseudo = sum16([...src, ...dst]) + proto + (len >>> 16) + (len & 0xffff);
  }
  if (l4.partial) {
    let p = pseudo;
    while (p > 0xffff) p = (p & 0xffff) + (p >>> 16);
    bytes[csumOff] = p >>> 8;
    bytes[csumOff + 1] = p & 255;
  } else if (!(proto === 17 && l4.udpNoCsum)) {
    let c = naiveChecksum(bytes, pseudo);
    if (proto === 17 && c === 0) c = 0xffff;
    bytes[csumOff] = c >>> 8;
    bytes[csumOff + 1] = c & 255;
  }
  void v6;
  return { bytes, csumOff };
}

/** Builds an IP packet (no L2). */
export function ipPacket(s: Omit<FrameSpec, 'dstMac' | 'srcMac'>): number[] {
  const src = addrBytes(s.src);
  const dst = addrBytes(s.dst);
  const v6 = src.length === 16;
  const proto = typeof s.l4.proto === 'number' ? s.l4.proto : PROTO[s.l4.proto]!;
  const { bytes: l4 } = buildL4(s.l4, src, dst, v6);
  if (v6) {
    const tc = s.tos ?? 0;
    return [0x60 | (tc >> 4), (tc & 15) << 4, 0, 0, ...be16(l4.length), proto, s.ttl ?? 64, ...src, ...dst, ...l4];
  }
  const hdr = [0x45, s.tos ?? 0, ...be16(20 + l4.length), ...be16(s.id ?? 0x1234), s.df === false ? 0 : 0x40, 0, s.ttl ?? 64, proto, 0, 0, ...src, ...dst];
  const c = naiveChecksum(hdr);
  hdr[10] = c >>> 8;
  hdr[11] = c & 255;
  return [...hdr, ...l4];
}

/** Builds a full frame (with optional vnet header). */
export function frame(s: FrameSpec): number[] {
  const v6 = addrBytes(s.src).length === 16;
  const l2 = [...mac(s.dstMac), ...mac(s.srcMac)];
  if (s.vlan !== undefined) l2.push(0x81, 0x00, ...be16(s.vlan));
  l2.push(...be16(v6 ? 0x86dd : 0x0800));
  const ip = ipPacket(s);
  const out = [...l2, ...ip];
  if (s.vnet) {
    const l4Start = l2.length + (v6 ? 40 : 20);
    const proto = typeof s.l4.proto === 'number' ? s.l4.proto : PROTO[s.l4.proto]!;
    const csumOffset = proto === 6 ? 16 : proto === 17 ? 6 : 2;
    const needs = s.l4.partial ? 1 : 0;
    const gso = s.gsoSize ? (s.gsoType ?? (v6 ? 4 : 1)) : 0;
    const hdrLen = l4Start + (proto === 6 ? 20 : 8);
    const vh = [needs, gso, hdrLen & 255, hdrLen >> 8, (s.gsoSize ?? 0) & 255, (s.gsoSize ?? 0) >> 8,
      needs ? l4Start & 255 : 0, needs ? l4Start >> 8 : 0, needs ? csumOffset : 0, 0];
    return [...vh, ...out];
  }
  return out;
}

/** An ARP frame (RFC 826). op 1 request, 2 reply. */
export function arpFrame(o: { dstMac: string; srcMac: string; op: 1 | 2; sha: string; spa: string; tha: string; tpa: string }): number[] {
  return [...mac(o.dstMac), ...mac(o.srcMac), 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, o.op,
    ...mac(o.sha), ...addrBytes(o.spa), ...mac(o.tha), ...addrBytes(o.tpa)];
}

export function hex(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

export function unhex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Verifies every checksum of an Ethernet frame (IPv4 header, TCP/UDP/ICMP/ICMPv6) from
 * scratch; returns a list of problems (empty = all good). A partial L4 checksum (vnet
 * NEEDS_CSUM) is checked as the uncomplemented pseudo-header sum.
 */
export function verifyFrame(f: Uint8Array, vnet = false): string[] {
  const problems: string[] = [];
  let base = 0;
  let partial = false;
  if (vnet) {
    partial = (f[0]! & 1) === 1;
    base = 10;
  }
  let o = base + 12;
  let et = (f[o]! << 8) | f[o + 1]!;
  if (et === 0x8100) { o += 4; et = (f[o]! << 8) | f[o + 1]!; }
  const l3 = o + 2;
  const arr = [...f];
  let proto: number;
  let l4: number;
  let l4Len: number;
  let pseudo = 0;
  if (et === 0x0800) {
    const hl = (f[l3]! & 15) * 4;
    const tot = (f[l3 + 2]! << 8) | f[l3 + 3]!;
    if (naiveChecksum(arr.slice(l3, l3 + hl)) !== 0) problems.push('ipv4 header checksum');
    proto = f[l3 + 9]!;
    l4 = l3 + hl;
    l4Len = tot - hl;
    if (proto !== 1) pseudo = sum16(arr.slice(l3 + 12, l3 + 20)) + proto + l4Len;
  } else if (et === 0x86dd) {
    proto = f[l3 + 6]!;
    l4 = l3 + 40;
    l4Len = (f[l3 + 4]! << 8) | f[l3 + 5]!;
    pseudo = sum16(arr.slice(l3 + 8, l3 + 40)) + proto + l4Len;
  } else {
    return problems;
  }
  const seg = arr.slice(l4, l4 + l4Len);
  if (proto === 6 || proto === 17 || proto === 1 || proto === 58) {
    const co = proto === 6 ? 16 : proto === 17 ? 6 : 2;
    if (proto === 17 && seg[co] === 0 && seg[co + 1] === 0 && et === 0x0800) return problems;
    if (partial) {
      let p = pseudo;
      while (p > 0xffff) p = (p & 0xffff) + (p >>> 16);
      const field = (seg[co]! << 8) | seg[co + 1]!;
      // 0 and 0xffff are the same one's complement value.
      if (field !== p && !((field === 0 || field === 0xffff) && (p === 0 || p === 0xffff))) {
        problems.push(`partial l4 pseudo sum ${field.toString(16)} != ${p.toString(16)}`);
      }
    } else if (naiveChecksum(seg, pseudo) !== 0) {
      problems.push(`l4 checksum (proto ${proto})`);
    }
  }
  return problems;
}

/** A tunnel header for {@link encapFrame}. */
export interface TunnelSpec {
  type: 'ipip' | 'gre' | 'gue';
  /** GRE C bit / GUE UDP checksum. */
  csum?: boolean;
  /** GUE destination port. */
  port?: number;
  /** GUE source port. */
  sport?: number;
  /** GUE remote checksum offload option: start and offset relative to the inner packet. */
  remcsum?: { start: number; offset: number };
  /** The GRE/UDP checksum field left as the uncomplemented pseudo-header sum (virtio NEEDS_CSUM at it). */
  outerPartial?: boolean;
}

/** An encapsulated frame (outer IPv4 or IPv6, a tunnel header, the inner IP packet as given). */
export interface EncapSpec {
  dstMac: string;
  srcMac: string;
  outerSrc: string;
  outerDst: string;
  ttl: number;
  tos?: number;
  df?: boolean;
  id?: number;
  /** IPv4 fragment: MF and offset (bytes). */
  frag?: { more: boolean; offset: number };
  tunnel?: TunnelSpec;
  inner: number[];
  /** A virtio header: NEEDS_CSUM with csum_start (from the Ethernet header) and csum_offset, or none of it. */
  vnet?: { needs: boolean; csumStart: number; csumOffset: number };
}

/** The outer IP payload of an encapsulation (tunnel header + inner packet) and its protocol. */
export function tunnelPayload(t: TunnelSpec | undefined, inner: number[], outerSrc: number[], outerDst: number[]): { proto: number; bytes: number[] } {
  const innerV4 = inner[0]! >> 4 === 4;
  if (!t || t.type === 'ipip') return { proto: innerV4 ? 4 : 41, bytes: inner };
  if (t.type === 'gre') {
    const h = [t.csum ? 0x80 : 0, 0, ...be16(innerV4 ? 0x0800 : 0x86dd)];
    if (t.csum) h.push(0, 0, 0, 0);
    const bytes = [...h, ...inner];
    if (t.csum) {
      const c = t.outerPartial ? 0 : naiveChecksum(bytes);
      bytes[4] = c >>> 8;
      bytes[5] = c & 255;
    }
    return { proto: 47, bytes };
  }
  const opt = t.remcsum ? [0x80, 0, 0, 0, ...be16(t.remcsum.start), ...be16(t.remcsum.start + t.remcsum.offset)] : [];
  const gue = [opt.length >> 2, innerV4 ? 4 : 41, 0, t.remcsum ? 1 : 0, ...opt];
  const len = 8 + gue.length + inner.length;
  const bytes = [...be16(t.sport ?? 0), ...be16(t.port ?? 0), ...be16(len), 0, 0, ...gue, ...inner];
  if (t.csum) {
    const pseudo = sum16([...outerSrc, ...outerDst]) + 17 + (len >>> 16) + (len & 0xffff);
    let c: number;
    if (t.outerPartial) {
      c = pseudo;
      while (c > 0xffff) c = (c & 0xffff) + (c >>> 16);
    } else {
      c = naiveChecksum(bytes, pseudo);
      if (c === 0) c = 0xffff;
    }
    bytes[6] = c >>> 8;
    bytes[7] = c & 255;
  }
  return { proto: 17, bytes };
}

/** Builds an encapsulated frame from scratch (the oracle for TUN). */
export function encapFrame(s: EncapSpec): number[] {
  const os = addrBytes(s.outerSrc);
  const od = addrBytes(s.outerDst);
  const v6 = os.length === 16;
  const { proto, bytes } = tunnelPayload(s.tunnel, s.inner, os, od);
  const tos = s.tos ?? 0;
  let ip: number[];
  if (v6) {
    ip = [0x60 | (tos >> 4), (tos & 15) << 4, 0, 0, ...be16(bytes.length), proto, s.ttl, ...os, ...od, ...bytes];
  } else {
    const fw = (s.df ? 0x4000 : 0) | (s.frag?.more ? 0x2000 : 0) | ((s.frag?.offset ?? 0) >> 3);
    const hdr = [0x45, tos, ...be16(20 + bytes.length), ...be16(s.id ?? 0), ...be16(fw), s.ttl, proto, 0, 0, ...os, ...od];
    const c = naiveChecksum(hdr);
    hdr[10] = c >>> 8;
    hdr[11] = c & 255;
    ip = [...hdr, ...bytes];
  }
  const l2 = [...mac(s.dstMac), ...mac(s.srcMac), ...be16(v6 ? 0x86dd : 0x0800)];
  const out = [...l2, ...ip];
  if (s.vnet) {
    const v = s.vnet;
    return [v.needs ? 1 : 0, 0, 0, 0, 0, 0, v.needs ? v.csumStart & 255 : 0, v.needs ? v.csumStart >> 8 : 0, v.needs ? v.csumOffset : 0, 0, ...out];
  }
  return out;
}

/**
 * Completes a virtio NEEDS_CSUM checksum of a frame as the kernel would on transmit
 * (skb_checksum_help: the one's complement sum from csum_start to the end, folded,
 * complemented, stored at csum_start + csum_offset) and returns the frame without its virtio
 * header; a frame without NEEDS_CSUM is returned as is (minus the header).
 */
export function completeVnet(f: Uint8Array): Uint8Array {
  const out = f.slice(10);
  if ((f[0]! & 1) === 0) return out;
  const start = f[6]! | (f[7]! << 8);
  const off = f[8]! | (f[9]! << 8);
  const arr = [...out];
  arr[start + off] = 0; arr[start + off + 1] = 0;
  // The field's pseudo-header sum is part of what is summed: put it back before summing.
  const field = (out[start + off]! << 8) | out[start + off + 1]!;
  let c = naiveChecksum(arr.slice(start), field);
  // UDP: 0 is sent as 0xffff (CSUM_MANGLED_0).
  if (c === 0) c = 0xffff;
  out[start + off] = c >>> 8;
  out[start + off + 1] = c & 255;
  return out;
}

/**
 * Verifies every checksum of an IP packet from scratch, through any tunnel: the IPv4 header,
 * IP-in-IP / IPv6-in-IP inner packets, GRE (its checksum when C is set), GUE (UDP to `guePort`:
 * the UDP checksum when not 0, then the remote-checksum-offload option, completed as a GUE
 * receiver does, gue_remcsum), TCP, UDP, ICMP and ICMPv6. Returns the problems found.
 */
export function verifyIpDeep(ip: number[], guePort = -1, where = 'outer'): string[] {
  const problems: string[] = [];
  const v4 = ip[0]! >> 4 === 4;
  let proto: number;
  let off: number;
  let len: number;
  let pseudoAddr: number[];
  if (v4) {
    const hl = (ip[0]! & 15) * 4;
    if (naiveChecksum(ip.slice(0, hl)) !== 0) problems.push(`${where}: ipv4 header checksum`);
    const tot = (ip[2]! << 8) | ip[3]!;
    if (tot !== ip.length) problems.push(`${where}: ipv4 total length ${tot} != ${ip.length}`);
    if (((ip[6]! << 8) | ip[7]!) & 0x3fff) return problems; // a fragment: its payload is checked after reassembly
    proto = ip[9]!;
    off = hl;
    len = tot - hl;
    pseudoAddr = ip.slice(12, 20);
  } else {
    const plen = (ip[4]! << 8) | ip[5]!;
    if (plen + 40 !== ip.length) problems.push(`${where}: ipv6 payload length ${plen} != ${ip.length - 40}`);
    proto = ip[6]!;
    off = 40;
    len = plen;
    pseudoAddr = ip.slice(8, 40);
  }
  const seg = ip.slice(off, off + len);
  const pseudo = sum16(pseudoAddr) + proto + (len >>> 16) + (len & 0xffff);
  if (proto === 4 || proto === 41) return [...problems, ...verifyIpDeep(seg, guePort, `${where}/inner`)];
  if (proto === 47) {
    const c = (seg[0]! & 0x80) !== 0;
    if (c && naiveChecksum(seg) !== 0) problems.push(`${where}: GRE checksum`);
    return [...problems, ...verifyIpDeep(seg.slice(c ? 8 : 4), guePort, `${where}/gre`)];
  }
  if (proto === 17 && ((seg[2]! << 8) | seg[3]!) === guePort) {
    if ((seg[6]! | seg[7]!) !== 0 && naiveChecksum(seg, pseudo) !== 0) problems.push(`${where}: GUE UDP checksum`);
    if (((seg[4]! << 8) | seg[5]!) !== seg.length) problems.push(`${where}: GUE UDP length`);
    const hlen = (seg[8]! & 31) * 4;
    let inner = seg.slice(12 + hlen);
    if (seg[11]! & 1 && hlen >= 8 && seg[12]! & 0x80) {
      // gue_remcsum(): complete the inner checksum at start, stored at start + offset.
      const start = (seg[16]! << 8) | seg[17]!;
      const at = (seg[18]! << 8) | seg[19]!;
      inner = [...inner];
      const field = (inner[at]! << 8) | inner[at + 1]!;
      inner[at] = 0; inner[at + 1] = 0;
      let c = naiveChecksum(inner.slice(start), field);
      if (c === 0) c = 0xffff;
      inner[at] = c >>> 8; inner[at + 1] = c & 255;
    }
    return [...problems, ...verifyIpDeep(inner, guePort, `${where}/gue`)];
  }
  if (proto === 6 || proto === 17 || proto === 1 || proto === 58) {
    const co = proto === 6 ? 16 : proto === 17 ? 6 : 2;
    if (proto === 17 && v4 && seg[co] === 0 && seg[co + 1] === 0) return problems;
    if (naiveChecksum(seg, proto === 1 ? 0 : pseudo) !== 0) problems.push(`${where}: l4 checksum (proto ${proto})`);
  }
  return problems;
}

/** {@link verifyIpDeep} over an Ethernet frame (with a virtio header: its NEEDS_CSUM completed first). */
export function verifyFrameDeep(f: Uint8Array, vnet: boolean, guePort = -1): string[] {
  const eth = vnet ? completeVnet(f) : f;
  let o = 12;
  let et = (eth[o]! << 8) | eth[o + 1]!;
  if (et === 0x8100) { o += 4; et = (eth[o]! << 8) | eth[o + 1]!; }
  if (et !== 0x0800 && et !== 0x86dd) return [`ethertype ${et.toString(16)}`];
  return verifyIpDeep([...eth.slice(o + 2)], guePort);
}
