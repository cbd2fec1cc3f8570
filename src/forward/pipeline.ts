/**
 * The forwarding pipeline of one worker: a linear path per frame, in the order of dpvs's
 * `__dp_vs_in` / Linux ip_vs_in():
 *
 *   parse → (ARP → responder) → dst MAC ours? → ICMP (echo/ND → responder; errors → relay)
 *   → connection lookup (either direction) → [reply: TCP OUTPUT state, method.outbound]
 *   → [client: dest gone → expire (expire_nodest_conn); SYN on TIME_WAIT/CLOSE → reuse]
 *   → miss: service lookup (fwmark rules, VIP:port, VIP:0) → TCP needs a SYN
 *   → persistence template / scheduler → new connection → TCP INPUT state → method.inbound
 *
 * Pure and synchronous: time comes in as a tick number, frames as (buffer, offset, length),
 * and the result is an action plus `outIf/outOff/outLen` describing the frame to send
 * (rewritten in place, or built in the scratch area of the same buffer). No allocation and
 * no string keys on the per-packet path; configuration, health and claims arrive through
 * methods called between batches.
 */
import type { CoreVip, ForwardMethod, Model, RealServer, TunnelOptions, VirtualServer } from '../model/types.js';
import { formatIPv4, formatIPv6 } from '../lib/ip.js';
import { parseMac } from '../lib/mac.js';
import { A_DROP, A_IGNORE, A_TX, A_TX_MULTI, MAX_MULTI } from './actions.js';
import {
  ConnTable, STRIDE, C0, V0, D0, PORTS_CV, PORTS_D, FLAGS, SVC, DEST, DEADLINE, CONTROL, MAC_HI, MAC_LO, LOCAL,
  F_V6, F_DEST_V6, F_TEMPLATE, F_INACTIVE, F_NOOUTPUT, F_METHOD_SHIFT, F_METHOD_MASK, KEY_OUT,
} from './conn-table.js';
import { CoreDest, DestTable, METHOD_NAMES, M_DR, M_FNAT, M_TUN, TUN_GRE, TUN_GUE, TUN_IPIP, TUN_CSUM, TUN_NOCSUM, TUN_REMCSUM, sorryKeyOf } from './dests.js';
import { KeyMap } from './key-map.js';
import { macHiAt, macLoAt, macParts, setMacs } from './l2.js';
import {
  PacketView, parseFrame, Tuple, P_OK_IP, P_OK_ARP, P_OTHER_ETHERTYPE, P_BAD_IHL, P_IPV6_EXT_UNSAFE,
  IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IPIP, IPPROTO_GRE, TCP_SYN, TCP_RST, VIRTIO_NET_HDR_F_DATA_VALID,
} from './packet.js';
import { DIR_INPUT, DIR_OUTPUT, sTW, sCL, tcpNextState, tcpTimeoutsS, TCP_STATE_ACTIVE, TCP_STATE_NAMES } from './proto/tcp.js';
import { UDP_DEFAULT_TIMEOUT_S } from './proto/udp.js';
import { checksum } from './checksum.js';
import { arpReply, echoReply, icmpPortUnreachable, icmpTimeExceeded, neighbourAdvert, tcpReset } from './responder.js';
import { createScheduler } from './schedulers/index.js';
import { overloadAfterThresholdChange } from './schedulers/dest-load.js';
import { createPersistenceKey, persistenceServiceOf, persistenceTemplateKey } from './schedulers/persistence-key.js';
import type { FlowKey } from './schedulers/types.js';
import { ServiceIndex, ServiceRt, compileFwmarkRules, ipvsServicesOf, maskWords, sameServiceIdentity, textWords } from './services.js';
import { GLOBAL_COUNTERS, S_ACTIVE, S_CONNS, S_INACTIVE, S_INBYTES, S_INPKTS, S_OUTBYTES, S_OUTPKTS, S_PERSIST, STAT_STRIDE, gIndex, localStats, type GlobalCounter, type StatsRegion } from './stats.js';
import { getXmit, methodCode, xmitByCode } from './xmit/index.js';
import { tunnelIcmp } from './xmit/tun.js';
import { decrementTtl } from './xmit/ttl.js';
import { PARSE_REASONS } from './packet.js';

export { A_DROP, A_IGNORE, A_TX, A_TX_MULTI } from './actions.js';

/** Bytes reserved per frame built in the scratch area. */
export const SCRATCH_FRAME = 2048;
export { MAX_MULTI, TUN_HEADROOM } from './actions.js';

/**
 * Connection sync (src/sync/) as the pipeline sees it: told of every packet from the client
 * side of a connection, after its state transition and new deadline (ip_vs_in_hook calls
 * ip_vs_sync_conn there). Null = sync not configured.
 */
export interface ConnSyncSink {
  input(r: number): void;
}

/** An interface the core receives and sends on. */
export interface IfaceSpec {
  readonly name: string;
  /** 6 bytes or text. */
  readonly mac: Uint8Array | string;
  /** Frames carry a virtio_net_hdr (PACKET_VNET_HDR). */
  readonly vnet: boolean;
  /** Connected networks (the interface's addresses), for choosing a real server's egress. */
  readonly nets: readonly { readonly address: string; readonly prefixLen: number }[];
  /** The interface's MTU (TUN's encapsulation must fit it); default 1500. */
  readonly mtu?: number;
}

/** An interface at run time. */
export interface IfaceRt {
  readonly slot: number;
  readonly name: string;
  readonly macHi: number;
  readonly macLo: number;
  readonly vnet: boolean;
  readonly nets: readonly { fam: 4 | 6; n: number[]; m: number[] }[];
  /** The interface's own addresses (words) with their masks, in the order given (TUN's outer source). */
  readonly addrs: readonly { fam: 4 | 6; w: number[]; m: number[]; linkLocal: boolean }[];
  readonly mtu: number;
}

/** Options of a pipeline. */
export interface PipelineOptions {
  /** Connection table records. */
  readonly capacity: number;
  /** Tick length (connection timeouts are kept in ticks). Default 100 ms. */
  readonly tickMs?: number;
  readonly seed?: number;
  /** Uniform [0,1) source for schedulers (twos). */
  readonly random?: () => number;
  readonly wheelSlots?: number;
  /** Shared counters region; a private one by default. */
  readonly stats?: StatsRegion;
  /** Generated ICMP errors per second (kernel icmp_msgs_per_sec) and burst. */
  readonly icmpPerS?: number;
  /** Backing memory of the connection table (the worker passes a huge-page allocator). */
  readonly alloc?: (bytes: number) => ArrayBuffer;
  readonly icmpBurst?: number;
  /**
   * Bytes the caller guarantees free before every frame's offset (the worker leaves
   * TUN_HEADROOM): TUN prepends its outer headers there instead of copying the frame.
   */
  readonly headroom?: number;
  /**
   * This worker's index and the number of workers: FULLNAT local ports are taken from this
   * worker's share (lport ≡ index mod workers), which the fanout program returns for replies
   * to a local address (fanout-program.ts). Default 0 of 1.
   */
  readonly workerIndex?: number;
  readonly workers?: number;
}

/** FULLNAT local ports (dpvs sa_pool 1025-65535; the kernel FULLNAT patches take 5000-65535). */
export const LPORT_MIN = 1025;
export const LPORT_MAX = 65535;
/** Ports tried per local address before the next one is tried (the kernel patches' lport_tries is 10 000; a sequential cursor makes a long busy run mean exhaustion). */
export const LPORT_TRIES = 1024;

/** Stats slots assigned by the main thread: service key → slot, `svcKey|realKey` → slot. */
export interface StatsSlots {
  readonly svc: Readonly<Record<string, number>>;
  readonly dest: Readonly<Record<string, number>>;
}

/** Health of a real server as the checks see it. */
export interface RealHealth {
  readonly up: boolean;
  /** Dynamic weight (misc_dynamic); undefined = the configured weight. */
  readonly weight?: number;
}

/** A trace answer (lvsadm trace): where a new flow would go and why. */
export interface TraceResult {
  readonly flow: string;
  /** The IPVS service (a group entry's own key, e.g. `group:tcp:web@198.18.0.21:80`). */
  readonly service: string | null;
  /** The virtual_server it belongs to (model key). */
  readonly virtualServer: string | null;
  readonly matchedBy: 'fwmark' | 'address' | 'port-zero' | null;
  readonly fwmark: number;
  readonly serviceActive: boolean;
  readonly existingConnection: { readonly state: string; readonly dest: string; readonly expiresInS: number } | null;
  readonly persistence: { readonly template: string; readonly hit: boolean; readonly dest: string | null } | null;
  readonly scheduler: string | null;
  readonly dest: string | null;
  readonly method: ForwardMethod | null;
  readonly reason: string;
  /**
   * FULLNAT: the local address (and port) the real server sees as the source: an existing
   * connection's, or for a new one the address the service's round-robin gives next, with how
   * the port is chosen.
   */
  readonly local?: { readonly address: string; readonly port: number | null; readonly why: string } | null;
}

/** One row of the connection listing (ipvsadm -L -c). */
export interface ConnRow {
  readonly proto: string;
  readonly expireS: number;
  readonly state: string;
  readonly source: string;
  readonly virtual: string;
  readonly destination: string;
  readonly template: boolean;
  readonly method: string;
  /** FULLNAT: the local address and port (`LIP:lport`) the real server sees. */
  readonly local?: string;
  /** The worker whose table holds it (set by the subsystem when several run). */
  readonly worker?: number;
}

interface MutableFlow {
  family: 'ipv4' | 'ipv6';
  srcAddr4: number;
  srcAddr6: Uint8Array | null;
  srcPort: number;
  dstAddr4: number;
  dstAddr6: Uint8Array | null;
  dstPort: number;
  proto: number;
}

function wordsToBytes(out: Uint8Array, w0: number, w1: number, w2: number, w3: number): Uint8Array {
  const ws = [w0, w1, w2, w3];
  for (let i = 0; i < 4; i++) {
    const w = ws[i]!;
    out[i * 4] = w >>> 24; out[i * 4 + 1] = (w >>> 16) & 255; out[i * 4 + 2] = (w >>> 8) & 255; out[i * 4 + 3] = w & 255;
  }
  return out;
}

