/**
 * VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) for IPv4, VRRPv3 for
 * IPv6, plus the IPv4 header lvsd writes itself (the socket uses IP_HDRINCL, as keepalived
 * does) and reads back from a raw socket.
 *
 * Pure and allocation-light. Nothing here throws on bad input: decoders and validators
 * return `{ ok: false, reason }` with a stable reason code (`VrrpDropReason`), which the
 * driver counts and reports. The order of the receive checks follows keepalived's
 * `vrrp_check_packet()` (keepalived/vrrp/vrrp.c), so both daemons drop the same packets
 * for the same reasons.
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, type Family } from '../lib/ip.js';

/** IP protocol number of VRRP (RFC 5798 §5.1.1.3, RFC 3768 §5.2.4). */
export const VRRP_PROTOCOL = 112;
/** TTL / hop limit of every advert, checked on receipt (RFC 5798 §5.1.1.3, §7.1). */
export const VRRP_TTL = 255;
/** The only packet type: ADVERTISEMENT (RFC 5798 §5.2.2). */
export const VRRP_TYPE_ADVERT = 1;
/** Default IPv4 multicast group (RFC 5798 §5.1.1.2). */
export const VRRP_MCAST4 = '224.0.0.18';
/** Default IPv6 multicast group (RFC 5798 §5.1.2.2). */
export const VRRP_MCAST6 = 'ff02::12';
/** Length of the v2 authentication data (RFC 3768 §5.3.10). */
export const VRRP_AUTH_LEN = 8;
/** Fixed VRRP header length. */
export const VRRP_HEADER_LEN = 8;
/** Length of the IPv4 header lvsd writes (no options). */
export const IPV4_HEADER_LEN = 20;
/** IPv4 TOS keepalived sets: Internetwork Control (vrrp.c vrrp_build_ip4). */
export const VRRP_IP_TOS = 0xc0;

/** v2 authentication types (RFC 3768 §5.3.6; type 2, IP AH, is recognised but not supported). */
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;

/** Why a received packet was dropped. Stable codes: counters and logs use them. */
export type VrrpDropReason =
  /** Shorter than an IP header or than the fixed VRRP header. */
  | 'truncated'
  /** Not IPv4/protocol 112, or an IP header that cannot be parsed. */
  | 'bad_ip_header'
  /** VRRP length does not match what the version and address count say. */
  | 'length'
  /** IPv4 total length differs from what was received. */
  | 'ip_length'
  /** TTL / hop limit not 255 on a multicast advert (RFC 5798 §7.1). */
  | 'ttl'
  /** Version differs from the instance's. */
  | 'version'
  /** Type is not ADVERTISEMENT. */
  | 'type'
  /** VRID not configured on this interface (counted per socket, not per instance). */
  | 'unknown_vrid'
  /** Checksum wrong. */
  | 'checksum'
  /** v2 auth type not 0, 1 or 2. */
  | 'auth_type_invalid'
  /** v2 auth type differs from the instance's. */
  | 'auth_type_mismatch'
  /** v2 simple password differs. */
  | 'auth_failure'
  /** v2 advert interval differs from the instance's (RFC 3768 §7.1). */
  | 'advert_interval'
  /** Address count differs from the instance's VIP count. */
  | 'addr_count'
  /** A configured VIP is missing from the advert. */
  | 'addr_list'
  /** Multicast advert on a unicast instance or the reverse. */
  | 'mcast_unicast_mismatch'
  /** Unicast source is not a configured peer (`check_unicast_src`). */
  | 'unicast_src'
  /** Received while the instance ignores adverts (FAULT, INIT, STOP). */
  | 'not_running';

/**
 * Reasons found before a packet reaches an instance: its IP layer, a VRRP payload too short
 * to name a VRID, or a VRID nobody configured. Counted per socket (interface and family).
 */
