/**
 * DR (direct routing, IPVS ip_vs_dr_xmit): only the destination MAC changes; the real server
 * holds the VIP on a non-ARPing interface and answers the client directly. Same L2 segment,
 * no port mapping (the compiler rejects a real port differing from the virtual one).
 */
import { A_DROP } from '../actions.js';
import { M_DR, type CoreDest } from '../dests.js';
import type { Pipeline } from '../pipeline.js';
import type { XmitModule } from './types.js';

export const drXmit: XmitModule = {
  name: 'DR',
  code: M_DR,
  hashOut: false,
  noOutput: true,
  portMap: false,

  inbound(pl: Pipeline, _r: number, dest: CoreDest): number {
    return pl.toDest(dest);
  },

  outbound(): number {
    return A_DROP;
  },

  icmp(pl: Pipeline, _r: number, dest: CoreDest, toReal: boolean): number {
    // ip_vs_in_icmp with DR: the error goes to the real server unchanged (it owns the VIP).
    return toReal ? pl.toDest(dest) : A_DROP;
  },
};