function bytesInto(out: Uint32Array, b: Uint8Array): void {
  for (let i = 0; i < 4; i++) out[i] = ((b[i * 4]! << 24) | (b[i * 4 + 1]! << 16) | (b[i * 4 + 2]! << 8) | b[i * 4 + 3]!) >>> 0;
}

function bytesToWords(b: Uint8Array): [number, number, number, number] {
  const w = (i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  return [w(0), w(4), w(8), w(12)];
}

/** Text of an address held as words. */
export function wordsText(fam: number, w0: number, w1: number, w2: number, w3: number): string {
  return fam === 4 ? formatIPv4(w0) : formatIPv6(wordsToBytes(new Uint8Array(16), w0, w1, w2, w3));
}

function endpoint(fam: number, addr: string, port: number): string {
  return fam === 4 ? `${addr}:${port}` : `[${addr}]:${port}`;
}

/** The forwarding pipeline of one worker. */
export class Pipeline {
  readonly p = new PacketView();
  readonly conns: ConnTable;
  readonly destTable = new DestTable();
  ifaces: IfaceRt[] = [];
  private ifaceByName = new Map<string, number>();
  services: (ServiceRt | null)[] = [];
  private svcByKey = new Map<string, ServiceRt>();
  /** The IPVS services of each virtual_server (model key): one, or a group's entries. */
  private byVs = new Map<string, ServiceRt[]>();
  private index = new ServiceIndex();
  private vips = new KeyMap(16);
  /** TUN dests by (address, tunnel type, GUE port): an ICMP error about an outer packet names its dest (ip_vs_find_tunnel). */
  private tunDests = new KeyMap(16);
  private vipClaimed = new Uint8Array(0);
  private vipIf = new Int32Array(0);
  private vipList: CoreVip[] = [];
  private claimedAddrs = new Set<string>();
  private claimedInstances = new Set<string>();
  private neighbours = new Map<string, { hi: number; lo: number }>();
  /** Kernel routes to real servers outside the connected networks (address → interface, gateway). */
  private routes = new Map<string, { readonly ifname: string; readonly gateway: string | null }>();
  private trash: CoreDest[] = [];
  private tcpTicks = new Int32Array(11);
  private udpTicks = 3000;
  readonly tickMs: number;
  stats: StatsRegion;
  private g: Float64Array;
  private readonly random: () => number;
  /** Bytes free before each frame (PipelineOptions.headroom). */
  readonly headroom: number;
  /** This worker and the number of workers (FULLNAT local port partition). */
  readonly workerIndex: number;
  readonly workers: number;
  /** FULLNAT local addresses: text → index into conns.lipWords (append-only: connections refer to indexes). */
  private readonly lipIndex = new Map<string, number>();
  private lipText: string[] = [];
  /** Per local address: the allocation cursor (position within this worker's share of the ports). */
  private lipCursor = new Uint32Array(0);
  /** Current tick (set by process/advance). */
  now = 0;
  // Output of the last process() call.
  outIf = -1;
  outOff = 0;
  outLen = 0;
  /** A_TX_MULTI: frames out of outIf, in order. */
  outCount = 0;
  readonly outOffs = new Uint32Array(MAX_MULTI);
  readonly outLens = new Uint32Array(MAX_MULTI);
  /** The frame being processed: offset, length, ingress interface (read by the xmit modules). */
  inOff = 0;
  inLen = 0;
  inIf = -1;
  /** Segment area [segStart, segEnd) for A_TX_MULTI frames (reused by each frame that needs it). */
  segStart = 0;
  segEnd = 0;
  /** TUN outer IPv4 identification (ip_select_ident: a counter, as with ignore_df). */
  tunId = 0;
  // Scratch area for frames the core builds (same buffer as the frames).
  private scratchStart = 0;
  private scratchEnd = 0;
  private scratchPos = 0;
  /** Set when some dest needs neighbour resolution (the worker reads and clears it). */
  needNeighbour = false;
  private readonly it = new Tuple();
  /** A tuple for the TUN ICMP relay (xmit/tun.ts tunnelIcmp). */
  readonly tunTuple = new Tuple();
  private readonly flow: MutableFlow = { family: 'ipv4', srcAddr4: 0, srcAddr6: null, srcPort: 0, dstAddr4: 0, dstAddr6: null, dstPort: 0, proto: 0 };
  private readonly src6 = new Uint8Array(16);
  private readonly dst6 = new Uint8Array(16);
  private readonly pkey = createPersistenceKey();
  /** Template key words (client net, virtual address), reused. */
  private readonly cw = new Uint32Array(4);
  private readonly vw = new Uint32Array(4);
  /** Template record chosen by the last schedule() (-1 none). */
  private tmpl = -1;
  private icmpTokens: number;
  private readonly icmpPerTick: number;
  private readonly icmpBurst: number;
  private lastIcmpTick = 0;
  /** Problems met applying the model (unsupported method, bad range); for the subsystem to report. */
  problems: string[] = [];
  /** Connection sync (src/sync/worker-sync.ts), null = off. */
  syncSink: ConnSyncSink | null = null;

  constructor(o: PipelineOptions) {
    this.tickMs = o.tickMs ?? 100;
    this.conns = new ConnTable({ capacity: o.capacity, seed: o.seed, wheelSlots: o.wheelSlots, alloc: o.alloc });
    this.conns.dests = this.destTable.list;
    this.stats = o.stats ?? localStats();
    this.g = this.stats.global;
    let x = (o.seed ?? 0x9e3779b9) >>> 0 || 1;
    this.random = o.random ?? (() => {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      return x / 4294967296;
    });
    this.icmpBurst = o.icmpBurst ?? 50;
    this.icmpPerTick = ((o.icmpPerS ?? 1000) * this.tickMs) / 1000;
    this.icmpTokens = this.icmpBurst;
    this.headroom = o.headroom ?? 0;
    this.workers = Math.max(1, o.workers ?? 1);
    this.workerIndex = Math.min(this.workers - 1, Math.max(0, o.workerIndex ?? 0));
    this.tunId = (this.random() * 65536) & 0xffff;
    this.setTimeouts(0, 0, 0);
  }

  // ───────────────────────────── configuration ─────────────────────────────

  /** Interfaces, in slot order. Call before applyModel. */
  setInterfaces(specs: readonly IfaceSpec[]): void {
    this.ifaces = specs.map((s, slot) => {
      const mac = typeof s.mac === 'string' ? parseMac(s.mac) : s.mac;
      if (!mac) throw new RangeError(`bad MAC for ${s.name}`);
      const { hi, lo } = macParts(mac);
      const nets: { fam: 4 | 6; n: number[]; m: number[] }[] = [];
      const addrs: { fam: 4 | 6; w: number[]; m: number[]; linkLocal: boolean }[] = [];
      for (const n of s.nets) {
        const a = textWords(n.address);
        if (!a) continue;
        const m = maskWords(a.fam, n.prefixLen);
        nets.push({ fam: a.fam, m, n: a.w.map((w, i) => (w & m[i]!) >>> 0) });
        addrs.push({ fam: a.fam, w: [...a.w], m, linkLocal: a.fam === 6 && (a.w[0] >>> 22) === (0xfe80 >>> 6) });
      }
      return { slot, name: s.name, macHi: hi, macLo: lo, vnet: s.vnet, nets, addrs, mtu: s.mtu ?? 1500 };
    });
    this.ifaceByName = new Map(this.ifaces.map((i) => [i.name, i.slot]));
    for (const d of this.destTable.list) if (d) this.placeDest(d);
  }

  /**
   * The kernel's route to a real server that is not on a connected network (RTM_GETROUTE in
   * the director's namespace, looked up by the subsystem): its egress interface and gateway
   * (null: on-link). null forgets it.
   */
  setRoute(address: string, route: { readonly ifname: string; readonly gateway: string | null } | null): void {
    if (route) this.routes.set(address, route);
    else this.routes.delete(address);
    for (const d of this.destTable.list) if (d && d.addrText === address) this.placeDest(d);
  }

  /**
   * A dest's egress interface and L2 next hop (D7): a connected network's interface and the
   * real server itself; else the kernel's route: its interface and its gateway (or the real
   * server when the route is on-link). DR (and TUN's encapsulated packet's L2) needs the real
   * server on the segment: a DR real server behind a gateway gets no egress (`no_egress`) and
   * a problem is reported. The MAC is the next hop's neighbour entry.
   */
  private placeDest(d: CoreDest): void {
    let slot = this.connectedIf(d.fam, d.w0, d.w1, d.w2, d.w3);
    let hop = d.addrText;
    let via = false;
    if (slot < 0) {
      const r = this.routes.get(d.addrText);
      if (r) {
        slot = this.ifaceByName.get(r.ifname) ?? -1;
        if (r.gateway !== null) {
          hop = r.gateway;
          via = true;
        }
      }
    }
    d.viaGateway = via;
    if (via && d.method === M_DR) {
      // IPVS DR rewrites only the destination MAC: the real server must share the director's L2 segment.
      slot = -1;
      const msg = `${this.services[d.svc]?.key ?? '?'} ${d.key}: ${METHOD_TO_NAME[d.method] ?? d.method} real server ${d.addrText} is reached through gateway ${hop}; DR needs it on a network of the director (same L2 segment); not forwarded`;
      if (!this.problems.includes(msg)) this.problems.push(msg);
    }
    d.ifSlot = slot;
    if (d.method === M_TUN) this.placeTunnelSource(d, slot, hop);
    if (d.nextHop !== hop) {
      d.nextHop = hop;
      d.macKnown = false;
    }
    const n = this.neighbours.get(hop);
    if (n) {
      d.macHi = n.hi;
      d.macLo = n.lo;
      d.macKnown = true;
    }
  }

  /**
   * TUN's outer source: the director's address on the egress interface, as the kernel's route
   * lookup picks it for a route without `src` (fib_info_update_nhc_saddr → inet_select_addr:
   * the interface's address whose subnet holds the next hop, else its first address of the
   * family; for IPv6 a non-link-local one first, as ipv6_dev_get_saddr prefers the scope).
   */
  private placeTunnelSource(d: CoreDest, slot: number, hop: string): void {
    d.tunSrcOk = false;
    if (slot < 0) return;
    const h = textWords(hop);
    let best: { w: number[] } | null = null;
    let rank = -1;
    for (const a of this.ifaces[slot]!.addrs) {
      if (a.fam !== d.fam) continue;
      let r = a.linkLocal ? 0 : 1;
      if (h && h.fam === a.fam && a.w.every((w, i) => ((w & a.m[i]!) >>> 0) === ((h.w[i]! & a.m[i]!) >>> 0))) r = 2;
      if (r > rank) { rank = r; best = a; }
    }
    if (!best) {
      const msg = `${this.services[d.svc]?.key ?? '?'} ${d.key}: the egress interface ${this.ifaces[slot]!.name} has no ${d.fam === 4 ? 'IPv4' : 'IPv6'} address for the tunnel's outer source; not forwarded`;
      if (!this.problems.includes(msg)) this.problems.push(msg);
      return;
    }
    d.tunS0 = best.w[0]! >>> 0; d.tunS1 = best.w[1]! >>> 0; d.tunS2 = best.w[2]! >>> 0; d.tunS3 = best.w[3]! >>> 0;
    d.tunSrcOk = true;
  }

  /** The segment area [start, end) of the buffer, for frames the pipeline cuts or builds in numbers (TUN). */
  setSegArea(start: number, end: number): void {
    this.segStart = start;
    this.segEnd = end;
  }

  /** The scratch area [start, end) of the buffer frames are processed in. */
  setScratch(start: number, end: number): void {
    this.scratchStart = start;
    this.scratchEnd = end;
    this.scratchPos = start;
  }

  /** Frees the scratch area for the next batch (after the previous batch was sent). */
  resetScratch(): void {
    this.scratchPos = this.scratchStart;
  }

  /** `lvs_timeouts` (seconds; 0 = IPVS default). */
  setTimeouts(tcpS: number, tcpFinS: number, udpS: number): void {
    const t = tcpTimeoutsS(tcpS, tcpFinS);
    for (let i = 0; i < t.length; i++) this.tcpTicks[i] = Math.max(1, Math.round((t[i]! * 1000) / this.tickMs));
    this.udpTicks = Math.max(1, Math.round(((udpS > 0 ? udpS : UDP_DEFAULT_TIMEOUT_S) * 1000) / this.tickMs));
  }

  /** The interface whose connected network holds an address, or -1. */
  private connectedIf(fam: number, w0: number, w1: number, w2: number, w3: number): number {
    for (const ifc of this.ifaces) {
      for (const n of ifc.nets) {
        if (n.fam !== fam) continue;
        if (((w0 & n.m[0]!) >>> 0) !== n.n[0]) continue;
        if (fam === 6 && (((w1 & n.m[1]!) >>> 0) !== n.n[1] || ((w2 & n.m[2]!) >>> 0) !== n.n[2] || ((w3 & n.m[3]!) >>> 0) !== n.n[3])) continue;
        return ifc.slot;
      }
    }
    return -1;
  }

  /**
   * Moves to a new model (start and reload): services and real servers are matched by key,
   * so untouched ones keep their scheduler state, health and connections; removed real
   * servers become unavailable and leave once their last connection is gone.
   */
  applyModel(model: Model, slots: StatsSlots = { svc: {}, dest: {} }): void {
    this.problems = [];
    const lt = model.global.lvsTimeouts;
    this.setTimeouts(lt.tcpS, lt.tcpFinS, lt.udpS);
    // Core VIPs.
    this.vipList = Object.values(model.coreVips);
    this.vips = new KeyMap(this.vipList.length + 4);
    this.vipClaimed = new Uint8Array(this.vipList.length);
    this.vipIf = new Int32Array(this.vipList.length);
    this.vipList.forEach((v, i) => {
      const a = textWords(v.address);
      if (!a) return;
      this.vips.set(a.fam, 0, a.w[0], a.w[1], a.w[2], a.w[3], 0, i);
      // A FULLNAT local address is answered where its network is (the real servers' side),
      // whatever interface the config fell back to for it.
      const local = v.reason === 'fnat_local' ? this.connectedIf(a.fam, a.w[0], a.w[1], a.w[2], a.w[3]) : -1;
      this.vipIf[i] = local >= 0 ? local : this.ifaceByName.get(v.interface) ?? -1;
      this.vipClaimed[i] = this.claimedAddrs.has(v.address) ? 1 : 0;
    });
    // Services: one ServiceRt per IPVS service (a group's entries are several).
    const seen = new Set<string>();
    const byVs = new Map<string, ServiceRt[]>();
    for (const vs of Object.values(model.virtualServers)) {
      const list: ServiceRt[] = [];
      byVs.set(vs.key, list);
      for (const d of ipvsServicesOf(model, vs, this.problems)) {
        seen.add(d.key);
        let svc = this.svcByKey.get(d.key);
        if (svc && !sameServiceIdentity(svc.def, d)) {
          this.dropService(svc);
          svc = undefined;
        }
        if (svc && !sameScheduler(svc.vs, vs)) {
          // ip_vs_edit_service(): the new scheduler is bound to the same service; dests, their
          // counters and the connections stay. Only the scheduler's own state starts afresh
          // (resched() below gives it the dests).
          svc.scheduler = createScheduler(vs.scheduler, { flags: vs.schedulerFlags, random: this.random });
        }
        if (!svc) {
          const sched = createScheduler(vs.scheduler, { flags: vs.schedulerFlags, random: this.random });
          svc = new ServiceRt(d, vs, sched, persistenceServiceOf(vs, d));
          svc.id = this.services.length;
          this.services.push(svc);
          this.svcByKey.set(d.key, svc);
        }
        svc.def = d;
        svc.vs = vs;
        svc.persist = persistenceServiceOf(vs, d);
        svc.ops = vs.ops && vs.protocol === 'udp';
        svc.persistTicks = vs.persistenceTimeoutS > 0 ? Math.round((vs.persistenceTimeoutS * 1000) / this.tickMs) : 0;
        this.conns.templateTicks[svc.id] = svc.persistTicks;
        svc.statsSlot = slots.svc[d.key] ?? -1;
        svc.active = vs.ownerInstance === null || this.claimedInstances.has(vs.ownerInstance);
        svc.lips = (vs.localAddresses ?? []).filter((a) => (a.includes(':') ? 6 : 4) === svc!.fam).map((a) => this.internLip(a));
        if (svc.lipNext >= svc.lips.length) svc.lipNext = 0;
        this.applyDests(svc, vs, slots);
        list.push(svc);
      }
    }
    for (const svc of [...this.svcByKey.values()]) if (!seen.has(svc.key)) this.dropService(svc);
    this.byVs = byVs;
    // Egress and next hops again (routes may have come with this model; problems are per model).
    for (const svc of this.services) {
      if (!svc) continue;
      for (const d of svc.dests) this.placeDest(d);
      if (svc.sorry) this.placeDest(svc.sorry);
    }
    // TUN dests for ICMP errors about outer packets.
    const tunDests = new KeyMap(16);
    for (const d of this.destTable.list) {
      if (d && d.method === M_TUN) tunDests.set(d.fam, d.tunType, d.w0 | 0, d.w1 | 0, d.w2 | 0, d.w3 | 0, d.tunPort, d.id);
    }
    this.tunDests = tunDests;
    // Index.
    const index = new ServiceIndex();
    index.rules = compileFwmarkRules(model.fwmarkRules);
    for (const svc of this.services) if (svc) index.add(svc);
    this.index = index;
  }

  /** The index of a FULLNAT local address (a new one is appended: indexes never change meaning). */
  private internLip(address: string): number {
    const known = this.lipIndex.get(address);
    if (known !== undefined) return known;
    const a = textWords(address);
    const i = this.lipText.length;
    if (!a || i >= 65536) {
      this.problems.push(`local address ${address}: ${a ? 'more than 65536 local addresses' : 'not an address'}; not used`);
      return -1;
    }
    if ((i + 1) * 4 > this.conns.lipWords.length) {
      const w = new Uint32Array(Math.max(64, (i + 1) * 8));
      w.set(this.conns.lipWords);
      this.conns.lipWords = w;
      const c = new Uint32Array(w.length / 4);
      c.set(this.lipCursor);
      this.lipCursor = c;
    }
    this.conns.lipWords.set(a.w.map((x) => x >>> 0), i * 4);
    // A random start: a restarted worker does not hand out the ports its predecessor just used
    // (the real servers may still hold them in TIME_WAIT).
    this.lipCursor[i] = Math.floor(this.random() * 65536);
    this.lipIndex.set(address, i);
    this.lipText.push(address);
    return i;
  }

  /**
   * FULLNAT: a local address (round-robin over the service's, as ip_vs_get_laddr) and a local
   * port from this worker's share (lport ≡ workerIndex mod workers, so the fanout program sends
   * the replies here) that no live connection uses with this real server and port (the
   * collision check of the kernel patches' ip_vs_conn_new loop). Sets the record's LOCAL word;
   * false when every tried port is in use (no_local_port).
   */
  private allocLocal(svc: ServiceRt, d: CoreDest, r: number, proto: number, rport: number): boolean {
    const n = svc.lips.length;
    const W = this.workers;
    const base = LPORT_MIN + ((this.workerIndex - (LPORT_MIN % W)) % W + W) % W;
    const share = Math.floor((LPORT_MAX - base) / W) + 1;
    const tries = Math.min(share, LPORT_TRIES);
    const conns = this.conns;
    for (let k = 0; k < n; k++) {
      const at = (svc.lipNext + k) % n;
      const lip = svc.lips[at]!;
      if (lip < 0) continue;
      let c = this.lipCursor[lip]! % share;
      for (let i = 0; i < tries; i++) {
        c = c + 1 === share ? 0 : c + 1;
        const lport = base + c * W;
        if (!conns.fnatInUse(d.fam, proto, d.w0, d.w1, d.w2, d.w3, rport, lip, lport)) {
          this.lipCursor[lip] = c;
          svc.lipNext = at + 1 === n ? 0 : at + 1;
          conns.e[r * STRIDE + LOCAL] = ((lip << 16) | lport) >>> 0;
          return true;
        }
      }
      this.lipCursor[lip] = c;
    }
    return false;
  }

  private dropService(svc: ServiceRt): void {
    for (const d of svc.dests) this.retireDest(d);
    if (svc.sorry) this.retireDest(svc.sorry);
    svc.dests = [];
    svc.sorry = null;
    this.services[svc.id] = null;
    this.svcByKey.delete(svc.key);
  }

  private retireDest(d: CoreDest): void {
    d.available = false;
    d.weight = 0;
    if (!this.destTable.release(d)) this.trash.push(d);
  }

  private newDest(svc: ServiceRt, index: number, key: string, address: string, port: number, weight: number, method: ForwardMethod): CoreDest | null {
    const a = textWords(address);
    if (!a) {
      this.problems.push(`${svc.key}: bad real server address ${address}`);
      return null;
    }
    const text = wordsText(a.fam, a.w[0], a.w[1], a.w[2], a.w[3]);
    const d = new CoreDest({ index, key, fam: a.fam, words: a.w, addr6: a.bytes6, addrText: text, port, weight, method: methodCode(method) });
    d.svc = svc.id;
    this.destTable.add(d);
    this.placeDest(d);
    return d;
  }

  private applyDests(svc: ServiceRt, vs: VirtualServer, slots: StatsSlots): void {
    const byKey = new Map(svc.dests.map((d) => [d.key, d]));
    const next: CoreDest[] = [];
    let i = 0;
    for (const rs of Object.values(vs.realServers)) {
      let d = byKey.get(rs.key);
      byKey.delete(rs.key);
      if (d && methodCode(rs.method) !== d.method) {
        this.retireDest(d);
        d = undefined;
      }
      if (!d) {
        const nd = this.newDest(svc, i, rs.key, rs.address, rs.port, rs.weight, rs.method);
        if (!nd) continue;
        d = nd;
        d.healthUp = !rs.alpha;
      }
      if (!getXmit(rs.method)) this.problems.push(`${svc.key} ${rs.key}: forwarding method ${rs.method} not supported yet`);
      d.index = i++;
      d.configWeight = rs.weight;
      // ip_vs_ctl.c __ip_vs_update_dest(): a removed or raised upper threshold clears OVERLOAD now.
      if (d.upperThreshold !== rs.upperThreshold) overloadAfterThresholdChange(d, d.upperThreshold, rs.upperThreshold);
      d.upperThreshold = rs.upperThreshold;
      d.lowerThreshold = rs.lowerThreshold;
      d.inhibitOnFailure = rs.inhibitOnFailure;
      d.statsSlot = slots.dest[`${svc.key}|${rs.key}`] ?? -1;
      d.supported = getXmit(rs.method) !== undefined;
      setTunnel(d, rs.tunnel);
      next.push(d);
    }
    for (const d of byKey.values()) this.retireDest(d);
    svc.dests = next;
    // Sorry server: a dest of the service with its own counters.
    const ss = vs.sorryServer;
    const sorryKey = ss ? sorryKeyOf(ss) : null;
    if (svc.sorry && svc.sorry.key !== sorryKey) {
      this.retireDest(svc.sorry);
      svc.sorry = null;
    }
    if (ss && !svc.sorry) {
      const d = this.newDest(svc, 0, sorryKey!, ss.address, ss.port, 1, ss.method);
      if (d) {
        d.sorry = true;
        d.supported = getXmit(ss.method) !== undefined;
        svc.sorry = d;
      }
    }
    if (svc.sorry && ss) {
      setTunnel(svc.sorry, ss.tunnel);
      svc.sorry.sorryInhibit = ss.inhibit;
      svc.sorry.statsSlot = slots.dest[`${svc.key}|${sorryKey}`] ?? -1;
    }
    this.resched(svc);
  }

  /**
   * Effective availability and weight from config, health and quorum (keepalived ipwrapper.c):
   * a real server down by health is removed (weight 0 with inhibit_on_failure); while quorum
   * is lost and a sorry server is configured, the alive real servers are removed from the
   * pool too (update_quorum_state → perform_quorum_state(vs, false): DEL_DEST, or weight 0
   * with inhibit_on_failure) and the sorry server is added. The sorry server leaves when
   * quorum returns, or with `sorry_server_inhibit` stays with weight 0 (init_service_vs adds
   * it with weight 0 at start; ipvs_cmd turns its DEL_DEST into an EDIT_DEST to weight 0), so
   * its connections continue as on a quiesced real server.
   */
  private effective(svc: ServiceRt, d: CoreDest): void {
    const sorryOn = svc.quorumDown && svc.sorry !== null;
    if (d.sorry) {
      d.available = d.supported && (svc.quorumDown || d.sorryInhibit);
      d.weight = svc.quorumDown ? 1 : 0;
    } else if (d.healthUp && !sorryOn) {
      d.available = d.supported;
      d.weight = d.weightOverride ?? d.configWeight;
    } else {
      d.available = d.supported && d.inhibitOnFailure;
      d.weight = 0;
    }
  }

  /** Recomputes the dests' availability and gives the scheduler those it may use now (the sorry server last: newest in the kernel's list). */
  private resched(svc: ServiceRt): void {
    for (const d of svc.dests) this.effective(svc, d);
    if (svc.sorry) this.effective(svc, svc.sorry);
    const list = svc.dests.filter((d) => d.available);
    if (svc.sorry && svc.sorry.available) list.push(svc.sorry);
    svc.schedDests = list;
    svc.scheduler.update(list);
  }

  /**
   * A real server's health changed (from the check events). Down: removed from scheduling,
   * or kept with weight 0 under inhibit_on_failure. Returns false when the service or real
   * server is unknown.
   */
  setRealHealth(serviceKey: string, realKey: string, h: RealHealth): boolean {
    // The health of a virtual_server's real server holds for every IPVS service of it.
    let found = false;
    for (const svc of this.byVs.get(serviceKey) ?? []) {
      const d = svc.dests.find((x) => x.key === realKey);
      if (!d) continue;
      found = true;
      d.healthUp = h.up;
      d.weightOverride = h.weight ?? null;
      this.resched(svc);
    }
    return found;
  }

  /** Quorum of a service (keepalived quorum/hysteresis, computed by the checks): lost → sorry server only. */
  setServiceQuorum(serviceKey: string, up: boolean): boolean {
    const list = this.byVs.get(serviceKey);
    if (!list || list.length === 0) return false;
    for (const svc of list) {
      svc.quorumDown = !up;
      this.resched(svc);
    }
    return true;
  }

  /** The IPVS services of a virtual_server (one, or a group's entries). */
  servicesOf(vsKey: string): readonly ServiceRt[] {
    return this.byVs.get(vsKey) ?? [];
  }

  /** The service lookup structures (connection sync finds a synced connection's service as ip_vs_find_dest does). */
  get serviceIndex(): ServiceIndex {
    return this.index;
  }

  /** Slot of an interface by name, or -1. */
  ifSlotOf(name: string): number {
    return this.ifaceByName.get(name) ?? -1;
  }

  /** Timeout in ticks of a TCP state, or of UDP (proto 17). */
  timeoutTicks(proto: number, state: number): number {
    return proto === IPPROTO_TCP ? this.tcpTicks[state] ?? this.tcpTicks[0]! : this.udpTicks;
  }

  /** Claims (or releases) core VIPs for an instance; services owned by that instance follow. */
  setClaim(instance: string | null, vips: readonly CoreVip[], claimed: boolean): void {
    for (const v of vips) {
      if (claimed) this.claimedAddrs.add(v.address);
      else this.claimedAddrs.delete(v.address);
    }
    if (instance !== null) {
      if (claimed) this.claimedInstances.add(instance);
      else this.claimedInstances.delete(instance);
    }
    this.vipList.forEach((v, i) => { this.vipClaimed[i] = this.claimedAddrs.has(v.address) ? 1 : 0; });
    for (const svc of this.services) {
      if (svc) svc.active = svc.vs.ownerInstance === null || this.claimedInstances.has(svc.vs.ownerInstance);
    }
  }

  /** A neighbour entry (MAC of a real server or gateway address), or null when it failed. */
  setNeighbour(address: string, mac: string | null): void {
    const m = mac ? parseMac(mac) : null;
    const parts = m ? macParts(m) : null;
    if (parts) this.neighbours.set(address, parts);
    else this.neighbours.delete(address);
    for (const d of this.destTable.list) {
      if (!d || d.nextHop !== address) continue;
      d.macKnown = parts !== null;
      if (parts) {
        d.macHi = parts.hi;
        d.macLo = parts.lo;
      }
    }
  }

  /** Next hops (real servers or gateways) still lacking a MAC, with their interface (and clears the request flags). */
  takeNeighbourRequests(): { address: string; ifname: string | null }[] {
    const out: { address: string; ifname: string | null }[] = [];
    const seen = new Set<string>();
    this.needNeighbour = false;
    for (const d of this.destTable.list) {
      if (!d || !d.needNeighbour) continue;
      d.needNeighbour = false;
      if (seen.has(d.nextHop)) continue;
      seen.add(d.nextHop);
      out.push({ address: d.nextHop, ifname: d.ifSlot >= 0 ? this.ifaces[d.ifSlot]!.name : null });
    }
    return out;
  }

  /** Every next hop the core forwards to, with its egress interface and whether its MAC is known (diagnostics). */
  nextHops(): { address: string; ifname: string | null; known: boolean; via: string | null }[] {
    const seen = new Map<string, { address: string; ifname: string | null; known: boolean; via: string | null }>();
    for (const d of this.destTable.list) {
      if (!d) continue;
      const k = `${d.addrText}|${d.nextHop}`;
      if (!seen.has(k)) seen.set(k, { address: d.addrText, ifname: d.ifSlot >= 0 ? this.ifaces[d.ifSlot]!.name : null, known: d.macKnown, via: d.viaGateway ? d.nextHop : null });
    }
    return [...seen.values()];
  }

  // ───────────────────────────── time ─────────────────────────────

  /** Runs connection expiry up to tick now; frees dests whose last connection left. */
  advance(now: number): number {
    this.now = now;
    const g = this.g;
    const gi = gIndex('conns_expired');
    const n = this.conns.advance(now, (r) => {
      if (!(this.conns.e[r * STRIDE + FLAGS]! & F_TEMPLATE)) g[gi]!++;
    });
    if (this.trash.length) this.trash = this.trash.filter((d) => !this.destTable.release(d));
    return n;
  }

  /** Writes the connection gauges (active, inactive, persistent) into the shared rows. */
  publishGauges(): void {
    const sv = this.stats.svc;
    const dv = this.stats.dest;
    for (const svc of this.services) {
      if (!svc) continue;
      let a = 0, ia = 0, pc = 0;
      const all = svc.sorry ? [...svc.dests, svc.sorry] : svc.dests;
      for (const d of all) {
        a += d.activeConns; ia += d.inactiveConns; pc += d.persistConns;
        if (d.statsSlot >= 0) {
          const o = d.statsSlot * STAT_STRIDE;
          dv[o + S_ACTIVE] = d.activeConns; dv[o + S_INACTIVE] = d.inactiveConns; dv[o + S_PERSIST] = d.persistConns;
        }
      }
      if (svc.statsSlot >= 0) {
        const o = svc.statsSlot * STAT_STRIDE;
        sv[o + S_ACTIVE] = a; sv[o + S_INACTIVE] = ia; sv[o + S_PERSIST] = pc;
      }
    }
  }

  // ───────────────────────────── helpers used by responder and xmit ─────────────────────────────

  /** Bumps a global counter by name (slow path only). */
  count(name: GlobalCounter, by = 1): void {
    this.g[gIndex(name)]! += by;
  }

  /** Reserves a frame in the scratch area; -1 when full. */
  allocScratch(): number {
    if (this.scratchPos + SCRATCH_FRAME > this.scratchEnd) {
      this.count('scratch_full');
      return -1;
    }
    const at = this.scratchPos;
    this.scratchPos += SCRATCH_FRAME;
    return at;
  }

  /** Output: the received frame, rewritten in place, out of ifSlot. */
  outInPlace(ifSlot: number): number {
    this.outIf = ifSlot;
    this.outOff = this.inOff;
    this.outLen = this.inLen;
    return A_TX;
  }

  /** Output: a frame built in the scratch area. */
  outScratch(ifSlot: number, at: number, len: number): number {
    this.outIf = ifSlot;
    this.outOff = at;
    this.outLen = len;
    return A_TX;
  }

  /** Token bucket for generated ICMP errors. */
  icmpAllowed(): boolean {
    const dt = this.now - this.lastIcmpTick;
    if (dt > 0) {
      this.icmpTokens = Math.min(this.icmpBurst, this.icmpTokens + dt * this.icmpPerTick);
      this.lastIcmpTick = this.now;
    }
    if (this.icmpTokens < 1) return false;
    this.icmpTokens -= 1;
    return true;
  }

  /** The dest's next hop can be sent to now; counts why not (and asks for resolution of an unknown MAC). */
  egressOk(d: CoreDest): boolean {
    const g = this.g;
    if (d.ifSlot < 0) {
      g[GI_NO_EGRESS]!++;
      return false;
    }
    if (!d.macKnown) {
      d.needNeighbour = true;
      this.needNeighbour = true;
      g[GI_NO_NEIGHBOUR]!++;
      return false;
    }
    if (this.p.vlanTci >= 0 && d.ifSlot !== this.inIf) {
      g[GI_VLAN_CROSS]!++;
      return false;
    }
    return true;
  }

  /** Output: frames [0, count) of outOffs/outLens, out of ifSlot. */
  outMulti(ifSlot: number, count: number): number {
    this.outIf = ifSlot;
    this.outCount = count;
    return A_TX_MULTI;
  }

  /**
   * L2 rewrite toward a real server; drops (and asks for resolution) when its MAC is unknown.
   * The checks of egressOk() are written out here: the call cost 8 ns per NAT frame (measured
   * over 2 M established frames both ways, 149 → 141 ns).
   */
  toDest(d: CoreDest): number {
    const g = this.g;
    if (d.ifSlot < 0) {
      g[GI_NO_EGRESS]!++;
      return A_DROP;
    }
    if (!d.macKnown) {
      d.needNeighbour = true;
      this.needNeighbour = true;
      g[GI_NO_NEIGHBOUR]!++;
      return A_DROP;
    }
    const p = this.p;
    if (p.vlanTci >= 0 && d.ifSlot !== this.inIf) {
      g[GI_VLAN_CROSS]!++;
      return A_DROP;
    }
    const ifc = this.ifaces[d.ifSlot]!;
    setMacs(p.b, p.frame, d.macHi, d.macLo, ifc.macHi, ifc.macLo);
    if (p.vnet >= 0) p.b[p.vnet] = p.b[p.vnet]! & ~VIRTIO_NET_HDR_F_DATA_VALID;
    g[GI_FWD_IN]!++;
    return this.outInPlace(d.ifSlot);
  }

  /** L2 rewrite back to the client: the MAC its frames came from, out of the interface they came in on. */
  toClient(r: number): number {
    const e = this.conns.e;
    const o = r * STRIDE;
    const ifSlot = (e[o + FLAGS]! >>> 16) & 255;
    const p = this.p;
    if (e[o + MAC_LO] === 0 && e[o + MAC_HI] === 0) {
      // A synced connection whose client-side MAC the peer did not send (a kernel master):
      // learnt from the client's next packet (toReal).
      this.g[GI_NO_CLIENT_MAC]!++;
      return A_DROP;
    }
    if (p.vlanTci >= 0 && ifSlot !== this.inIf) {
      this.g[GI_VLAN_CROSS]!++;
      return A_DROP;
    }
    const ifc = this.ifaces[ifSlot]!;
    setMacs(p.b, p.frame, e[o + MAC_HI]!, e[o + MAC_LO]!, ifc.macHi, ifc.macLo);
    if (p.vnet >= 0) p.b[p.vnet] = p.b[p.vnet]! & ~VIRTIO_NET_HDR_F_DATA_VALID;
    this.g[GI_FWD_OUT]!++;
    return this.outInPlace(ifSlot);
  }

  // ───────────────────────────── the per-frame path ─────────────────────────────

  /**
   * Processes one frame at buf[off, off+len) received on interface ifSlot at tick now
   * (`vnet`: the frame starts with a virtio_net_hdr). Returns A_IGNORE, A_DROP or A_TX.
   */
  process(buf: Uint8Array, off: number, len: number, vnet: boolean, ifSlot: number, now: number): number {
    const p = this.p;
    p.attach(buf);
    this.now = now;
    this.inOff = off;
    this.inLen = len;
    this.inIf = ifSlot;
    const g = this.g;
    g[GI_FRAMES]!++;
    const code = vnet ? parseFrame(p, off + 10, len - 10, off) : parseFrame(p, off, len, -1);
    if (code === P_OK_IP) {
      const b = p.b;
      const f = p.frame;
      if (b[f]! & 1) {
        // Multicast/broadcast IP: only neighbour solicitations concern the core.
        if (p.t.proto === IPPROTO_ICMPV6 && p.icmpType === 135) return this.neighbourSolicit(ifSlot);
        g[GI_IGNORED]!++;
        return A_IGNORE;
      }
      const ifc = this.ifaces[ifSlot]!;
      if (((b[f]! << 8) | b[f + 1]!) !== ifc.macHi || macLoAt(b, f) !== ifc.macLo) {
        g[GI_OTHER_HOST]!++;
        return A_IGNORE;
      }
      const proto = p.t.proto;
      if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) return this.l4(ifSlot);
      return this.icmp(ifSlot);
    }
    if (code === P_OK_ARP) return this.arp(ifSlot);
    if (code === P_OTHER_ETHERTYPE) {
      g[GI_IGNORED]!++;
      return A_IGNORE;
    }
    // A bad frame: the core's business only when it was addressed to a VIP the core owns.
    g[code]!++;
    if (code >= P_BAD_IHL && code <= P_IPV6_EXT_UNSAFE && this.vipOf(p.t) >= 0) return A_DROP;
    return A_IGNORE;
  }

  /** The claimed VIP id of the packet's destination, or -1. */
  private vipOf(t: Tuple): number {
    const v = this.vips.get(t.fam, 0, t.d0 | 0, t.d1 | 0, t.d2 | 0, t.d3 | 0, 0);
    return v >= 0 && this.vipClaimed[v] === 1 ? v : -1;
  }

  private l4(ifSlot: number): number {
    const p = this.p;
    const t = p.t;
    const conns = this.conns;
    const e = conns.e;
    const rk = conns.lookup(t);
    if (rk >= 0) {
      const r = rk >>> 1;
      if ((rk & 1) === KEY_OUT) return this.fromReal(r);
      const o = r * STRIDE;
      const d = this.destTable.list[e[o + DEST]!];
      if (!d || !d.available) {
        // IPVS expire_nodest_conn: the real server left; forget the connection, treat as new.
        conns.remove(r);
        this.g[GI_NODEST]!++;
      } else if (t.proto === IPPROTO_TCP && (p.tcpFlags & (TCP_SYN | TCP_RST)) === TCP_SYN && this.reusable(o, d)) {
        // ip_vs_in conn_reuse_mode: a new SYN on a TIME_WAIT/CLOSE connection is a new connection.
        conns.remove(r);
        this.g[GI_REUSED]!++;
      } else {
        return this.toReal(r, d);
      }
    }
    return this.newFlow(ifSlot);
  }

  /** is_new_conn_expected() (conn_reuse_mode 1) or the dest quiesced (expire_nodest_conn with weight 0). */
  private reusable(o: number, d: CoreDest): boolean {
    const e = this.conns.e;
    if (d.weight === 0) return true;
    if (e[o + CONTROL]! !== 0) return false;
    const st = e[o + PORTS_D]! & 255;
    return st === sTW || st === sCL;
  }

  private newFlow(ifSlot: number): number {
    const p = this.p;
    const t = p.t;
    const g = this.g;
    const id = this.index.find(t);
    const svc = id >= 0 ? this.services[id]! : null;
    if (svc === null || !svc.active) {
      if (this.vipOf(t) < 0) {
        g[GI_IGNORED]!++;
        return A_IGNORE;
      }
      // A VIP the core owns, no service on that port: answer as a host without a socket would.
      g[GI_NO_SERVICE]!++;
      return t.proto === IPPROTO_TCP ? tcpReset(this, ifSlot) : icmpPortUnreachable(this, ifSlot);
    }
    if (t.proto === IPPROTO_TCP && (p.tcpFlags & (TCP_SYN | TCP_RST)) !== TCP_SYN) {
      // tcp_conn_schedule only schedules on a SYN; IPVS leaves the rest to the local stack,
      // which resets it. The VIP is not a kernel address here, so the core resets it.
      g[GI_NO_CONN]!++;
      return tcpReset(this, ifSlot);
    }
    const d = this.schedule(svc);
    if (d === null) {
      // ip_vs_leave(): ICMP port unreachable, whatever the protocol.
      g[GI_NO_DEST]!++;
      return icmpPortUnreachable(this, ifSlot);
    }
    const xm = xmitByCode(d.method);
    if (!xm) return A_DROP;
    const conns = this.conns;
    const r = conns.alloc();
    if (r < 0) {
      g[GI_TABLE_FULL]!++;
      return A_DROP;
    }
    const e = conns.e;
    const o = r * STRIDE;
    e[o + C0] = t.s0; e[o + C0 + 1] = t.s1; e[o + C0 + 2] = t.s2; e[o + C0 + 3] = t.s3;
    e[o + V0] = t.d0; e[o + V0 + 1] = t.d1; e[o + V0 + 2] = t.d2; e[o + V0 + 3] = t.d3;
    e[o + D0] = d.w0; e[o + D0 + 1] = d.w1; e[o + D0 + 2] = d.w2; e[o + D0 + 3] = d.w3;
    const dport = d.port !== 0 && xm.portMap ? d.port : t.dport;
    e[o + PORTS_CV] = ((t.sport << 16) | t.dport) >>> 0;
    e[o + PORTS_D] = ((dport << 16) | (t.proto << 8)) >>> 0;
    e[o + FLAGS] = ((t.fam === 6 ? F_V6 : 0) | (d.fam === 6 ? F_DEST_V6 : 0) | (d.method << F_METHOD_SHIFT) | (xm.noOutput ? F_NOOUTPUT : 0) | (ifSlot << 16)) >>> 0;
    e[o + SVC] = svc.id;
    const b = p.b;
    e[o + MAC_HI] = macHiAt(b, p.frame + 6);
    e[o + MAC_LO] = macLoAt(b, p.frame + 6);
    if (xm.code === M_FNAT && !this.allocLocal(svc, d, r, t.proto, dport)) {
      conns.unalloc(r);
      g[GI_NO_LOCAL_PORT]!++;
      return A_DROP;
    }
    const ops = svc.ops;
    conns.commitConn(r, d, xm.hashOut && !ops, this.now + 1);
    if (this.tmpl >= 0) conns.control(r, this.tmpl);
    g[GI_CREATED]!++;
    if (svc.statsSlot >= 0) this.stats.svc[svc.statsSlot * STAT_STRIDE + S_CONNS]!++;
    if (d.statsSlot >= 0) this.stats.dest[d.statsSlot * STAT_STRIDE + S_CONNS]!++;
    const act = this.toReal(r, d);
    if (ops) conns.remove(r); // one-packet scheduling: the entry lives for this packet only
    return act;
  }

  /** TCP state transition (set_tcp_state) with the dest's active/inactive accounting; returns the timeout in ticks. */
  private tcpTransition(r: number, dir: number): number {
    const e = this.conns.e;
    const o = r * STRIDE;
    let fl = e[o + FLAGS]!;
    let inputOnly = false;
    if (fl & F_NOOUTPUT) {
      if (dir === DIR_OUTPUT) fl &= ~F_NOOUTPUT;
      else inputOnly = true;
    }
    const pd = e[o + PORTS_D]!;
    const st = pd & 255;
    const ns = tcpNextState(st, dir, inputOnly, this.p.tcpFlags);
    if (ns !== st) {
      const d = this.destTable.list[e[o + DEST]!];
      if (d) {
        // set_tcp_state(): active in the states of tcp_state_active_table[].
        const active = TCP_STATE_ACTIVE[ns]!;
        if (!(fl & F_INACTIVE) && active === 0) {
          d.activeConns--;
          d.inactiveConns++;
          fl |= F_INACTIVE;
        } else if (fl & F_INACTIVE && active === 1) {
          d.activeConns++;
          d.inactiveConns--;
          fl &= ~F_INACTIVE;
        }
      }
      e[o + PORTS_D] = ((pd & ~255) | ns) >>> 0;
    }
    e[o + FLAGS] = fl >>> 0;
    return this.tcpTicks[ns]!;
  }

  private toReal(r: number, d: CoreDest): number {
    const p = this.p;
    const e = this.conns.e;
    const o = r * STRIDE;
    const ticks = p.t.proto === IPPROTO_TCP ? this.tcpTransition(r, DIR_INPUT) : this.udpTicks;
    this.conns.touch(r, this.now + ticks);
    if (e[o + MAC_LO] === 0 && e[o + MAC_HI] === 0) {
      // A synced connection without the client's MAC (a kernel master does not send it): its
      // first client packet gives it, and the interface it came in on.
      e[o + MAC_HI] = macHiAt(p.b, p.frame + 6);
      e[o + MAC_LO] = macLoAt(p.b, p.frame + 6);
      e[o + FLAGS] = ((e[o + FLAGS]! & 0xff00ffff) | ((this.inIf & 255) << 16)) >>> 0;
      this.g[GI_MAC_LEARNT]!++;
    }
    if (this.syncSink !== null) this.syncSink.input(r);
    const svc = this.services[e[o + SVC]!];
    const bytes = p.ipLen;
    if (svc && svc.statsSlot >= 0) {
      const so = svc.statsSlot * STAT_STRIDE;
      const sv = this.stats.svc;
      sv[so + S_INPKTS]!++;
      sv[so + S_INBYTES]! += bytes;
    }
    if (d.statsSlot >= 0) {
      const dso = d.statsSlot * STAT_STRIDE;
      const dv = this.stats.dest;
      dv[dso + S_INPKTS]!++;
      dv[dso + S_INBYTES]! += bytes;
    }
    // decrement_ttl() (xmit/ttl.ts): the director is a hop; at 1 the client hears time exceeded.
    if (!decrementTtl(p)) {
      this.g[GI_TTL_EXPIRED]!++;
      return icmpTimeExceeded(this, this.inIf);
    }
    const xm = xmitByCode((e[o + FLAGS]! & F_METHOD_MASK) >>> F_METHOD_SHIFT)!;
    return xm.inbound(this, r, d);
  }

  private fromReal(r: number): number {
    const p = this.p;
    // The kernel's ip_forward() decrements replies (and drops them at 1) before IPVS sees them;
    // lvsd's core drops and counts them (it has no routed source address for a time exceeded).
    if (!decrementTtl(p)) {
      this.g[GI_TTL_EXPIRED]!++;
      return A_DROP;
    }
    const e = this.conns.e;
    const o = r * STRIDE;
    const ticks = p.t.proto === IPPROTO_TCP ? this.tcpTransition(r, DIR_OUTPUT) : this.udpTicks;
    this.conns.touch(r, this.now + ticks);
    this.countOut(r, p.ipLen);
    const xm = xmitByCode((e[o + FLAGS]! & F_METHOD_MASK) >>> F_METHOD_SHIFT)!;
    return xm.outbound(this, r);
  }

  private countOut(r: number, bytes: number): void {
    const e = this.conns.e;
    const o = r * STRIDE;
    const svc = this.services[e[o + SVC]!];
    if (svc && svc.statsSlot >= 0) {
      const so = svc.statsSlot * STAT_STRIDE;
      this.stats.svc[so + S_OUTPKTS]!++;
      this.stats.svc[so + S_OUTBYTES]! += bytes;
    }
    const d = this.destTable.list[e[o + DEST]!];
    if (d && d.statsSlot >= 0) {
      const dso = d.statsSlot * STAT_STRIDE;
      this.stats.dest[dso + S_OUTPKTS]!++;
      this.stats.dest[dso + S_OUTBYTES]! += bytes;
    }
  }

  /** Fills the scheduler's flow key from the packet tuple. */
  private fillFlow(t: Tuple): FlowKey {
    const f = this.flow;
    if (t.fam === 4) {
      f.family = 'ipv4';
      f.srcAddr4 = t.s0; f.dstAddr4 = t.d0;
      f.srcAddr6 = null; f.dstAddr6 = null;
    } else {
      f.family = 'ipv6';
      f.srcAddr4 = 0; f.dstAddr4 = 0;
      f.srcAddr6 = wordsToBytes(this.src6, t.s0, t.s1, t.s2, t.s3);
      f.dstAddr6 = wordsToBytes(this.dst6, t.d0, t.d1, t.d2, t.d3);
    }
    f.srcPort = t.sport;
    f.dstPort = t.dport;
    f.proto = t.proto;
    return f;
  }

  /** ip_vs_schedule() / ip_vs_sched_persist(): the dest for a new flow, or null. Sets this.tmpl. */
  private schedule(svc: ServiceRt): CoreDest | null {
    this.tmpl = -1;
    if (svc.quorumDown && svc.sorry) return svc.sorry.available ? svc.sorry : null;
    const flow = this.fillFlow(this.p.t);
    const nowMs = this.now * this.tickMs;
    if (svc.persistTicks === 0) return svc.scheduler.pick(flow, nowMs) as CoreDest | null;
    const k = persistenceTemplateKey(this.pkey, svc.persist, flow);
    const fam = svc.fam;
    const c = this.cw;
    const v = this.vw;
    if (fam === 4) {
      c[0] = k.caddr4; c[1] = 0; c[2] = 0; c[3] = 0;
      v[0] = k.vaddr4; v[1] = 0; v[2] = 0; v[3] = 0;
    } else {
      bytesInto(c, k.caddr6);
      bytesInto(v, k.vaddr6);
    }
    const conns = this.conns;
    let tr = conns.lookupTemplate(fam, k.proto, c[0]!, c[1]!, c[2]!, c[3]!, v[0]!, v[1]!, v[2]!, v[3]!, k.vport);
    if (tr >= 0) {
      const d = this.destTable.list[conns.e[tr * STRIDE + DEST]!];
      // ip_vs_check_template(): a template whose dest is gone (or down by health) is invalidated.
      if (!d || !d.available || !d.healthUp) {
        conns.invalidateTemplate(tr, this.now);
        tr = -1;
      } else {
        conns.touch(tr, this.now + svc.persistTicks);
        // touch() only moves deadlines earlier on the wheel; a later one is picked up lazily.
        this.tmpl = tr;
        return d;
      }
    }
    const d = svc.scheduler.pick(flow, nowMs) as CoreDest | null;
    if (d === null) return null;
    tr = conns.alloc();
    if (tr < 0) {
      this.g[GI_TABLE_FULL]!++;
      return null;
    }
    const e = conns.e;
    const o = tr * STRIDE;
    e[o + C0] = c[0]!; e[o + C0 + 1] = c[1]!; e[o + C0 + 2] = c[2]!; e[o + C0 + 3] = c[3]!;
    e[o + V0] = v[0]!; e[o + V0 + 1] = v[1]!; e[o + V0 + 2] = v[2]!; e[o + V0 + 3] = v[3]!;
    e[o + D0] = d.w0; e[o + D0 + 1] = d.w1; e[o + D0 + 2] = d.w2; e[o + D0 + 3] = d.w3;
    e[o + PORTS_CV] = k.vport;
    e[o + PORTS_D] = ((d.port << 16) | (k.proto << 8)) >>> 0;
    e[o + FLAGS] = ((fam === 6 ? F_V6 : 0) | (d.fam === 6 ? F_DEST_V6 : 0) | (d.method << F_METHOD_SHIFT)) >>> 0;
    e[o + SVC] = svc.id;
    conns.commitTemplate(tr, d, this.now + svc.persistTicks);
    this.g[gIndex('templates_created')]!++;
    this.tmpl = tr;
    return d;
  }

  // ───────────────────────────── ICMP, ARP, ND ─────────────────────────────

  private icmp(ifSlot: number): number {
    const p = this.p;
    const type = p.icmpType;
    const v4 = p.t.proto === IPPROTO_ICMP;
    if ((v4 && type === 8) || (!v4 && type === 128)) {
      if (this.vipOf(p.t) >= 0) return echoReply(this, ifSlot);
    } else if (v4 ? type === 3 || type === 4 || type === 11 : type < 128) {
      // ip_vs_in_icmp / ip_vs_out_icmp relay DEST_UNREACH, SOURCE_QUENCH and TIME_EXCEEDED;
      // ip_vs_in_icmp_v6 / ip_vs_out_icmp_v6 every error message (not ICMPV6_INFOMSG_MASK).
      return this.icmpError();
    } else if (!v4 && type === 135) {
      return this.neighbourSolicit(ifSlot);
    }
    this.g[GI_IGNORED]!++;
    return A_IGNORE;
  }

  /** ip_vs_in_icmp / ip_vs_out_icmp: an ICMP error quoting a packet of a connection. */
  private icmpError(): number {
    const p = this.p;
    const b = p.b;
    const dv = p.dv;
    const inner = p.l4 + 8;
    const avail = p.l4Len - 8;
    const it = this.it;
    let l4o: number;
    if (p.t.fam === 4) {
      // "Ensure the checksum is correct" (ip_vs_in_icmp, handle_response_icmp): the relay
      // recomputes the ICMP checksum, so a corrupted error must not get a valid one. Not for
      // ICMPv6, as the kernel's v6 paths (which recompute it as well) do not check it either.
      const valid = p.csumPartial || (p.vnet >= 0 && (b[p.vnet]! & VIRTIO_NET_HDR_F_DATA_VALID) !== 0);
      if (!valid && checksum(b, p.l4, p.l4Len, 0) !== 0) {
        this.g[GI_ICMP_BAD_CSUM]!++;
        return A_DROP;
      }
      if (avail < 28 || b[inner]! >> 4 !== 4) return this.icmpMiss();
      const ihl = (b[inner]! & 15) << 2;
      if (ihl < 20 || ihl + 8 > avail) return this.icmpMiss();
      const qp = b[inner + 9]!;
      if ((qp === IPPROTO_IPIP || qp === IPPROTO_GRE || qp === IPPROTO_UDP) && this.tunDests.size > 0) {
        // ip_vs_in_icmp's tunnel case: an error about one of our outer packets.
        const a = tunnelIcmp(this, inner, ihl, p.l4 + p.l4Len);
        if (a >= 0) return a;
      }
      it.fam = 4;
      it.proto = b[inner + 9]!;
      it.d0 = dv.getUint32(inner + 12); it.d1 = 0; it.d2 = 0; it.d3 = 0;
      it.s0 = dv.getUint32(inner + 16); it.s1 = 0; it.s2 = 0; it.s3 = 0;
      l4o = inner + ihl;
    } else {
      if (avail < 48 || b[inner]! >> 4 !== 6) return this.icmpMiss();
      it.fam = 6;
      it.proto = b[inner + 6]!;
      it.d0 = dv.getUint32(inner + 8); it.d1 = dv.getUint32(inner + 12); it.d2 = dv.getUint32(inner + 16); it.d3 = dv.getUint32(inner + 20);
      it.s0 = dv.getUint32(inner + 24); it.s1 = dv.getUint32(inner + 28); it.s2 = dv.getUint32(inner + 32); it.s3 = dv.getUint32(inner + 36);
      l4o = inner + 40;
    }
    if (it.proto !== IPPROTO_TCP && it.proto !== IPPROTO_UDP) return this.icmpMiss();
    // The quoted packet is reversed: its destination is the sender of the flow we look up.
    it.dport = dv.getUint16(l4o);
    it.sport = dv.getUint16(l4o + 2);
    const rk = this.conns.lookup(it);
    if (rk < 0) return this.icmpMiss();
    const r = rk >>> 1;
    const e = this.conns.e;
    const o = r * STRIDE;
    const d = this.destTable.list[e[o + DEST]!];
    const xm = xmitByCode((e[o + FLAGS]! & F_METHOD_MASK) >>> F_METHOD_SHIFT);
    if (!d || !xm) return A_DROP;
    // ip_vs_icmp_xmit → decrement_ttl() (or ip_forward() for errors from the real server side); no error about an error.
    if (!decrementTtl(p)) {
      this.g[GI_TTL_EXPIRED]!++;
      return A_DROP;
    }
    this.g[GI_ICMP_RELAYED]!++;
    if ((rk & 1) === KEY_OUT) {
      this.countOut(r, p.ipLen);
      return xm.icmp(this, r, d, false, inner);
    }
    return xm.icmp(this, r, d, true, inner);
  }

  private icmpMiss(): number {
    this.g[GI_ICMP_NO_CONN]!++;
    return this.vipOf(this.p.t) >= 0 ? A_DROP : A_IGNORE;
  }

  private neighbourSolicit(ifSlot: number): number {
    const p = this.p;
    const b = p.b;
    // RFC 4861 §7.1.1: hop limit 255, code 0, length ≥ 24.
    if (b[p.l3 + 7] !== 255 || p.icmpCode !== 0 || p.l4Len < 24) return A_IGNORE;
    const dv = p.dv;
    const tg = p.l4 + 8;
    const v = this.vips.get(6, 0, dv.getInt32(tg), dv.getInt32(tg + 4), dv.getInt32(tg + 8), dv.getInt32(tg + 12), 0);
    if (v < 0 || this.vipClaimed[v] !== 1 || (this.vipIf[v]! >= 0 && this.vipIf[v] !== ifSlot)) return A_IGNORE;
    return neighbourAdvert(this, ifSlot);
  }

  private arp(ifSlot: number): number {
    const p = this.p;
    const b = p.b;
    const a = p.l3;
    if (b[a + 6] !== 0 || b[a + 7] !== 1) return A_IGNORE;
    const dv = p.dv;
    const tpa = dv.getInt32(a + 24);
    const v = this.vips.get(4, 0, tpa, 0, 0, 0, 0);
    if (v < 0 || this.vipClaimed[v] !== 1 || (this.vipIf[v]! >= 0 && this.vipIf[v] !== ifSlot)) return A_IGNORE;
    // Someone else announcing our VIP (gratuitous ARP): not a question.
    if (dv.getInt32(a + 14) === tpa) return A_IGNORE;
    return arpReply(this, ifSlot);
  }

  // ───────────────────────────── trace and listings ─────────────────────────────

  /**
   * Where a new flow would go and why (katran KatranSimulator getRealForFlow), without
   * sending or changing any state: the scheduler is asked with peek(), pick()'s answer
   * without its side effects.
   */
  trace(proto: 'tcp' | 'udp', src: string, sport: number, dst: string, dport: number): TraceResult {
    const s = textWords(src);
    const d = textWords(dst);
    const flowText = `${proto} ${src}:${sport} -> ${dst}:${dport}`;
    const none = (reason: string, extra: Partial<TraceResult> = {}): TraceResult => ({
      flow: flowText, service: null, virtualServer: null, matchedBy: null, fwmark: 0, serviceActive: false, existingConnection: null,
      persistence: null, scheduler: null, dest: null, method: null, reason, ...extra,
    });
    if (!s || !d || s.fam !== d.fam) return none('addresses must be of one family');
    const t = this.it;
    t.fam = s.fam; t.proto = proto === 'tcp' ? 6 : 17;
    [t.s0, t.s1, t.s2, t.s3] = s.w;
    [t.d0, t.d1, t.d2, t.d3] = d.w;
    t.sport = sport; t.dport = dport;
    const e = this.conns.e;
    const rk = this.conns.lookup(t);
    let existing: TraceResult['existingConnection'] = null;
    let existingLocal: TraceResult['local'] = null;
    if (rk >= 0 && (rk & 1) === 0) {
      const o = (rk >>> 1) * STRIDE;
      const dest = this.destTable.list[e[o + DEST]!];
      if ((e[o + FLAGS]! & F_METHOD_MASK) >>> F_METHOD_SHIFT === M_FNAT) {
        const lo = e[o + LOCAL]!;
        existingLocal = { address: this.lipText[lo >>> 16] ?? '?', port: lo & 0xffff, why: 'the connection\'s local address and port' };
      }
      existing = {
        state: proto === 'tcp' ? TCP_STATE_NAMES[e[o + PORTS_D]! & 255]! : 'UDP',
        dest: dest ? dest.key : '?',
        expiresInS: Math.max(0, ((e[o + DEADLINE]! - this.now) * this.tickMs) / 1000),
      };
    }
    const fwm = this.index.rules.length ? classifyMark(this.index, t) : 0;
    const id = this.index.find(t);
    const svc = id >= 0 ? this.services[id]! : null;
    if (!svc) return none(existing ? 'existing connection (service removed)' : 'no virtual service matches', { existingConnection: existing, fwmark: fwm });
    const matchedBy = svc.def.kind === 'fwmark' ? 'fwmark' : svc.port === 0 ? 'port-zero' : 'address';
    const base = { service: svc.key, virtualServer: svc.vsKey, matchedBy, fwmark: fwm, serviceActive: svc.active, existingConnection: existing, scheduler: svc.vs.scheduler } as const;
    if (existing) {
      return { ...none('an existing connection carries this flow'), ...base, dest: existing.dest, method: svc.vs.method, ...(existingLocal ? { local: existingLocal } : {}) };
    }
    if (!svc.active) return { ...none(`service inactive: instance ${svc.vs.ownerInstance} is not MASTER here`), ...base };
    if (svc.quorumDown && svc.sorry) {
      return { ...none('quorum lost: sorry server'), ...base, dest: svc.sorry.key, method: METHOD_TO_NAME[svc.sorry.method] ?? null };
    }
    let persistence: TraceResult['persistence'] = null;
    const flow = this.fillFlow(t);
    if (svc.persistTicks > 0) {
      const k = persistenceTemplateKey(this.pkey, svc.persist, flow);
      const c = svc.fam === 4 ? [k.caddr4, 0, 0, 0] : bytesToWords(k.caddr6);
      const v = svc.fam === 4 ? [k.vaddr4, 0, 0, 0] : bytesToWords(k.vaddr6);
      const tr = this.conns.lookupTemplate(svc.fam, k.proto, c[0]!, c[1]!, c[2]!, c[3]!, v[0]!, v[1]!, v[2]!, v[3]!, k.vport);
      const tdest = tr >= 0 ? this.destTable.list[e[tr * STRIDE + DEST]!] : null;
      const tText = `${k.proto === 0 ? 'fwmark' : k.proto === 6 ? 'tcp' : 'udp'} ${wordsText(svc.fam, c[0]!, c[1]!, c[2]!, c[3]!)}/${svc.persist.granularityPrefix} -> ${k.proto === 0 ? `mark ${svc.fwmark || fwm}` : wordsText(svc.fam, v[0]!, v[1]!, v[2]!, v[3]!)}:${k.vport}`;
      if (tdest && tdest.available && tdest.healthUp) {
        persistence = { template: tText, hit: true, dest: tdest.key };
        return { ...none('persistence template'), ...base, persistence, dest: tdest.key, method: METHOD_TO_NAME[tdest.method] ?? null, ...this.traceLocal(svc, tdest) };
      }
      persistence = { template: tText, hit: false, dest: tdest ? tdest.key : null };
    }
    const pick = svc.scheduler.peek(flow, this.now * this.tickMs) as CoreDest | null;
    if (!pick) return { ...none('no real server available (would answer ICMP port unreachable)'), ...base, persistence };
    return { ...none(`scheduler ${svc.vs.scheduler} picked it`), ...base, persistence, dest: pick.key, method: METHOD_TO_NAME[pick.method] ?? null, ...this.traceLocal(svc, pick) };
  }

  /** The connection table as ipvsadm -L -c lists it (control command; not the hot path). */
  listConns(limit = 10000): ConnRow[] {
    const out: ConnRow[] = [];
    const e = this.conns.e;
    this.conns.forEach((r) => {
      if (out.length >= limit) return;
      const o = r * STRIDE;
      const fl = e[o + FLAGS]!;
      const fam = fl & F_V6 ? 6 : 4;
      const proto = (e[o + PORTS_D]! >>> 8) & 255;
      const tmpl = (fl & F_TEMPLATE) !== 0;
      const cv = e[o + PORTS_CV]!;
      const addr = (at: number, f = fam) => wordsText(f, e[o + at]!, e[o + at + 1]!, e[o + at + 2]!, e[o + at + 3]!);
      out.push({
        proto: proto === 6 ? 'TCP' : proto === 17 ? 'UDP' : 'IP',
        expireS: Math.max(0, Math.round(((e[o + DEADLINE]! - this.now) * this.tickMs) / 1000)),
        state: tmpl ? 'NONE' : proto === 6 ? TCP_STATE_NAMES[e[o + PORTS_D]! & 255]! : 'UDP',
        source: endpoint(fam, addr(C0), tmpl ? 0 : cv >>> 16),
        virtual: endpoint(fam, addr(V0), cv & 0xffff),
        destination: endpoint(fl & F_DEST_V6 ? 6 : 4, addr(D0, fl & F_DEST_V6 ? 6 : 4), e[o + PORTS_D]! >>> 16),
        template: tmpl,
        method: METHOD_NAMES[(fl & F_METHOD_MASK) >>> F_METHOD_SHIFT] ?? '?',
        ...(!tmpl && (fl & F_METHOD_MASK) >>> F_METHOD_SHIFT === M_FNAT ? { local: this.localText(fam, e[o + LOCAL]!) } : {}),
      });
    });
    return out;
  }

  /** trace's account of the local address a new FULLNAT connection to dest d would get. */
  private traceLocal(svc: ServiceRt, d: CoreDest): { local?: TraceResult['local'] } {
    if (d.method !== M_FNAT) return {};
    const n = svc.lips.length;
    if (n === 0) return { local: { address: '', port: null, why: 'no local address of this family: the SYN would be dropped (no_local_port)' } };
    const lip = svc.lips[svc.lipNext % n]!;
    return {
      local: {
        address: this.lipText[lip] ?? '?', port: null,
        why: `round-robin over the service's ${n} local address${n === 1 ? '' : 'es'} of its family (laddr_group_name ${svc.vs.localAddressGroup ?? '?'}); ` +
          `the port is the next free one in this worker's share (${LPORT_MIN}-${LPORT_MAX}, ≡ ${this.workerIndex} mod ${this.workers}) not in use with ${d.key}`,
      },
    };
  }

  /** The TUN dest with this address, tunnel type and GUE port, or null. */
  tunDestOf(fam: number, type: number, w0: number, w1: number, w2: number, w3: number, port: number): CoreDest | null {
    const id = this.tunDests.get(fam, type, w0 | 0, w1 | 0, w2 | 0, w3 | 0, port);
    return id >= 0 ? this.destTable.list[id] ?? null : null;
  }

  /** `LIP:lport` of a FULLNAT LOCAL word. */
  private localText(fam: number, local: number): string {
    return endpoint(fam, this.lipText[local >>> 16] ?? '?', local & 0xffff);
  }

  /** Service runtime by key (control commands). */
  service(key: string): ServiceRt | undefined {
    return this.svcByKey.get(key);
  }

  /** Global counters by name. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    PARSE_REASONS.forEach((n, i) => { out[n] = this.g[i]!; });
    GLOBAL_COUNTERS.forEach((n) => { out[n] = this.g[gIndex(n)]!; });
    return out;
  }
}

const METHOD_TO_NAME: (ForwardMethod | undefined)[] = ['NAT', 'DR', 'TUN', 'FNAT'];

/** A dest's TUN encapsulation from the model (IPIP when absent). */
function setTunnel(d: CoreDest, t: TunnelOptions | undefined): void {
  d.tunType = !t || t.type === 'ipip' ? TUN_IPIP : t.type === 'gue' ? TUN_GUE : TUN_GRE;
  d.tunPort = t?.port ?? 0;
  d.tunCsum = !t || t.csum === 'nocsum' ? TUN_NOCSUM : t.csum === 'csum' ? TUN_CSUM : TUN_REMCSUM;
}

function classifyMark(index: ServiceIndex, t: Tuple): number {
  for (const r of index.rules) {
    if (r.proto !== t.proto || r.fam !== t.fam || t.dport < r.portMin || t.dport > r.portMax) continue;
    const ws = [t.d0, t.d1, t.d2, t.d3];
    if (ws.every((w, i) => ((w & r.m[i]!) >>> 0) === r.n[i])) return r.fwmark;
  }
  return 0;
}

/** Same scheduler and flags; otherwise only the scheduler is replaced (ip_vs_edit_service). */
function sameScheduler(a: VirtualServer, b: VirtualServer): boolean {
  const fa = a.schedulerFlags;
  const fb = b.schedulerFlags;
  return a.scheduler === b.scheduler && fa.shFallback === fb.shFallback && fa.shPort === fb.shPort && fa.mhFallback === fb.mhFallback && fa.mhPort === fb.mhPort;
}

// Counter indexes resolved once.
const GI_FRAMES = gIndex('frames');
const GI_FWD_IN = gIndex('forwarded_in');
const GI_FWD_OUT = gIndex('forwarded_out');
const GI_IGNORED = gIndex('ignored');
const GI_OTHER_HOST = gIndex('other_host');
const GI_NO_SERVICE = gIndex('no_service');
const GI_NO_CONN = gIndex('no_conn');
const GI_NO_DEST = gIndex('no_dest');
const GI_NO_NEIGHBOUR = gIndex('no_neighbour');
const GI_NO_EGRESS = gIndex('no_egress');
const GI_TABLE_FULL = gIndex('table_full');
const GI_NODEST = gIndex('nodest_expired');
const GI_REUSED = gIndex('conn_reused');
const GI_ICMP_NO_CONN = gIndex('icmp_no_conn');
const GI_ICMP_RELAYED = gIndex('icmp_relayed');
const GI_TTL_EXPIRED = gIndex('ttl_expired');
const GI_ICMP_BAD_CSUM = gIndex('icmp_bad_checksum');
const GI_VLAN_CROSS = gIndex('vlan_cross_if');
const GI_CREATED = gIndex('conns_created');
const GI_NO_CLIENT_MAC = gIndex('no_client_mac');
const GI_MAC_LEARNT = gIndex('client_mac_learnt');
const GI_NO_LOCAL_PORT = gIndex('no_local_port');
