/**
 * FULLNAT (the Alibaba LVS FULLNAT patches' ip_vs_fnat_xmit, iqiyi/dpvs dp_vs_xmit_fnat):
 * both addresses are rewritten. A client packet CIP:cport → VIP:vport leaves as
 * LIP:lport → RIP:rport, where LIP:lport is the local address and port the connection got
 * when it was created (Pipeline.allocLocal); the real server answers the local address, which
 * the core owns like a VIP (ARCHITECTURE D4), and its reply RIP:rport → LIP:lport goes back as
 * VIP:vport → CIP:cport to the MAC the client's frames came from. The real servers need no
 * route to the clients, only to the local addresses. Port mapping allowed; the TTL loses one
 * (the pipeline, xmit/ttl.ts) as for every method; TCP sequence
 * numbers and options (MSS) unchanged: no SYN proxy, no TOA (the real servers see the local
 * address as the source). Checksums by RFC 1624, partial ones as NAT (rewrite.ts).
 */
import { C0, LOCAL, PORTS_CV, PORTS_D, STRIDE, V0 } from '../conn-table.js';
import { M_FNAT, type CoreDest } from '../dests.js';
import type { Pipeline } from '../pipeline.js';
import { fixIcmpChecksum, rewriteAddrPort, rewriteInner, rewriteOuterAddr } from './rewrite.js';
import type { XmitModule } from './types.js';

export const fnatXmit: XmitModule = {
  name: 'FNAT',
  code: M_FNAT,
  hashOut: true,
  noOutput: false,
  portMap: true,

  inbound(pl: Pipeline, r: number, dest: CoreDest): number {
    const e = pl.conns.e;
    const o = r * STRIDE;
    const lo = e[o + LOCAL]!;
    const lw = pl.conns.lipWords;
    const li = (lo >>> 16) * 4;
    const p = pl.p;
    // `| 0`: words above 2^31 would be boxed when passed on (nat.ts measured it).
    rewriteAddrPort(p, 0, lw[li]! | 0, lw[li + 1]! | 0, lw[li + 2]! | 0, lw[li + 3]! | 0, lo & 0xffff);
    rewriteAddrPort(p, 1, dest.w0 | 0, dest.w1 | 0, dest.w2 | 0, dest.w3 | 0, e[o + PORTS_D]! >>> 16);
    return pl.toDest(dest);
  },

  outbound(pl: Pipeline, r: number): number {
    const e = pl.conns.e;
    const o = r * STRIDE;
    const cv = e[o + PORTS_CV]!;
    const p = pl.p;
    rewriteAddrPort(p, 0, e[o + V0]! | 0, e[o + V0 + 1]! | 0, e[o + V0 + 2]! | 0, e[o + V0 + 3]! | 0, cv & 0xffff);
    rewriteAddrPort(p, 1, e[o + C0]! | 0, e[o + C0 + 1]! | 0, e[o + C0 + 2]! | 0, e[o + C0 + 3]! | 0, cv >>> 16);
    return pl.toClient(r);
  },

  icmp(pl: Pipeline, r: number, dest: CoreDest, toReal: boolean, inner: number): number {
    const e = pl.conns.e;
    const o = r * STRIDE;
    const p = pl.p;
    const lo = e[o + LOCAL]!;
    const lw = pl.conns.lipWords;
    const li = (lo >>> 16) * 4;
    const cv = e[o + PORTS_CV]!;
    if (toReal) {
      // An error about a reply VIP:vport → CIP:cport, from the client's side: to the real server
      // as an error from the local address about its own packet RIP:rport → LIP:lport.
      rewriteOuterAddr(p, 0, lw[li]! | 0, lw[li + 1]! | 0, lw[li + 2]! | 0, lw[li + 3]! | 0);
      rewriteOuterAddr(p, 1, dest.w0 | 0, dest.w1 | 0, dest.w2 | 0, dest.w3 | 0);
      rewriteInner(p, inner, 0, dest.w0 | 0, dest.w1 | 0, dest.w2 | 0, dest.w3 | 0, e[o + PORTS_D]! >>> 16);
      rewriteInner(p, inner, 1, lw[li]! | 0, lw[li + 1]! | 0, lw[li + 2]! | 0, lw[li + 3]! | 0, lo & 0xffff);
      fixIcmpChecksum(p);
      return pl.toDest(dest);
    }
    // An error about LIP:lport → RIP:rport, from the real server's side: to the client from the
    // VIP about its own packet CIP:cport → VIP:vport.
    rewriteOuterAddr(p, 0, e[o + V0]! | 0, e[o + V0 + 1]! | 0, e[o + V0 + 2]! | 0, e[o + V0 + 3]! | 0);
    rewriteOuterAddr(p, 1, e[o + C0]! | 0, e[o + C0 + 1]! | 0, e[o + C0 + 2]! | 0, e[o + C0 + 3]! | 0);
    rewriteInner(p, inner, 0, e[o + C0]! | 0, e[o + C0 + 1]! | 0, e[o + C0 + 2]! | 0, e[o + C0 + 3]! | 0, cv >>> 16);
    rewriteInner(p, inner, 1, e[o + V0]! | 0, e[o + V0 + 1]! | 0, e[o + V0 + 2]! | 0, e[o + V0 + 3]! | 0, cv & 0xffff);
    fixIcmpChecksum(p);
    return pl.toClient(r);
  },
};
