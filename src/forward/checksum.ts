/**
 * Internet checksum helpers for the forwarding core: full computation (RFC 1071) for the
 * frames the core builds itself (ARP/ICMP replies, RSTs, ICMP errors) and incremental
 * updates (RFC 1624 eqn. 3) for the rewrites of the hot path.
 *
 * Two flavours of L4 checksum field exist on a frame that came through PACKET_VNET_HDR:
 * - full (CHECKSUM_NONE / _UNNECESSARY): the field holds ~sum over pseudo-header + segment;
 *   a rewrite of a covered word m → m' updates it as HC' = ~(~HC + ~m + m') (RFC 1624 §3).
 * - partial (CHECKSUM_PARTIAL, virtio NEEDS_CSUM): the field holds the *uncomplemented*
 *   pseudo-header sum and the NIC/kernel finishes it over the segment on transmit. An
 *   address rewrite then moves the field with the opposite sign: f' = f + ~m + m', which is
 *   `~update(~f, m, m')`; a port rewrite needs nothing since ports are not in the pseudo
 *   header (Linux net/netfilter/ipvs/ip_vs_proto_tcp.c tcp_partial_csum_update).
 * All values are 16-bit numbers in network order as read with big-endian loads.
 */

/** Folds a 32-bit-ish one's complement accumulator to 16 bits (not complemented). */
export function fold16(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum & 0xffff;
}

/** One's complement sum of `len` bytes of b from off, added to `initial`; not folded past 32 bits safely for ≤ 64 KiB. */
export function sumBytes(b: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + (len & ~1);
  let i = off;
  for (; i < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (len & 1) sum += b[end]! << 8;
  // 64 KiB of 0xffff words stays below 2^32; fold once here to keep callers' sums small.
  return (sum & 0xffff) + Math.floor(sum / 65536);
}

/** The checksum field value (complemented, folded) of `len` bytes from off plus `initial`. */
export function checksum(b: Uint8Array, off: number, len: number, initial = 0): number {
  return ~fold16(sumBytes(b, off, len, initial)) & 0xffff;
}

/** Sum of the IPv4 pseudo-header (RFC 793 §3.1 / RFC 768): src, dst, zero+proto, L4 length. */
export function pseudoSum4(src: number, dst: number, proto: number, l4Len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + l4Len;
}

/** Sum of the IPv6 pseudo-header (RFC 8200 §8.1) from the 32 address bytes at addrOff (src then dst). */
export function pseudoSum6(b: Uint8Array, addrOff: number, proto: number, l4Len: number): number {
  return sumBytes(b, addrOff, 32, proto + (l4Len >>> 16) + (l4Len & 0xffff));
}

/** RFC 1624 eqn. 3 for one 16-bit word: returns the new (full) checksum field. */
export function csumReplace16(check: number, oldW: number, newW: number): number {
  const sum = (~check & 0xffff) + (~oldW & 0xffff) + (newW & 0xffff);
  return ~fold16(sum) & 0xffff;
}

/** RFC 1624 eqn. 3 for one 32-bit word (an IPv4 address, or two ports at once). */
export function csumReplace32(check: number, oldW: number, newW: number): number {
  const sum =
    (~check & 0xffff) +
    (~oldW & 0xffff) + (~(oldW >>> 16) & 0xffff) +
    (newW & 0xffff) + (newW >>> 16);
  return ~fold16(sum) & 0xffff;
}

/**
 * Replaces a 32-bit word inside an L4 checksum field that may be partial. `partial` true =
 * the field is an uncomplemented pseudo-header sum (CHECKSUM_PARTIAL): opposite sign.
 */
export function l4Replace32(check: number, oldW: number, newW: number, partial: boolean): number {
  return partial ? ~csumReplace32(~check & 0xffff, oldW, newW) & 0xffff : csumReplace32(check, oldW, newW);
}

/** Same for a 16-bit word (ports): a partial checksum does not cover ports, so it is unchanged. */
export function l4Replace16(check: number, oldW: number, newW: number, partial: boolean): number {
  return partial ? check : csumReplace16(check, oldW, newW);
}

/** UDP over IPv4 (RFC 768): a computed 0 is sent as 0xffff; 0 on the wire means "no checksum". */
export function udpFix(check: number): number {
  return check === 0 ? 0xffff : check;
}
