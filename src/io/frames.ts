/**
 * Ethernet frame builders for address announcements and neighbour answers: ARP (RFC 826),
 * gratuitous ARP in keepalived's form, and IPv6 Neighbor Advertisements (RFC 4861 §4.4)
 * with their ICMPv6 checksum (RFC 4443 §2.3). Pure: they write into a caller's buffer at
 * an offset and return the frame length, so the forwarding core can build answers in its
 * transmit buffer without allocating.
 */

/** Length of a gratuitous ARP / ARP frame as keepalived sends it (no padding). */
export const ARP_FRAME_LEN = 42;
/** Length of a Neighbor Advertisement frame with a target link-layer address option. */
export const NA_FRAME_LEN = 86;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
/** ff02::1, all-nodes (RFC 4291 §2.7.1). */
export const ALL_NODES_6 = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

/** Writes an Ethernet II header; returns 14. */
export function writeEthernet(b: Uint8Array, o: number, dst: Uint8Array, src: Uint8Array, ethertype: number): number {
  b.set(dst.subarray(0, 6), o);
  b.set(src.subarray(0, 6), o + 6);
  put16(b, o + 12, ethertype);
  return 14;
}

/**
 * Writes an Ethernet + ARP frame (RFC 826, Ethernet/IPv4). IPv4 addresses are uint32.
 * Returns {@link ARP_FRAME_LEN}.
 */
export function writeArp(
  b: Uint8Array,
  o: number,
  op: number,
  ethDst: Uint8Array,
  sha: Uint8Array,
  spa: number,
  tha: Uint8Array,
  tpa: number,
): number {
  writeEthernet(b, o, ethDst, sha, ETHERTYPE_ARP);
  const a = o + 14;
  put16(b, a, 1); // ar_hrd = ARPHRD_ETHER
  put16(b, a + 2, ETHERTYPE_IPV4); // ar_pro
  b[a + 4] = 6; // ar_hln
  b[a + 5] = 4; // ar_pln
  put16(b, a + 6, op);
  b.set(sha.subarray(0, 6), a + 8);
  put32(b, a + 14, spa);
  b.set(tha.subarray(0, 6), a + 18);
  put32(b, a + 24, tpa);
  return ARP_FRAME_LEN;
}

/**
 * Gratuitous ARP as keepalived sends it (keepalived vrrp_arp.c send_gratuitous_arp_immediate):
 * a broadcast ARP *request* with sender = target = the address, target hardware address
 * ff:ff:ff:ff:ff:ff, from `mac` (Ethernet source and sender hardware address).
 */
export function writeGarp(b: Uint8Array, o: number, mac: Uint8Array, ip: number): number {
  return writeArp(b, o, ARPOP_REQUEST, BROADCAST, mac, ip, BROADCAST, ip);
}

/** One's-complement sum of 16-bit big-endian words over b[o, o+len) added to `sum` (not folded). */
export function sum16(b: Uint8Array, o: number, len: number, sum = 0): number {
  let i = 0;
  for (; i + 1 < len; i += 2) sum += (b[o + i]! << 8) | b[o + i + 1]!;
  if (i < len) sum += b[o + i]! << 8;
  return sum;
}

/** Folds a 32-bit accumulated sum to 16 bits and complements it (RFC 1071). */
export function foldComplement(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * ICMPv6 checksum (RFC 4443 §2.3) of an IPv6 packet starting at `ip` (fixed 40-byte header,
 * ICMPv6 right after it, payload length from the header). The checksum field must be zero.
 */
export function icmp6Checksum(b: Uint8Array, ip: number): number {
  const len = (b[ip + 4]! << 8) | b[ip + 5]!;
  let s = sum16(b, ip + 8, 32); // source + destination
  s += len; // upper-layer packet length (32-bit; < 65536 here)
  s += 58; // next header = ICMPv6
  s = sum16(b, ip + 40, len, s);
  return foldComplement(s);
}

/**
 * Writes a Neighbor Advertisement (RFC 4861 §4.4) with a target link-layer address option,
 * hop limit 255 (§7.1.2 requires it), and its checksum. Returns {@link NA_FRAME_LEN}.
 */
export function writeNa(
  b: Uint8Array,
  o: number,
  opts: {
    readonly ethDst: Uint8Array;
    readonly mac: Uint8Array;
    readonly src: Uint8Array;
    readonly dst: Uint8Array;
    readonly target: Uint8Array;
    readonly router: boolean;
    readonly solicited: boolean;
    readonly override: boolean;
  },
): number {
  writeEthernet(b, o, opts.ethDst, opts.mac, ETHERTYPE_IPV6);
  const ip = o + 14;
  put32(b, ip, 0x60000000); // version 6, traffic class 0, flow label 0
  put16(b, ip + 4, 32); // payload: NA 24 + option 8
  b[ip + 6] = 58; // next header ICMPv6
  b[ip + 7] = 255; // hop limit (RFC 4861 §7.1.2)
  b.set(opts.src.subarray(0, 16), ip + 8);
  b.set(opts.dst.subarray(0, 16), ip + 24);
  const ic = ip + 40;
  b[ic] = 136; // Neighbor Advertisement
  b[ic + 1] = 0;
  put16(b, ic + 2, 0); // checksum, filled below
  b[ic + 4] = (opts.router ? 0x80 : 0) | (opts.solicited ? 0x40 : 0) | (opts.override ? 0x20 : 0);
  b[ic + 5] = 0;
  b[ic + 6] = 0;
  b[ic + 7] = 0;
  b.set(opts.target.subarray(0, 16), ic + 8);
  b[ic + 24] = 2; // option: Target Link-Layer Address (RFC 4861 §4.6.1)
  b[ic + 25] = 1; // length in units of 8 octets
  b.set(opts.mac.subarray(0, 6), ic + 26);
  put16(b, ic + 2, icmp6Checksum(b, ip));
  return NA_FRAME_LEN;
}

/**
 * Unsolicited Neighbor Advertisement as keepalived sends it (keepalived vrrp_ndisc.c):
 * from the address itself to ff02::1 (Ethernet 33:33:00:00:00:01, RFC 2464 §7), override
 * set, solicited clear, router flag = the interface forwards IPv6.
 */
export function writeUnsolicitedNa(b: Uint8Array, o: number, mac: Uint8Array, ip6: Uint8Array, router: boolean): number {
  return writeNa(b, o, {
    ethDst: Uint8Array.of(0x33, 0x33, 0, 0, 0, 1),
    mac,
    src: ip6,
    dst: ALL_NODES_6,
    target: ip6,
    router,
    solicited: false,
    override: true,
  });
}