export type ChannelDropReason = 'truncated' | 'bad_ip_header' | 'unknown_vrid';
/** Reasons found by the instance the packet's VRID names. Counted per instance. */
export type InstanceDropReason = Exclude<VrrpDropReason, ChannelDropReason>;

/** Drop reasons counted per socket. */
export const CHANNEL_DROP_REASONS: readonly ChannelDropReason[] = ['truncated', 'bad_ip_header', 'unknown_vrid'];
/** Drop reasons counted per instance. */
export const INSTANCE_DROP_REASONS: readonly InstanceDropReason[] = [
  'length', 'ip_length', 'ttl', 'version', 'type', 'checksum', 'auth_type_invalid', 'auth_type_mismatch', 'auth_failure',
  'advert_interval', 'addr_count', 'addr_list', 'mcast_unicast_mismatch', 'unicast_src', 'not_running',
];
/** Every drop reason, for docs and tests. */
export const DROP_REASONS: readonly VrrpDropReason[] = [...CHANNEL_DROP_REASONS, ...INSTANCE_DROP_REASONS];

/** A decoded advert (fields as on the wire, intervals converted to ms). */
export interface Advert {
  readonly version: number;
  readonly type: number;
  readonly vrid: number;
  readonly priority: number;
  readonly addrCount: number;
  /** v2: auth type; v3: 0 (the byte is reserved / part of the interval). */
  readonly authType: number;
  /** Advertisement interval in ms (v2: seconds × 1000; v3: centiseconds × 10). */
  readonly advertIntervalMs: number;
  readonly checksum: number;
  /** Addresses as canonical text. */
  readonly addresses: readonly string[];
  /** v2 authentication data (8 bytes) or null. */
  readonly authData: Uint8Array | null;
}

/** What an instance sends; the codec turns it into bytes. */
export interface AdvertSpec {
  readonly version: 2 | 3;
  readonly family: Family;
  readonly vrid: number;
  readonly priority: number;
  /** v2: whole seconds (1..255 s); v3: centiseconds (10..40950 ms). */
  readonly advertIntervalMs: number;
  readonly addresses: readonly string[];
  /** v2 simple password (truncated / zero-padded to 8 bytes, as keepalived). */
  readonly password?: string | null;
  /** Source and destination: the v3 checksum covers them (pseudo-header). */
  readonly src: string;
  readonly dst: string;
  /** keepalived `v3_checksum_as_v2`: v3 IPv4 checksum without the pseudo-header. */
  readonly v3ChecksumAsV2?: boolean;
  /**
   * Destination written into the v3 IPv4 pseudo-header when it is not `dst`: keepalived's
   * old unicast checksum (`old_unicast_checksum`) sums unicast adverts with the multicast
   * group there (vrrp.c vrrp_build_vrrp_v3, CHKSUM_COMPATIBILITY_MIN_COMPAT and above).
   */
  readonly pseudoDst?: string;
}

/**
 * keepalived's unicast VRRPv3 IPv4 checksum compatibility (vrrp.h `chksum_compatibility_t`,
 * keyword `old_unicast_checksum [never]`, built with OLD_CHKSUM_COMPAT as Debian's is):
 * which destination the pseudo-header of a unicast advert carries. keepalived up to 1.3.6
 * summed unicast adverts with the multicast group as destination.
 * - `auto` (keyword absent, CHKSUM_COMPATIBILITY_NONE): the advert's own destination; a
 *   unicast advert that only sums with the multicast group is accepted and switches the
 *   instance to `old` for sending and receiving (vrrp_check_packet, "Setting unicast
 *   VRRPv3 checksum to old version").
 * - `never` (`old_unicast_checksum never`, CHKSUM_COMPATIBILITY_NEVER): the advert's own
 *   destination, no fallback.
 * - `old` (bare `old_unicast_checksum`, CHKSUM_COMPATIBILITY_CONFIG, and _AUTO after the
 *   switch): the multicast group, for sending and for checking.
 */
export type UnicastChecksumMode = 'auto' | 'never' | 'old';

// ───────────────────────────── checksums ─────────────────────────────

