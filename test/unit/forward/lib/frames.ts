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
  tos?: number;
  l4: L4Spec;
  /** Prepend a virtio_net_hdr (10 bytes); NEEDS_CSUM set when l4.partial. */
  vnet?: boolean;
  gsoSize?: number;
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
    return [0x60, 0, 0, 0, ...be16(l4.length), proto, s.ttl ?? 64, ...src, ...dst, ...l4];
  }
  const hdr = [0x45, s.tos ?? 0, ...be16(20 + l4.length), ...be16(s.id ?? 0x1234), 0x40, 0, s.ttl ?? 64, proto, 0, 0, ...src, ...dst];
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
    const gso = s.gsoSize ? (v6 ? 4 : 1) : 0;
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
