/**
 * The director is a hop: IPVS decrements the TTL / hop limit of every packet it transmits to a
 * non-local route (decrement_ttl(), called from __ip_vs_get_out_rt / __ip_vs_get_out_rt_v6
 * since Linux 5.3, so for NAT, DR, TUN, bypass and relayed ICMP errors), and replies that
 * come back through the director pass the kernel's ip_forward, which does the same. The
 * pipeline calls this once per forwarded frame (Pipeline.toReal / fromReal / icmpError),
 * before the method's transmitter, which then sees the decremented packet (TUN copies it into
 * the outer header).
 */
import type { PacketView } from '../packet.js';

/**
 * Decrements the IPv4 TTL or IPv6 hop limit of the parsed packet at p.l3 in place and
 * returns true; returns false, leaving the packet untouched, when it was ≤ 1 (the packet must
 * not be forwarded: RFC 791 §3.2 "Time to Live", RFC 8200 §3 "Hop Limit", RFC 1812 §5.3.1).
 * The IPv4 header checksum is updated as ip_decrease_ttl() does, which is RFC 1624 eqn. 3 for
 * the 16-bit word TTL|protocol losing 0x0100: HC' = ~(~HC + ~m + m') = HC + 0x0100 with
 * end-around carry, except that HC 0xfeff becomes 0x0000, not 0xffff (-0): eqn. 3 and a full
 * recomputation both give 0x0000 there (RFC 1624 §3, the case eqn. 2 gets wrong).
 */
export function decrementTtl(p: PacketView): boolean {
  const b = p.b;
  const l3 = p.l3;
  if (p.t.fam === 4) {
    const ttl = b[l3 + 8]!;
    if (ttl <= 1) return false;
    b[l3 + 8] = ttl - 1;
    // ip_decrease_ttl(): check += htons(0x0100); check + (check >= 0xffff).
    const c = ((b[l3 + 10]! << 8) | b[l3 + 11]!) + 0x0100;
    const n = c >= 0xffff ? c + 1 : c;
    b[l3 + 10] = (n >>> 8) & 0xff;
    b[l3 + 11] = n & 0xff;
    return true;
  }
  const hl = b[l3 + 7]!;
  if (hl <= 1) return false;
  b[l3 + 7] = hl - 1;
  return true;
}
