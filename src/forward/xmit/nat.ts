/**
 * NAT (masquerading, IPVS ip_vs_nat_xmit / handle_response): client packets get the real
 * server's address and port as destination; replies come back through the director and get
 * the virtual address and port back as source, then go to the MAC the client's frame came
 * from (ARCHITECTURE D7). Port mapping allowed. The TTL loses one both ways (the pipeline,
 * xmit/ttl.ts: IPVS decrement_ttl for client packets, the kernel's ip_forward for replies).
 */
import { D0, PORTS_CV, PORTS_D, STRIDE, V0 } from '../conn-table.js';
import { M_NAT, type CoreDest } from '../dests.js';
import type { Pipeline } from '../pipeline.js';
import { fixIcmpChecksum, rewriteAddrPort, rewriteInner, rewriteOuterAddr } from './rewrite.js';
import type { XmitModule } from './types.js';

export const natXmit: XmitModule = {
  name: 'NAT',
  code: M_NAT,
  hashOut: true,
  noOutput: false,
  portMap: true,

  inbound(pl: Pipeline, r: number, dest: CoreDest): number {
    const e = pl.conns.e;
    const dport = e[r * STRIDE + PORTS_D]! >>> 16;
    // `| 0` as in outbound(): the dest's words are uint32 (heap numbers when passed on above 2^31).
    rewriteAddrPort(pl.p, 1, dest.w0 | 0, dest.w1 | 0, dest.w2 | 0, dest.w3 | 0, dport);
    return pl.toDest(dest);
  },

  outbound(pl: Pipeline, r: number): number {
    const e = pl.conns.e;
    const o = r * STRIDE;
    // `| 0`: words above 2^31 read from a Uint32Array would be boxed as heap numbers when passed
    // on (measured: 3.9 heap bytes per reply packet without it, 0 with it).
    rewriteAddrPort(pl.p, 0, e[o + V0]! | 0, e[o + V0 + 1]! | 0, e[o + V0 + 2]! | 0, e[o + V0 + 3]! | 0, e[o + PORTS_CV]! & 0xffff);
    return pl.toClient(r);
  },

  icmp(pl: Pipeline, r: number, dest: CoreDest, toReal: boolean, inner: number): number {
    const e = pl.conns.e;
    const o = r * STRIDE;
    const p = pl.p;
    if (toReal) {
      // ip_vs_nat_icmp(inout=0): outer daddr and quoted saddr/sport become the real server's.
      rewriteOuterAddr(p, 1, dest.w0 | 0, dest.w1 | 0, dest.w2 | 0, dest.w3 | 0);
      rewriteInner(p, inner, 0, e[o + D0]! | 0, e[o + D0 + 1]! | 0, e[o + D0 + 2]! | 0, e[o + D0 + 3]! | 0, e[o + PORTS_D]! >>> 16);
      fixIcmpChecksum(p);
      return pl.toDest(dest);
    }
    // ip_vs_nat_icmp(inout=1): outer saddr and quoted daddr/dport become the virtual service's.
    rewriteOuterAddr(p, 0, e[o + V0]! | 0, e[o + V0 + 1]! | 0, e[o + V0 + 2]! | 0, e[o + V0 + 3]! | 0);
    rewriteInner(p, inner, 1, e[o + V0]! | 0, e[o + V0 + 1]! | 0, e[o + V0 + 2]! | 0, e[o + V0 + 3]! | 0, e[o + PORTS_CV]! & 0xffff);
    fixIcmpChecksum(p);
    return pl.toClient(r);
  },
};
