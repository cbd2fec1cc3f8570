/**
 * The forwarding-method contract (IPVS `cp->packet_xmit`, dpvs src/ipvs/ip_vs_xmit.c): a
 * small module per method, registered by name in ./index.ts: NAT, DR, TUN and FULLNAT.
 */
import type { ForwardMethod } from '../../model/types.js';
import type { CoreDest } from '../dests.js';
import type { Pipeline } from '../pipeline.js';

/** One forwarding method. Functions return a pipeline action (A_*) and set the pipeline's out* fields. */
export interface XmitModule {
  readonly name: ForwardMethod;
  /** M_* code stored in connection flags. */
  readonly code: number;
  /** Replies come back through the director: hash the reply tuple (RIP:rport → CIP:cport; FULLNAT RIP:rport → LIP:lport). */
  readonly hashOut: boolean;
  /** IPVS IP_VS_CONN_F_NOOUTPUT: TCP tracked with the INPUT-ONLY table until a reply is seen. */
  readonly noOutput: boolean;
  /** Port mapping allowed (real server port may differ from the virtual port). */
  readonly portMap: boolean;
  /** Client → real server, for connection record r bound to dest. */
  inbound(pl: Pipeline, r: number, dest: CoreDest): number;
  /** Real server → client (only methods with hashOut). */
  outbound(pl: Pipeline, r: number): number;
  /**
   * An ICMP error about connection r (ip_vs_in_icmp / ip_vs_out_icmp): `toReal` true when it
   * came from the client side and goes to the real server. `inner` is the offset of the
   * quoted IP header.
   */
  icmp(pl: Pipeline, r: number, dest: CoreDest, toReal: boolean, inner: number): number;
}
