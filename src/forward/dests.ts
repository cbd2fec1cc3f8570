/**
 * Real servers as one worker's forwarding core holds them: the scheduler's `Dest` plus what
 * the hot path needs (address words, next-hop MAC, egress interface, method) and IPVS's
 * bookkeeping (available, thresholds). Connections refer to a dest by its id (index into
 * DestTable.list); a dest removed from the config stays in the table, unavailable, until its
 * last connection is gone (IPVS's dest trash, ip_vs_ctl.c ip_vs_trash_put_dest).
 */
import type { Dest } from './schedulers/types.js';
import { formatIPv4, formatIPv6 } from '../lib/ip.js';

/** Forwarding method codes stored in connections (IP_VS_CONN_F_MASQ, _DROUTE, _TUNNEL, FULLNAT). */
export const M_NAT = 0;
export const M_DR = 1;
export const M_TUN = 2;
export const M_FNAT = 3;
export const METHOD_NAMES = ['Masq', 'Route', 'Tunnel', 'FullNat'] as const;

/** TUN encapsulations (IPVS IP_VS_CONN_F_TUNNEL_TYPE_IPIP, _GUE, _GRE). */
export const TUN_IPIP = 0;
export const TUN_GUE = 1;
export const TUN_GRE = 2;
/** TUN checksum options (IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM, _CSUM, _REMCSUM). */
export const TUN_NOCSUM = 0;
export const TUN_CSUM = 1;
export const TUN_REMCSUM = 2;

/** A real server of one service in one worker. */
export class CoreDest implements Dest {
  /** Position in the service's dest list (config order). */
  index: number;
  readonly key: string;
  readonly addr4: number;
  readonly addr6: Uint8Array | null;
  readonly port: number;
  weight = 0;
  activeConns = 0;
  inactiveConns = 0;
  persistConns = 0;
  overloaded = false;

  /** Slot in DestTable.list (what connections store). */
  id = -1;
  /** Owning service id. */
  svc = -1;
  /** Address as four words (IPv4: w0 only). */
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly fam: 4 | 6;
  /** M_* code. */
  method: number;
  /** IP_VS_DEST_F_AVAILABLE: in the service's list (not removed by config or health). */
  available = true;
  /** Configured weight (before health). */
  configWeight: number;
  upperThreshold = 0;
  lowerThreshold = 0;
  /** The address as text (canonical, as the model and netlink write it). */
  readonly addrText: string;
  /**
   * The L2 next hop (ARCHITECTURE D7): the real server itself when it is on a connected
   * network (or on-link by the kernel's route), else the gateway of the kernel's route to it.
   */
  nextHop: string;
  /** Reached through a gateway (the kernel's route has one): NAT, TUN, FULLNAT; DR needs L2 adjacency. */
  viaGateway = false;
  /** Next hop: egress interface slot (-1 unknown) and MAC (hi 16 bits, lo 32 bits); macKnown false = unresolved. */
  ifSlot = -1;
  macHi = 0;
  macLo = 0;
  macKnown = false;
  /** Set by the pipeline when a frame was dropped for lack of a MAC; the worker asks for resolution and clears it. */
  needNeighbour = false;
  /** Stats slot in the shared counters (-1 = none). */
  statsSlot = -1;
  /** This dest is a service's sorry server, not one of its real servers. */
  sorry = false;
  /** `sorry_server_inhibit`: the sorry server stays in the list with weight 0 while quorum is up. */
  sorryInhibit = false;
  /** Health as the checks report it (alpha real servers start down). */
  healthUp = true;
  /** Dynamic weight from a check (misc_dynamic); null = the configured weight. */
  weightOverride: number | null = null;
  /** keepalived inhibit_on_failure: down = weight 0 instead of removal. */
  inhibitOnFailure = false;
  /** Its forwarding method is implemented (every model method is now; kept for a method a model may name that the core lacks). */
  supported = true;
  /** TUN: encapsulation (TUN_*), GUE port, checksum option (TUN_NOCSUM...). */
  tunType = TUN_IPIP;
  tunPort = 0;
  tunCsum = TUN_NOCSUM;
  /**
   * TUN: the outer source (the director's address on the egress interface, as the kernel's
   * route lookup picks it: ip_vs_tunnel_xmit's saddr), as words; tunSrcOk false = none known.
   */
  tunSrcOk = false;
  tunS0 = 0;
  tunS1 = 0;
  tunS2 = 0;
  tunS3 = 0;

  constructor(o: { index: number; key: string; fam: 4 | 6; words: readonly number[]; addr6: Uint8Array | null; addrText?: string; port: number; weight: number; method: number }) {
    this.index = o.index;
    this.key = o.key;
    this.addrText = o.addrText ?? (o.fam === 4 ? formatIPv4(o.words[0]! >>> 0) : o.addr6 ? formatIPv6(o.addr6) : '');
    this.nextHop = this.addrText;
    this.fam = o.fam;
    this.w0 = o.words[0]! >>> 0;
    this.w1 = o.words[1]! >>> 0;
    this.w2 = o.words[2]! >>> 0;
    this.w3 = o.words[3]! >>> 0;
    this.addr4 = o.fam === 4 ? this.w0 : 0;
    this.addr6 = o.addr6;
    this.port = o.port;
    this.weight = o.weight;
    this.configWeight = o.weight;
    this.method = o.method;
  }

  /** ip_vs_dest_totalconns(). */
  get totalConns(): number {
    return this.activeConns + this.inactiveConns;
  }

  /** Connections (and templates) still referring to this dest. */
  get refs(): number {
    return this.activeConns + this.inactiveConns + this.persistConns;
  }
}

/** The key of a sorry server's dest (and of its stats slot: `SERVICE|KEY`). */
export function sorryKeyOf(ss: { readonly address: string; readonly port: number; readonly method: string }): string {
  return `sorry:${ss.address}:${ss.port}:${ss.method}`;
}

/** Every dest of one worker, by id; ids of dests with no references left are reused. */
export class DestTable {
  readonly list: (CoreDest | null)[] = [];
  private readonly free: number[] = [];

  add(d: CoreDest): number {
    const id = this.free.length ? this.free.pop()! : this.list.length;
    d.id = id;
    this.list[id] = d;
    return id;
  }

  /** Frees d's id once nothing refers to it; returns true when freed. */
  release(d: CoreDest): boolean {
    if (d.refs > 0 || d.id < 0) return false;
    this.list[d.id] = null;
    this.free.push(d.id);
    d.id = -1;
    return true;
  }
}