/** Adds bytes [off, off+len) to a one's-complement accumulator (RFC 1071), 16 bits at a time. */
function sumBytes(b: Uint8Array, off: number, len: number, acc: number): number {
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if (i < end) acc += b[i]! << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/** Internet checksum of `msg` (RFC 1071), optionally over a pseudo-header first. */
export function internetChecksum(msg: Uint8Array, pseudo: Uint8Array | null = null): number {
  let acc = 0;
  if (pseudo) acc = sumBytes(pseudo, 0, pseudo.length, acc);
  acc = sumBytes(msg, 0, msg.length, acc);
  return ~fold(acc) & 0xffff;
}

/**
 * The pseudo-header the v3 checksum covers (RFC 5798 §5.2.8): IPv4 src, dst, zero,
 * protocol, length (RFC 768 style); IPv6 src, dst, upper-layer length, zeros, next header
 * (RFC 2460 §8.1).
 */
export function pseudoHeader(family: Family, src: string, dst: string, length: number): Uint8Array | null {
  if (family === 'ipv4') {
    const s = parseIPv4(src);
    const d = parseIPv4(dst);
    if (s === null || d === null) return null;
    const p = new Uint8Array(12);
    const v = new DataView(p.buffer);
    v.setUint32(0, s);
    v.setUint32(4, d);
    p[9] = VRRP_PROTOCOL;
    v.setUint16(10, length);
    return p;
  }
  const s = parseIPv6(src);
  const d = parseIPv6(dst);
  if (!s || !d) return null;
  const p = new Uint8Array(40);
  p.set(s, 0);
  p.set(d, 16);
  new DataView(p.buffer).setUint32(32, length);
  p[39] = VRRP_PROTOCOL;
  return p;
}

/** True when this advert's checksum covers a pseudo-header. */
function usesPseudo(version: number, family: Family, v3ChecksumAsV2: boolean): boolean {
  if (version !== 3) return false; // RFC 3768 §5.3.8: v2 sums the VRRP message only
  if (family === 'ipv6') return true; // RFC 5798 §5.2.8
  return !v3ChecksumAsV2;
}

// ───────────────────────────── encode ─────────────────────────────

/** Bytes of the v2 password field: the password truncated / zero-padded to 8 bytes (keepalived). */
export function passwordBytes(password: string): Uint8Array {
  const out = new Uint8Array(VRRP_AUTH_LEN);
  const b = Buffer.from(password, 'utf8');
  out.set(b.subarray(0, VRRP_AUTH_LEN));
  return out;
}

/** Length of a VRRP message with n addresses. */
export function advertLength(version: number, family: Family, n: number): number {
  if (family === 'ipv6') return VRRP_HEADER_LEN + 16 * n;
  return VRRP_HEADER_LEN + 4 * n + (version === 2 ? VRRP_AUTH_LEN : 0);
}

/**
 * Encodes the VRRP message (no IP header). Throws only on a programming error (an address
 * that does not parse, an interval out of range): specs come from a validated model.
 */
export function encodeAdvert(spec: AdvertSpec): Uint8Array {
  const n = spec.addresses.length;
  const len = advertLength(spec.version, spec.family, n);
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  b[0] = (spec.version << 4) | VRRP_TYPE_ADVERT; // RFC 5798 §5.2.1, §5.2.2
  b[1] = spec.vrid;
  b[2] = spec.priority;
  b[3] = n;
  if (spec.version === 2) {
    // RFC 3768 §5.3.6, §5.3.7: auth type, advert interval in seconds
    b[4] = spec.password ? AUTH_PASS : AUTH_NONE;
    b[5] = Math.round(spec.advertIntervalMs / 1000) & 0xff;
  } else {
    // RFC 5798 §5.2.6, §5.2.7: 4 reserved bits, 12-bit Max Adver Int in centiseconds
    v.setUint16(4, Math.round(spec.advertIntervalMs / 10) & 0x0fff);
  }
  let off = VRRP_HEADER_LEN;
  for (const a of spec.addresses) {
    if (spec.family === 'ipv4') {
      const x = parseIPv4(a);
      if (x === null) throw new Error(`encodeAdvert: bad IPv4 address ${a}`);
      v.setUint32(off, x);
      off += 4;
    } else {
      const x = parseIPv6(a);
      if (!x) throw new Error(`encodeAdvert: bad IPv6 address ${a}`);
      b.set(x, off);
      off += 16;
    }
  }
  if (spec.version === 2 && spec.family === 'ipv4' && spec.password) b.set(passwordBytes(spec.password), off);
  const pseudo = usesPseudo(spec.version, spec.family, spec.v3ChecksumAsV2 ?? false)
    ? pseudoHeader(spec.family, spec.src, spec.pseudoDst ?? spec.dst, len)
    : null;
  v.setUint16(6, internetChecksum(b, pseudo)); // RFC 5798 §5.2.8 / RFC 3768 §5.3.8
  return b;
}

/** IPv4 header checksum. */
function ipv4HeaderChecksum(b: Uint8Array, off: number): number {
  return ~fold(sumBytes(b, off, IPV4_HEADER_LEN, 0)) & 0xffff;
}

/**
 * Wraps a VRRP message in the IPv4 header keepalived writes (vrrp.c vrrp_build_ip4): TOS
 * 0xc0, no fragmentation, TTL 255, protocol 112, given id, header checksum filled.
 */
export function encodeIPv4Packet(vrrp: Uint8Array, src: string, dst: string, ipId: number, ttl = VRRP_TTL): Uint8Array {
  const s = parseIPv4(src);
  const d = parseIPv4(dst);
  if (s === null || d === null) throw new Error(`encodeIPv4Packet: bad address ${src} -> ${dst}`);
  const b = new Uint8Array(IPV4_HEADER_LEN + vrrp.length);
  const v = new DataView(b.buffer);
  b[0] = 0x45;
  b[1] = VRRP_IP_TOS;
  v.setUint16(2, b.length);
  v.setUint16(4, ipId & 0xffff);
  b[8] = ttl;
  b[9] = VRRP_PROTOCOL;
  v.setUint32(12, s);
  v.setUint32(16, d);
  v.setUint16(10, ipv4HeaderChecksum(b, 0));
  b.set(vrrp, IPV4_HEADER_LEN);
  return b;
}

// ───────────────────────────── decode ─────────────────────────────

/** A VRRP packet as it came off the wire, with the IP-level facts the checks need. */
export interface ReceivedPacket {
  readonly family: Family;
  readonly src: string;
  readonly dst: string;
  /** IPv4 TTL / IPv6 hop limit; null when the transport cannot see it (check skipped, as keepalived). */
  readonly ttl: number | null;
  /** The VRRP message (IP payload). */
  readonly payload: Uint8Array;
  /** IPv4: total length field and bytes received; checked against each other. */
  readonly ipTotalLength?: number;
  readonly receivedLength?: number;
}

/** Result of a decode or a check. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: VrrpDropReason; readonly detail: string };

function drop<T>(reason: VrrpDropReason, detail: string): Decoded<T> {
  return { ok: false, reason, detail };
}

/**
 * Splits a received IPv4 datagram (what a raw socket returns: header + payload) into a
 * ReceivedPacket. Checks only what is needed to find the payload.
 */
export function parseIPv4Packet(b: Uint8Array): Decoded<ReceivedPacket> {
  if (b.length < IPV4_HEADER_LEN) return drop('truncated', `${b.length} bytes, no IPv4 header`);
  if (b[0]! >> 4 !== 4) return drop('bad_ip_header', `IP version ${b[0]! >> 4}`);
  const ihl = (b[0]! & 0x0f) * 4;
  if (ihl < IPV4_HEADER_LEN || b.length < ihl) return drop('bad_ip_header', `header length ${ihl}`);
  if (b[9] !== VRRP_PROTOCOL) return drop('bad_ip_header', `protocol ${b[9]}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const total = v.getUint16(2);
  return {
    ok: true,
    value: {
      family: 'ipv4',
      src: formatIPv4(v.getUint32(12)),
      dst: formatIPv4(v.getUint32(16)),
      ttl: b[8]!,
      payload: b.subarray(ihl),
      ipTotalLength: total,
      receivedLength: b.length,
    },
  };
}

/**
 * Splits an IPv6 packet (from an AF_PACKET frame, Ethernet header removed) into a
 * ReceivedPacket. Extension headers are not followed: VRRP has none (RFC 5798 §5.1.2).
 */
export function parseIPv6Packet(b: Uint8Array): Decoded<ReceivedPacket> {
  if (b.length < 40) return drop('truncated', `${b.length} bytes, no IPv6 header`);
  if (b[0]! >> 4 !== 6) return drop('bad_ip_header', `IP version ${b[0]! >> 4}`);
  if (b[6] !== VRRP_PROTOCOL) return drop('bad_ip_header', `next header ${b[6]}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const plen = v.getUint16(4);
  if (b.length < 40 + plen) return drop('truncated', `payload length ${plen}, ${b.length - 40} received`);
  return {
    ok: true,
    value: {
      family: 'ipv6',
      src: formatIPv6(b.subarray(8, 24)),
      dst: formatIPv6(b.subarray(24, 40)),
      ttl: b[7]!,
      payload: b.subarray(40, 40 + plen),
    },
  };
}

/** VRID of a payload, or -1 when too short (used to demultiplex before full checks). */
export function peekVrid(payload: Uint8Array): number {
  return payload.length >= VRRP_HEADER_LEN ? payload[1]! : -1;
}

/**
 * Decodes the fields of a VRRP message without judging them against any instance.
 * Fails only when the message is shorter than its header or than its own address count says.
 */
export function decodeAdvert(payload: Uint8Array, family: Family): Decoded<Advert> {
  if (payload.length < VRRP_HEADER_LEN) return drop('truncated', `${payload.length} bytes, VRRP header is 8`);
  const version = payload[0]! >> 4;
  const n = payload[3]!;
  const want = advertLength(version, family, n);
  if (payload.length !== want) {
    return drop('length', `vrrp packet too ${payload.length > want ? 'long' : 'short'}, length ${payload.length} and expect ${want}`);
  }
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const addresses: string[] = [];
  let off = VRRP_HEADER_LEN;
  for (let i = 0; i < n; i++) {
    if (family === 'ipv4') {
      addresses.push(formatIPv4(v.getUint32(off)));
      off += 4;
    } else {
      addresses.push(formatIPv6(payload.subarray(off, off + 16)));
      off += 16;
    }
  }
  const isV2 = version === 2;
  return {
    ok: true,
    value: {
      version,
      type: payload[0]! & 0x0f,
      vrid: payload[1]!,
      priority: payload[2]!,
      addrCount: n,
      authType: isV2 ? payload[4]! : 0,
      advertIntervalMs: isV2 ? payload[5]! * 1000 : (v.getUint16(4) & 0x0fff) * 10,
      checksum: v.getUint16(6),
      addresses,
      authData: isV2 && family === 'ipv4' ? payload.slice(off, off + VRRP_AUTH_LEN) : null,
    },
  };
}

/** What an instance expects of the adverts it accepts. */
export interface AdvertExpectation {
  readonly family: Family;
  readonly version: 2 | 3;
  readonly vrid: number;
  readonly advertIntervalMs: number;
  /** v2 simple password, null = no authentication. */
  readonly password: string | null;
  /** The instance's VIPs (canonical text), in any order. */
  readonly vips: readonly string[];
  /** Unicast peers; empty = multicast instance. */
  readonly unicastPeers: readonly string[];
  readonly checkUnicastSrc: boolean;
  /** `unicast_peer ADDR min_ttl N max_ttl N`: TTL window per peer, checked with `check_unicast_src`. */
  readonly peerTtl?: Readonly<Record<string, { readonly minTtl: number; readonly maxTtl: number }>>;
  readonly v3ChecksumAsV2: boolean;
  /** Unicast v3 IPv4 pseudo-header destination (see UnicastChecksumMode); default `auto`. */
  readonly unicastChecksum?: UnicastChecksumMode;
  /** Multicast group in use (the pseudo-header destination of old unicast checksums). */
  readonly mcastGroup: string;
}

/** An advert that passed every check. */
export interface ValidAdvert extends Advert {
  /**
   * True when a unicast v3 advert was accepted only because it sums with the multicast group
   * as destination while the instance is in `auto` mode: the caller switches to `old`.
   */
  readonly oldUnicastChecksum: boolean;
}

function isMulticast(family: Family, addr: string): boolean {
  if (family === 'ipv4') {
    const x = parseIPv4(addr);
    return x !== null && x >>> 28 === 0xe;
  }
  const x = parseIPv6(addr);
  return !!x && x[0] === 0xff;
}

/** 'ok', 'old' (accepted through the auto fallback) or 'bad'. */
function checksumCheck(pkt: ReceivedPacket, version: number, exp: AdvertExpectation): 'ok' | 'old' | 'bad' {
  const payload = pkt.payload;
  if (!usesPseudo(version, pkt.family, exp.v3ChecksumAsV2)) return internetChecksum(payload) === 0 ? 'ok' : 'bad';
  const mode = exp.unicastChecksum ?? 'auto';
  // keepalived vrrp_check_packet: the pseudo-header destination is the packet's own unless the
  // instance uses old unicast checksums (compat > CHKSUM_COMPATIBILITY_MIN_COMPAT), then the group.
  const dst = pkt.family === 'ipv4' && mode === 'old' ? exp.mcastGroup : pkt.dst;
  const p = pseudoHeader(pkt.family, pkt.src, dst, payload.length);
  if (p && internetChecksum(payload, p) === 0) return 'ok';
  // CHKSUM_COMPATIBILITY_NONE only: a unicast advert summed with the multicast group is a
  // peer using old checksums; accept it and let the caller switch to them.
  if (mode === 'auto' && pkt.family === 'ipv4' && exp.unicastPeers.length > 0 && pkt.dst !== exp.mcastGroup) {
    const q = pseudoHeader(pkt.family, pkt.src, exp.mcastGroup, payload.length);
    if (q && internetChecksum(payload, q) === 0) return 'old';
  }
  return 'bad';
}

/**
 * Judges a received packet against an instance, in keepalived's order (vrrp.c
 * vrrp_check_packet) with RFC 5798 §7.1 / RFC 3768 §7.1 as the rules. `checkAddrList`
 * is false only when `skip_check_adv_addr` applies (same master as before).
 */
export function validateAdvert(pkt: ReceivedPacket, exp: AdvertExpectation, checkAddrList: boolean): Decoded<ValidAdvert> {
  const d = decodeAdvert(pkt.payload, pkt.family);
  if (!d.ok) return d;
  const a = d.value;
  const unicast = exp.unicastPeers.length > 0;
  // RFC 5798 §7.1: MUST verify the TTL is 255 (keepalived skips it for unicast peers)
  if (!unicast && pkt.ttl !== null && pkt.ttl !== VRRP_TTL) return drop('ttl', `invalid TTL/HL. Received ${pkt.ttl} and expect ${VRRP_TTL}`);
  // RFC 5798 §7.1: MUST verify the version
  if (a.version !== exp.version) return drop('version', `wrong version. Received ${a.version} and expect ${exp.version}`);
  if (exp.version === 2) {
    // RFC 3768 §7.1: MUST perform the authentication its Auth Type names
    if (a.authType !== AUTH_NONE && a.authType !== AUTH_PASS && a.authType !== AUTH_AH) return drop('auth_type_invalid', `Invalid auth type: ${a.authType}`);
    const wantType = exp.password ? AUTH_PASS : AUTH_NONE;
    if (a.authType !== wantType) return drop('auth_type_mismatch', `received a ${a.authType} auth, expecting ${wantType}`);
    if (exp.password && pkt.family === 'ipv4') {
      const want = passwordBytes(exp.password);
      let diff = 0;
      for (let i = 0; i < VRRP_AUTH_LEN; i++) diff |= want[i]! ^ a.authData![i]!;
      if (diff !== 0) return drop('auth_failure', 'received an invalid passwd');
    }
    // RFC 3768 §7.1: MUST verify the Adver Interval matches the local one
    if (a.advertIntervalMs !== exp.advertIntervalMs) {
      return drop('advert_interval', `advertisement interval mismatch mine=${exp.advertIntervalMs / 1000} sec rcv'd=${a.advertIntervalMs / 1000} sec`);
    }
  }
  if (a.type !== VRRP_TYPE_ADVERT) return drop('type', `Invalid packet type. ${a.type} and expect ${VRRP_TYPE_ADVERT}`);
  if (a.vrid !== exp.vrid) return drop('unknown_vrid', `VRID ${a.vrid}, expect ${exp.vrid}`);
  if (checkAddrList && a.addrCount !== exp.vips.length) return drop('addr_count', `received an unexpected ip number count ${a.addrCount}, expected ${exp.vips.length}`);
  if (pkt.family === 'ipv4' && pkt.ipTotalLength !== undefined && pkt.receivedLength !== undefined && pkt.ipTotalLength !== pkt.receivedLength) {
    return drop('ip_length', `ip_tot_len mismatch against received length. ${pkt.ipTotalLength} and received ${pkt.receivedLength}`);
  }
  // RFC 5798 §7.1: MUST verify the checksum
  const sum = checksumCheck(pkt, a.version, exp);
  if (sum === 'bad') return drop('checksum', `Invalid VRRPv${a.version} checksum`);
  if (isMulticast(pkt.family, pkt.dst) === unicast) {
    return drop('mcast_unicast_mismatch', `Expected ${unicast ? 'un' : 'mult'}icast packet but received ${unicast ? 'mult' : 'un'}icast packet`);
  }
  if (checkAddrList) {
    // RFC 5798 §7.1: MAY verify the addresses; keepalived discards on mismatch
    const got = new Set(a.addresses);
    for (const vip of exp.vips) {
      if (!got.has(vip)) return drop('addr_list', `ip address associated with VRID ${exp.vrid} not present in MASTER advert : ${vip}`);
    }
    if (unicast && exp.checkUnicastSrc) {
      if (!exp.unicastPeers.includes(pkt.src)) return drop('unicast_src', `unicast source address ${pkt.src} not a unicast peer`);
      const w = exp.peerTtl?.[pkt.src];
      if (w && pkt.ttl !== null && (pkt.ttl < w.minTtl || pkt.ttl > w.maxTtl)) return drop('ttl', `TTL/HL ${pkt.ttl} not in range ${w.minTtl} - ${w.maxTtl}`);
    }
  }
  return { ok: true, value: { ...a, oldUnicastChecksum: sum === 'old' } };
}

/** Compares two addresses of one family as unsigned numbers: <0, 0, >0 (RFC 5798 §6.4.3 tie-break). */
export function compareAddresses(a: string, b: string): number {
  const a4 = parseIPv4(a);
  const b4 = parseIPv4(b);
  if (a4 !== null && b4 !== null) return a4 === b4 ? 0 : a4 < b4 ? -1 : 1;
  const a6 = parseIPv6(a);
  const b6 = parseIPv6(b);
  if (!a6 || !b6) return 0;
  for (let i = 0; i < 16; i++) if (a6[i] !== b6[i]) return a6[i]! < b6[i]! ? -1 : 1;
  return 0;
}
