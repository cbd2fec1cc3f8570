/**
 * The forwarding subsystem on the main thread: starts the data-plane workers, hands them
 * the model, VIP claims, health, routes and neighbours (ARCHITECTURE D5), keeps the daemon's
 * `table netdev lvsd` in step (D4), resolves real-server and gateway MACs from the kernel
 * neighbour table and routed real servers' next hops from the kernel's routes (D7), runs the
 * 2-second rate estimators, restarts a worker that crashes, and serves the `lvs` and `trace`
 * control commands. It implements CoreVipPort for the VRRP engine.
 *
 * Nothing here is on the per-packet path: the main thread's event loop stays free for VRRP.
 */
import { Worker } from 'node:worker_threads';
import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Subsystem } from '../daemon/subsystem.js';
import type { ChangeSet } from '../model/changes.js';
import type { CoreVip, Model, VirtualServer } from '../model/types.js';
import type { EventBus } from '../events/bus.js';
import type { CommandRegistry } from '../control/registry.js';
import { ControlError, argBool, argString } from '../control/registry.js';
import type { CoreVipPort, NetlinkPort, NeighbourInfo } from '../io/ports.js';
import type { NftPort } from '../io/nft.js';
import type { RoutePort } from '../io/netlink.js';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { canonicalIp, ipFamily, parseIPv4, parseIPv6, sameSubnet } from '../lib/ip.js';
import { LvsdError } from '../lib/errors.js';
import type { FromWorker, IoOptions, ToWorker, WorkerHandle, WorkerInit } from './messages.js';
import { fanoutProgram, fanoutSpec, fanoutWorker } from './fanout-program.js';
import type { ConnRow, RealHealth, TraceResult } from './pipeline.js';
import { RateEstimator, EST_INTERVAL_MS, type Rates } from './estimator.js';
import { allocStats, sumStats, STAT_STRIDE, S_ACTIVE, S_CONNS, S_INACTIVE, S_INBYTES, S_INPKTS, S_OUTBYTES, S_OUTPKTS, S_PERSIST, type StatsLayout, type StatsTotals } from './stats.js';
import { TCP_TIMEOUTS_S, sES, sFW } from './proto/tcp.js';
import { UDP_DEFAULT_TIMEOUT_S } from './proto/udp.js';
import { nftSpecOf } from './nft-spec.js';
import { ipvsServicesOf, type IpvsServiceDef } from './services.js';
import { sorryKeyOf } from './dests.js';

/** What the subsystem needs from the composition root. */
export interface ForwardingDeps {
  readonly bus: EventBus;
  readonly registry: CommandRegistry;
  /** Netlink; with `routeTo` (RtNetlink has it) real servers outside the connected networks are reached through the kernel's route. */
  readonly netlink: NetlinkPort & Partial<RoutePort>;
  /** The nft table manager; null = leave nftables alone (tests that build their own). */
  readonly nft: NftPort | null;
  readonly clock?: Clock;
  /** Worker threads (overrides the model's forwarding_workers; 0 = one). */
  readonly workers?: number;
  /** Frames per receive batch (default 32). */
  readonly batch?: number;
  /** Connection expiry tick (default 100 ms). */
  readonly tickMs?: number;
  /** Network namespace path the workers open their sockets in (benches); null = current. */
  readonly netns?: string | null;
  /** Receive with the TPACKET_V3 ring instead of recvmmsg (default: see docs/forwarding.md); `io.rx` wins. */
  readonly ring?: boolean;
  /** Data-plane I/O choices (default {@link IO_DEFAULTS}). */
  readonly io?: IoOptions;
  /** Claim the core VIPs that belong to no VRRP instance at start (default true). */
  readonly autoClaimUnowned?: boolean;
  /** Starts one data-plane worker (default: a worker thread running src/forward/worker.ts); tests pass an in-process double. */
  readonly spawnWorker?: (init: WorkerInit) => WorkerHandle;
  /** Restart delays after a worker crash: the first, doubled per crash up to the last (default 1 s … 30 s). */
  readonly restartBackoffMs?: { readonly min: number; readonly max: number };
}

/** Counter columns of a service or real server as `lvs` reports them. */
export interface LvsCounters {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

/** One real server (or the sorry server) in the `lvs` result. */
export interface LvsReal {
  /** `ADDR:PORT`; the sorry server's is `sorry:ADDR:PORT`. */
  key: string;
  address: string;
  port: number;
  /** ipvsadm's forward name: Masq, Route, Tunnel, FullNat. */
  forward: string;
  weight: number;
  up: boolean;
  /** In the kernel-equivalent list (false = removed after a failure, as keepalived does). */
  inService: boolean;
  activeConns: number;
  inactiveConns: number;
  persistConns: number;
  upperThreshold: number;
  lowerThreshold: number;
  /** Counters since the last `-Z` (ipvsadm -L --stats). */
  stats: LvsCounters;
  /** Counters since the daemon started, never zeroed (Prometheus counters must not decrease). */
  totals: LvsCounters;
  rates: Rates;
  sorry: boolean;
}

/** One IPVS service in the `lvs` result (a virtual_server_group gives one per entry). */
export interface LvsService {
  /** The IPVS service's key (the virtual_server's, or `group:tcp:NAME@ADDR:PORT`, `…@fwmark:N`). */
  key: string;
  /** The virtual_server it belongs to (model key). */
  virtualServer: string;
  protocol: 'TCP' | 'UDP';
  family: 'ipv4' | 'ipv6';
  /** `addr:port` or `[v6]:port`; empty for firewall-mark services. */
  address: string;
  fwmark: number;
  /** The virtual_server_group it comes from, or null. */
  group: string | null;
  scheduler: string;
  /** sh-fallback, sh-port, mh-fallback, mh-port as ipvsadm names them. */
  schedulerFlags: string[];
  persistentS: number;
  granularity: number;
  ops: boolean;
  active: boolean;
  quorumUp: boolean;
  stats: LvsCounters;
  totals: LvsCounters;
  rates: Rates;
  reals: LvsReal[];
}

/** The `lvs` command's result. */
export interface LvsResult {
  connTableSize: number;
  services: LvsService[];
  timeouts: { tcp: number; tcpfin: number; udp: number };
  counters: Record<string, number>;
  conns?: ConnRow[];
  connsTotal?: number;
}

interface RealState {
  up: boolean;
  weight: number | null;
}

/** A running worker and what the subsystem knows of it. */
interface WorkerSlot {
  handle: WorkerHandle;
  index: number;
  /** Stopped on purpose (stop, restart of the data plane): its exit is not a crash. */
  retiring: boolean;
  /** Its thread has exited. */
  exited: boolean;
  startedAt: number;
}

/** A route to a real server outside the connected networks (from RoutePort). */
interface RealRoute {
  readonly ifname: string;
  readonly gateway: string | null;
}

/** I/O defaults of the data plane, chosen with bench/forward.ts (docs/forwarding.md "Receive path"). */
export const IO_DEFAULTS: Required<IoOptions> = { rx: 'v2', qdiscBypass: false, txRing: true, drainAll: false, spinUs: 0, hugePages: true };

function resolveIo(deps: ForwardingDeps): Required<IoOptions> {
  const rx = deps.io?.rx ?? (deps.ring === undefined ? IO_DEFAULTS.rx : deps.ring ? 'v3' : 'recvmmsg');
  const given = Object.fromEntries(Object.entries(deps.io ?? {}).filter(([, v]) => v !== undefined)) as IoOptions;
  return { ...IO_DEFAULTS, ...given, rx };
}

const FWD_NAMES: Record<string, string> = { NAT: 'Masq', DR: 'Route', TUN: 'Tunnel', FNAT: 'FullNat' };
const NO_RATES: Rates = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
/** Stats rows at least (more when the model needs them). */
const MIN_SVC_SLOTS = 1024;
const MIN_DEST_SLOTS = 8192;
/** A worker that ran this long without crashing starts its backoff from the minimum again. */
const BACKOFF_RESET_MS = 60_000;

function counters(row: readonly number[]): LvsCounters {
  return { conns: row[S_CONNS]!, inpkts: row[S_INPKTS]!, outpkts: row[S_OUTPKTS]!, inbytes: row[S_INBYTES]!, outbytes: row[S_OUTBYTES]! };
}

function minus(a: LvsCounters, b: readonly number[] | undefined): LvsCounters {
  if (!b) return { ...a };
  return { conns: a.conns - b[S_CONNS]!, inpkts: a.inpkts - b[S_INPKTS]!, outpkts: a.outpkts - b[S_OUTPKTS]!, inbytes: a.inbytes - b[S_INBYTES]!, outbytes: a.outbytes - b[S_OUTBYTES]! };
}

/** ipvsadm's names of a service's scheduler flags (ipvsadm.c print_service_entry). */
export function schedulerFlagNames(vs: VirtualServer): string[] {
  const f = vs.schedulerFlags;
  const out: string[] = [];
  if (vs.scheduler === 'sh') {
    if (f.shFallback) out.push('sh-fallback');
    if (f.shPort) out.push('sh-port');
  } else if (vs.scheduler === 'mh') {
    if (f.mhFallback) out.push('mh-fallback');
    if (f.mhPort) out.push('mh-port');
  }
  return out;
}

/** A shared counter's increase since it read `last`; one that went down was reset (a new data plane) and counts from zero. */
function increase(last: number, now: number): number {
  return now >= last ? now - last : now;
}

/** The forwarding core as a daemon subsystem, and the VRRP engine's CoreVipPort. */
export class ForwardingSubsystem implements Subsystem, CoreVipPort {
  readonly name = 'forward';
  private readonly deps: ForwardingDeps;
  private readonly clock: Clock;
  private model: Model | null = null;
  private workers: WorkerSlot[] = [];
  private ifaces: WorkerInit['ifaces'] = [];
  private layout: StatsLayout = { workers: 1, svcSlots: MIN_SVC_SLOTS, destSlots: MIN_DEST_SLOTS };
  private statsBuf: SharedArrayBuffer | null = null;
  private slots: { svc: Record<string, number>; dest: Record<string, number> } = { svc: {}, dest: {} };
  private nextSvcSlot = 0;
  private nextDestSlot = 0;
  /** What the workers were started with (a crashed worker restarts with the same, and the current fanout program). */
  private initBase: Omit<WorkerInit, 'index' | 'seed'> | null = null;
  /** The fanout program in force (the model's, several workers only). */
  private program: Uint32Array | null = null;
  private readonly estimators = new Map<string, RateEstimator>();
  /**
   * Monotonic totals per stats row key (`svc:KEY`, `dest:KEY`): the shared counters are read
   * as deltas, so a restarted data plane (fresh counters) never makes a total go back.
   */
  private readonly totals = new Map<string, { last: number[]; total: number[] }>();
  /** `-Z`: the totals at the last zeroing (ipvsadm -Z zeroes the listing; Prometheus keeps counting). */
  private readonly baseline = new Map<string, number[]>();
  private estTimer: TimerHandle | null = null;
  private readonly claimed = new Map<string, CoreVip>();
  private readonly health = new Map<string, RealState>();
  private readonly quorumDown = new Set<string>();
  private readonly neighbours = new Map<string, string>();
  private readonly routes = new Map<string, RealRoute>();
  /** Routes dropped by the last computeInterfaces(), still to be withdrawn from the workers. */
  private readonly removedRoutes = new Set<string>();
  /** foldTotals' running sums of the global counters: the last raw value read and the total. */
  private readonly globalTotals = new Map<string, { last: number; total: number }>();
  private unsubNeigh: (() => void) | null = null;
  private localAddresses: string[] = [];
  private nextQuery = 1;
  private readonly pending = new Map<number, { results: unknown[]; want: number; resolve: (v: unknown[]) => void }>();
  private nftChain: Promise<void> = Promise.resolve();
  private running = false;
  private restartTimer: TimerHandle | null = null;
  private restartFrom = -1;
  private restartAttempt = 0;
  private backoffMs = 0;
  /** Problems reported by workers for the current model (unsupported methods, ranges). */
  problems: string[] = [];
  /** Connection sync (src/sync/): each worker's ring by index, the role and rules; re-sent to restarted workers. */
  private sync: { readonly rings: readonly SharedArrayBuffer[]; readonly master: boolean; readonly rules: { readonly threshold: number; readonly period: number } } | null = null;

  constructor(deps: ForwardingDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.backoffMs = deps.restartBackoffMs?.min ?? 1000;
  }

  // ───────────────────────────── Subsystem ─────────────────────────────

  async start(model: Model): Promise<void> {
    this.model = model;
    // D4: a crashed predecessor's table goes first.
    if (this.deps.nft) await this.deps.nft.remove().catch((e) => this.error(`removing a previous nft table: ${String(e)}`));
    await this.startWorkers(model);
    this.registerCommands();
    this.unsubNeigh = this.deps.netlink.onNeighbourChange((n) => this.onNeighbour(n));
    await this.resolveNeighbours();
    if (this.deps.autoClaimUnowned ?? true) {
      const unowned = Object.values(model.coreVips).filter((v) => v.instance === null);
      if (unowned.length) this.claim(null, unowned);
    }
    this.scheduleEstimator();
    this.running = true;
    this.updateNft();
    const rx = resolveIo(this.deps).rx;
    this.deps.bus.emit({ type: 'forward.started', workers: this.workers.length, interfaces: this.ifaces.map((i) => i.name), ring: rx === 'recvmmsg' ? 'recvmmsg' : rx === 'v2' ? 'tpacket_v2' : 'tpacket_v3' });
  }

  async apply(next: Model, changes: ChangeSet): Promise<void> {
    const prev = this.model;
    this.model = next;
    const ifacesBefore = JSON.stringify(this.ifaces);
    const ifaces = await this.computeInterfaces(next);
    const g0 = prev?.global;
    const resize = !!g0 && (g0.connTableSize !== next.global.connTableSize || g0.forwardingWorkers !== next.global.forwardingWorkers);
    const needSlots = this.slotsNeeded(next);
    if (JSON.stringify(ifaces) !== ifacesBefore || (changes.global && resize) || needSlots.svc > this.layout.svcSlots || needSlots.dest > this.layout.destSlots) {
      // A new interface set, table size or counter layout needs new sockets, tables and
      // counters: restart the data plane (its connections are lost; any other change,
      // lvs_timeouts included, keeps them). Totals carry the counts across.
      this.foldTotals();
      await this.stopWorkers();
      await this.startWorkers(next);
      for (const [, v] of this.claimed) this.post({ type: 'claim', instance: v.instance, vips: [v], claimed: true });
    } else {
      this.assignSlots(next);
      this.postRoutes();
      const program = this.programFor(next);
      if (program) this.program = program;
      this.post({ type: 'model', model: next, slots: this.slots, fanoutProgram: program });
    }
    // Health and quorum of what survived.
    for (const [k, h] of this.health) {
      const [svc, real] = k.split('|') as [string, string];
      if (next.virtualServers[svc]?.realServers[real]) this.post({ type: 'health', service: svc, real, health: { up: h.up, weight: h.weight ?? undefined } });
      else this.health.delete(k);
    }
    for (const svc of this.quorumDown) {
      if (next.virtualServers[svc]) this.post({ type: 'quorum', service: svc, up: false });
      else this.quorumDown.delete(svc);
    }
    // Core VIPs removed from the config are released; new unowned ones claimed.
    for (const [addr, v] of [...this.claimed]) {
      if (!next.coreVips[addr]) this.release(v.instance, [v]);
    }
    if (this.deps.autoClaimUnowned ?? true) {
      const fresh = Object.values(next.coreVips).filter((v) => v.instance === null && !this.claimed.has(v.address));
      if (fresh.length) this.claim(null, fresh);
    }
    await this.resolveNeighbours();
    this.updateNft();
  }

  async stop(reason: string): Promise<void> {
    this.running = false;
    this.estTimer?.cancel();
    this.estTimer = null;
    this.restartTimer?.cancel();
    this.restartTimer = null;
    this.unsubNeigh?.();
    this.unsubNeigh = null;
    for (const v of [...this.claimed.values()]) this.release(v.instance, [v]);
    await this.stopWorkers();
    this.deps.registry.unregister('lvs');
    this.deps.registry.unregister('trace');
    await this.nftChain;
    if (this.deps.nft) await this.deps.nft.remove().catch((e) => this.error(`removing the nft table: ${String(e)}`));
    this.deps.bus.emit({ type: 'forward.stopped', reason });
  }

  // ───────────────────────────── CoreVipPort ─────────────────────────────

  /** The core starts answering for and forwarding to these VIPs (VRRP became MASTER). */
  claim(instance: string | null, vips: readonly CoreVip[]): void {
    const fresh = vips.filter((v) => !this.claimed.has(v.address));
    for (const v of vips) this.claimed.set(v.address, v);
    this.post({ type: 'claim', instance, vips, claimed: true });
    for (const v of fresh) this.deps.bus.emit({ type: 'vip.added', address: v.address, dev: v.interface, owner: 'core', instance });
    if (this.running) this.updateNft();
  }

  /** The core stops answering for these VIPs (VRRP left MASTER). */
  release(instance: string | null, vips: readonly CoreVip[]): void {
    const gone = vips.filter((v) => this.claimed.has(v.address));
    for (const v of vips) this.claimed.delete(v.address);
    this.post({ type: 'claim', instance, vips, claimed: false });
    for (const v of gone) this.deps.bus.emit({ type: 'vip.removed', address: v.address, dev: v.interface, owner: 'core', instance });
    if (this.running) this.updateNft();
  }

  // ───────────────────────────── health ─────────────────────────────

  /**
   * A real server's health (from the check events): down removes it from scheduling (weight
   * 0 with inhibit_on_failure) and its connections are expired on their next packet; `weight`
   * is a dynamic weight (misc_dynamic). It holds for every IPVS service of the virtual_server
   * (each entry of a group). Unknown keys are ignored (returns false).
   */
  setRealHealth(serviceKey: string, realKey: string, h: RealHealth): boolean {
    if (!this.model?.virtualServers[serviceKey]?.realServers[realKey]) return false;
    this.health.set(`${serviceKey}|${realKey}`, { up: h.up, weight: h.weight ?? null });
    this.post({ type: 'health', service: serviceKey, real: realKey, health: h });
    return true;
  }

  /** Quorum of a service (keepalived quorum/hysteresis): lost → its sorry server alone, if it has one. */
  setServiceQuorum(serviceKey: string, up: boolean): boolean {
    if (!this.model?.virtualServers[serviceKey]) return false;
    if (up) this.quorumDown.delete(serviceKey);
    else this.quorumDown.add(serviceKey);
    this.post({ type: 'quorum', service: serviceKey, up });
    return true;
  }

  // ───────────────────────────── queries ─────────────────────────────

  /** Where a new flow would go: asked of the worker whose table the client's frames reach (the fanout program's choice). */
  async trace(proto: 'tcp' | 'udp', src: string, sport: number, dst: string, dport: number): Promise<TraceResult> {
    const w = this.workerForClient(src);
    const [r] = await this.query((id) => ({ type: 'trace', id, proto, src, sport, dst, dport }), 1, w);
    return r as TraceResult;
  }

  /** The worker that receives a client's frames (fanout-program.ts; 0 with one worker). */
  workerForClient(address: string): number {
    const n = this.workers.length;
    if (n <= 1 || !this.model) return 0;
    const spec = fanoutSpec(this.model);
    const v4 = parseIPv4(address);
    if (v4 !== null) return fanoutWorker(spec, 4, [v4 >>> 0], n);
    const b = parseIPv6(address);
    if (!b) return 0;
    const w = [0, 1, 2, 3].map((i) => ((b[i * 4]! << 24) | (b[i * 4 + 1]! << 16) | (b[i * 4 + 2]! << 8) | b[i * 4 + 3]!) >>> 0);
    return fanoutWorker(spec, 6, w, n);
  }

  // ───────────────────────────── connection sync (src/sync/) ─────────────────────────────

  /**
   * Connection sync's state for the workers: worker i gets rings[i] (its entries and
   * counters), whether the master role runs, and the sync_threshold rules; null = off. Kept
   * and given again to workers that restart.
   */
  setSync(s: { readonly rings: readonly SharedArrayBuffer[]; readonly master: boolean; readonly rules: { readonly threshold: number; readonly period: number } } | null): void {
    this.sync = s;
    for (const w of this.workers) if (!w.exited) this.postSync(w.handle, w.index);
  }

  /** Entries from the peer director for worker `index`'s clients (the fanout program's choice, fanoutWorker()). */
  postSyncEntries(index: number, bytes: Uint8Array): boolean {
    const w = this.workers.find((x) => x.index === index && !x.exited);
    if (!w) return false;
    w.handle.postMessage({ type: 'sync-conns', bytes });
    return true;
  }

  /** The model in force (connection sync places entries with its fanout spec). */
  get currentModel(): Model | null {
    return this.model;
  }

  private postSync(h: WorkerHandle, index: number): void {
    const s = this.sync;
    h.postMessage({ type: 'sync', ring: s?.rings[index] ?? null, master: s?.master ?? false, rules: s?.rules ?? { threshold: 3, period: 50 } });
  }

  /** The fanout program for a model (several workers only); null when one worker runs. */
  private programFor(model: Model): Uint32Array | null {
    if (this.workers.length <= 1) return null;
    try {
      return fanoutProgram(fanoutSpec(model));
    } catch (e) {
      this.error(`fanout program: ${e instanceof Error ? e.message : String(e)}; keeping the previous one`);
      return null;
    }
  }

  /**
   * Services, real servers, counters and rates (ipvsadm -L), optionally the connections and a
   * zeroing. One row per IPVS service: a virtual_server_group lists each of its entries, as
   * keepalived creates them and ipvsadm shows them.
   */
  async lvs(opts: { conns?: boolean; zero?: boolean; limit?: number } = {}): Promise<LvsResult> {
    const model = this.model;
    if (!model || !this.statsBuf) throw new LvsdError('ERR_FORWARD_NOT_RUNNING', 'the forwarding core is not running');
    const raw = sumStats(this.statsBuf, this.layout);
    this.foldTotals(raw);
    if (opts.zero) this.zero();
    const rowOf = (kind: 'svc' | 'dest', key: string) => {
      const slot = kind === 'svc' ? this.slots.svc[key] : this.slots.dest[key];
      const t = this.totals.get(`${kind}:${key}`)?.total ?? new Array<number>(STAT_STRIDE).fill(0);
      const total = counters(t);
      const g = slot === undefined ? [0, 0, 0] : (() => { const r = raw.row(kind, slot); return [r[S_ACTIVE]!, r[S_INACTIVE]!, r[S_PERSIST]!]; })();
      return { total, stats: minus(total, this.baseline.get(`${kind}:${key}`)), g };
    };
    const rates = (k: string) => this.estimators.get(k)?.read() ?? { ...NO_RATES };
    const services: LvsService[] = [];
    for (const vs of Object.values(model.virtualServers)) {
      const quorumUp = !this.quorumDown.has(vs.key);
      const sorryOn = !quorumUp && vs.sorryServer !== null;
      const active = vs.ownerInstance === null || [...this.claimed.values()].some((c) => c.instance === vs.ownerInstance);
      for (const d of ipvsServicesOf(model, vs)) {
        const sc = rowOf('svc', d.key);
        const reals: LvsReal[] = [];
        for (const rs of Object.values(vs.realServers)) {
          const h = this.health.get(`${vs.key}|${rs.key}`) ?? { up: !rs.alpha, weight: null };
          const dkey = `${d.key}|${rs.key}`;
          const dc = rowOf('dest', dkey);
          // keepalived: down by health → removed (weight 0 with inhibit_on_failure); quorum
          // lost with a sorry server → the alive ones are removed too (perform_quorum_state).
          const inList = h.up && !sorryOn;
          reals.push({
            key: rs.key, address: rs.address, port: rs.port, forward: FWD_NAMES[rs.method] ?? rs.method,
            weight: inList ? (h.weight ?? rs.weight) : 0, up: h.up, inService: inList || rs.inhibitOnFailure,
            activeConns: dc.g[0]!, inactiveConns: dc.g[1]!, persistConns: dc.g[2]!,
            upperThreshold: rs.upperThreshold, lowerThreshold: rs.lowerThreshold, stats: dc.stats, totals: dc.total,
            rates: rates(`dest:${dkey}`), sorry: false,
          });
        }
        const ss = vs.sorryServer;
        if (ss) {
          const skey = `${d.key}|${sorryKeyOf(ss)}`;
          const dc = rowOf('dest', skey);
          // In the list while quorum is lost; with sorry_server_inhibit always, weight 0 while quorum is up.
          const inService = sorryOn || ss.inhibit;
          if (inService || dc.g[0]! + dc.g[1]! > 0) {
            reals.push({
              key: `sorry:${ss.address.includes(':') ? `[${ss.address}]` : ss.address}:${ss.port}`, address: ss.address, port: ss.port,
              forward: FWD_NAMES[ss.method] ?? ss.method, weight: sorryOn ? 1 : 0, up: true, inService,
              activeConns: dc.g[0]!, inactiveConns: dc.g[1]!, persistConns: dc.g[2]!, upperThreshold: 0, lowerThreshold: 0,
              stats: dc.stats, totals: dc.total, rates: rates(`dest:${skey}`), sorry: true,
            });
          }
        }
        services.push({
          key: d.key, virtualServer: vs.key, protocol: vs.protocol === 'tcp' ? 'TCP' : 'UDP', family: vs.family,
          address: d.kind === 'addr' ? (vs.family === 'ipv6' ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`) : '',
          fwmark: d.fwmark, group: d.group,
          scheduler: vs.scheduler, schedulerFlags: schedulerFlagNames(vs), persistentS: vs.persistenceTimeoutS, granularity: vs.persistenceGranularity, ops: vs.ops,
          active, quorumUp, stats: sc.stats, totals: sc.total, rates: rates(`svc:${d.key}`), reals,
        });
      }
    }
    const lt = model.global.lvsTimeouts;
    const result: LvsResult = {
      connTableSize: model.global.connTableSize,
      services,
      timeouts: { tcp: lt.tcpS || TCP_TIMEOUTS_S[sES]!, tcpfin: lt.tcpFinS || TCP_TIMEOUTS_S[sFW]!, udp: lt.udpS || UDP_DEFAULT_TIMEOUT_S },
      counters: this.globalCounters(),
    };
    if (opts.conns) {
      const parts = (await this.query((id) => ({ type: 'conns', id, limit: opts.limit ?? 10000 }))) as { rows: ConnRow[]; total: number; index: number }[];
      // Every worker's table, each row tagged with the worker that holds it.
      result.conns = parts.sort((a, b) => a.index - b.index).flatMap((p) => p.rows.map((r) => ({ ...r, worker: p.index })));
      result.connsTotal = parts.reduce((s, p) => s + p.total, 0);
    }
    return result;
  }

  /** ipvsadm -Z: the listing's counters restart from zero (a baseline of the totals; Prometheus totals keep counting). */
  private zero(): void {
    for (const [k, t] of this.totals) this.baseline.set(k, [...t.total]);
    for (const e of this.estimators.values()) e.zero();
  }

  /**
   * Folds the shared counters into the monotonic totals: each row's increase since the last
   * read is added; a row that went down was reset (a new data plane) and counts from zero.
   */
  private foldTotals(raw: StatsTotals | null = this.statsBuf ? sumStats(this.statsBuf, this.layout) : null): void {
    if (!raw) return;
    const fold = (kind: 'svc' | 'dest', key: string, slot: number) => {
      const k = `${kind}:${key}`;
      const row = raw.row(kind, slot);
      let t = this.totals.get(k);
      if (!t) {
        t = { last: new Array<number>(STAT_STRIDE).fill(0), total: new Array<number>(STAT_STRIDE).fill(0) };
        this.totals.set(k, t);
      }
      for (const i of [S_CONNS, S_INPKTS, S_OUTPKTS, S_INBYTES, S_OUTBYTES]) {
        t.total[i]! += increase(t.last[i]!, row[i]!);
        t.last[i] = row[i]!;
      }
    };
    for (const [k, slot] of Object.entries(this.slots.svc)) fold('svc', k, slot);
    for (const [k, slot] of Object.entries(this.slots.dest)) fold('dest', k, slot);
    // The pipeline's counters by outcome, the same way: a new data plane starts them at zero.
    for (const [name, v] of Object.entries(raw.global())) {
      let t = this.globalTotals.get(name);
      if (!t) {
        t = { last: 0, total: 0 };
        this.globalTotals.set(name, t);
      }
      t.total += increase(t.last, v);
      t.last = v;
    }
  }

  /** The pipeline's counters since the daemon started (monotonic across data-plane restarts). */
  private globalCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, t] of this.globalTotals) out[name] = t.total;
    return out;
  }

  // ───────────────────────────── internals ─────────────────────────────

  private error(message: string): void {
    this.deps.bus.emit({ type: 'forward.error', message });
  }

  private post(m: ToWorker): void {
    for (const w of this.workers) if (!w.exited) w.handle.postMessage(m);
  }

  /** Asks every running worker (want = all), or one: worker `first` (or the first running one while it restarts). */
  private query(make: (id: number) => ToWorker, want = Infinity, first = 0): Promise<unknown[]> {
    const id = this.nextQuery++;
    const live = this.workers.filter((w) => !w.exited);
    if (live.length === 0) return Promise.reject(new LvsdError('ERR_FORWARD_NOT_RUNNING', 'the forwarding core is not running'));
    const targets = want >= live.length ? live : [live.find((w) => w.index === first) ?? live[0]!];
    const n = targets.length;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new LvsdError('ERR_FORWARD_TIMEOUT', 'a forwarding worker did not answer in 5 s'));
      }, 5000);
      this.pending.set(id, { results: [], want: n, resolve: (v) => { clearTimeout(t); resolve(v); } });
      const m = make(id);
      for (const w of targets) w.handle.postMessage(m);
    });
  }

  private onWorker(m: FromWorker): void {
    switch (m.type) {
      case 'trace':
      case 'conns': {
        const p = this.pending.get(m.id);
        if (!p) return;
        p.results.push(m.type === 'trace' ? m.result : { rows: m.rows, total: m.total, index: m.index ?? 0 });
        if (p.results.length >= p.want) {
          this.pending.delete(m.id);
          p.resolve(p.results);
        }
        return;
      }
      case 'neigh-request':
        for (const r of m.requests) void this.resolveOne(r.address, r.ifname);
        return;
      case 'problems':
        if (m.index === 0) {
          // Once per model (start, reload, restart): each problem is a log line every time it holds.
          this.problems = [...m.problems];
          for (const p of m.problems) this.error(p);
        }
        return;
      case 'error':
        this.error(`worker ${m.index}: ${m.message}`);
        return;
      default:
        return;
    }
  }

  /**
   * Interfaces the core serves: services' and core VIPs' interfaces, plus where real servers
   * live: the interface of the connected network that holds a real server, or for one outside
   * them the kernel's route to it (RTM_GETROUTE; D7), whose interface and gateway are kept.
   */
  private async computeInterfaces(model: Model): Promise<WorkerInit['ifaces']> {
    const addrs = await this.deps.netlink.listAddresses();
    const vipSet = new Set(Object.keys(model.coreVips));
    this.localAddresses = addrs.map((a) => a.address).filter((a) => !vipSet.has(a));
    const names = new Set<string>();
    for (const vs of Object.values(model.virtualServers)) names.add(vs.interface);
    for (const v of Object.values(model.coreVips)) names.add(v.interface);
    const routes = new Map<string, RealRoute>();
    for (const t of this.targetsOf(model)) {
      const on = addrs.find((a) => a.family === ipFamily(t) && !vipSet.has(a.address) && sameSubnet(a.address, t, a.prefixLen));
      if (on) {
        names.add(on.ifname);
        continue;
      }
      const r = await this.lookupRoute(t);
      if (r) {
        routes.set(t, r);
        names.add(r.ifname);
      }
    }
    // Routes no longer needed (the real server left, or is now on a connected network, or has
    // no usable route): the workers forget them at the next postRoutes().
    for (const a of this.routes.keys()) if (!routes.has(a)) this.removedRoutes.add(a);
    for (const a of routes.keys()) this.removedRoutes.delete(a);
    this.routes.clear();
    for (const [a, r] of routes) this.routes.set(a, r);
    const out: (WorkerInit['ifaces'][number])[] = [];
    for (const name of [...names].sort()) {
      const link = await this.deps.netlink.getLink(name);
      if (!link) {
        this.error(`interface ${name} does not exist; not served`);
        continue;
      }
      const nets = addrs.filter((a) => a.ifname === name && !vipSet.has(a.address)).map((a) => ({ address: a.address, prefixLen: a.prefixLen }));
      out.push({ name, mac: link.mac, vnet: true, nets, mtu: link.mtu || 1500 });
    }
    return out;
  }

  /** Real and sorry server addresses of a model (canonical text). */
  private targetsOf(model: Model): string[] {
    const out = new Set<string>();
    for (const vs of Object.values(model.virtualServers)) {
      for (const r of Object.values(vs.realServers)) out.add(canonicalIp(r.address) ?? r.address);
      if (vs.sorryServer) out.add(canonicalIp(vs.sorryServer.address) ?? vs.sorryServer.address);
    }
    return [...out];
  }

  /** The kernel's unicast route to a real server, or null (and a log line) when there is none usable. */
  private async lookupRoute(address: string): Promise<RealRoute | null> {
    const routeTo = this.deps.netlink.routeTo;
    if (!routeTo) {
      this.error(`real server ${address} is not on a connected network and route lookups are not available; not forwarded (no_egress)`);
      return null;
    }
    try {
      const r = await routeTo.call(this.deps.netlink, address);
      if (!r || r.type !== 'unicast' || !r.ifname) {
        this.error(`real server ${address}: no unicast route (${r ? r.type : 'none'}); not forwarded (no_egress)`);
        return null;
      }
      return { ifname: r.ifname, gateway: r.gateway ? canonicalIp(r.gateway) ?? r.gateway : null };
    } catch (e) {
      this.error(`route to real server ${address}: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
  }

  /** Routes to the workers (before the model, so new dests find them). */
  private postRoutes(to?: WorkerHandle): void {
    if (!to) {
      for (const address of this.removedRoutes) this.post({ type: 'route', address, route: null });
      this.removedRoutes.clear();
    }
    for (const [address, route] of this.routes) {
      const m: ToWorker = { type: 'route', address, route };
      if (to) to.postMessage(m);
      else this.post(m);
    }
  }

  /**
   * Stats rows the current layout must hold after assigning a model's: the rows given so far
   * (slots are never reused: a removed service's row may still be counted into by its last
   * connections) plus one per IPVS service and per real or sorry server of each not given yet.
   */
  private slotsNeeded(model: Model): { svc: number; dest: number } {
    let svc = this.nextSvcSlot, dest = this.nextDestSlot;
    for (const vs of Object.values(model.virtualServers)) {
      for (const d of ipvsServicesOf(model, vs)) {
        if (this.slots.svc[d.key] === undefined) svc++;
        for (const rs of Object.values(vs.realServers)) if (this.slots.dest[`${d.key}|${rs.key}`] === undefined) dest++;
        if (vs.sorryServer && this.slots.dest[`${d.key}|${sorryKeyOf(vs.sorryServer)}`] === undefined) dest++;
      }
    }
    return { svc, dest };
  }

  private assignSlots(model: Model): void {
    const give = (kind: 'svc' | 'dest', key: string) => {
      const map = this.slots[kind];
      if (map[key] !== undefined) return;
      if (kind === 'svc' ? this.nextSvcSlot < this.layout.svcSlots : this.nextDestSlot < this.layout.destSlots) {
        map[key] = kind === 'svc' ? this.nextSvcSlot++ : this.nextDestSlot++;
      }
    };
    for (const vs of Object.values(model.virtualServers)) {
      for (const d of ipvsServicesOf(model, vs)) {
        give('svc', d.key);
        for (const rs of Object.values(vs.realServers)) give('dest', `${d.key}|${rs.key}`);
        if (vs.sorryServer) give('dest', `${d.key}|${sorryKeyOf(vs.sorryServer)}`);
      }
    }
  }

  private async startWorkers(model: Model): Promise<void> {
    this.ifaces = await this.computeInterfaces(model);
    // forwarding_workers 0 = one per CPU (ARCHITECTURE D5; docs/decisions/forwarding-workers.md).
    let workers = Math.max(1, Math.min(64, this.deps.workers ?? (model.global.forwardingWorkers || availableParallelism())));
    let program: Uint32Array | null = null;
    if (workers > 1) {
      // A cBPF fanout program keeps each client's flows (both directions) and persistence
      // templates on one worker (fanout-program.ts, docs/decisions/forwarding-workers.md).
      try {
        program = fanoutProgram(fanoutSpec(model));
      } catch (e) {
        this.error(`forwarding_workers ${workers}: no fanout program (${e instanceof Error ? e.message : String(e)}); using 1 worker`);
        workers = 1;
      }
    }
    const io = resolveIo(this.deps);
    // Rows for the model with room to grow on reloads (a reload that needs more restarts the data plane).
    this.slots = { svc: {}, dest: {} };
    this.nextSvcSlot = 0;
    this.nextDestSlot = 0;
    const need = this.slotsNeeded(model);
    this.layout = { workers, svcSlots: Math.max(MIN_SVC_SLOTS, need.svc * 2), destSlots: Math.max(MIN_DEST_SLOTS, need.dest * 2) };
    this.statsBuf = allocStats(this.layout);
    // Fresh counters: the totals continue from here (foldTotals treats every row as new).
    for (const t of this.totals.values()) t.last.fill(0);
    for (const t of this.globalTotals.values()) t.last = 0;
    this.assignSlots(model);
    // Workers start one after the other: the kernel numbers a fanout group's members in join
    // order, and the program's `hash % members` must mean the same worker on every interface.
    // conn_table_size is per worker (docs/configuration.md).
    this.initBase = {
      workers, ifaces: this.ifaces, capacity: Math.max(1024, model.global.connTableSize),
      tickMs: this.deps.tickMs ?? 100, stats: this.statsBuf, layout: this.layout, fanoutGroup: randomInt(1, 0xff00),
      batch: this.deps.batch ?? 32, ring: io.rx === 'v3', io, fanoutProgram: program, netns: this.deps.netns ?? null,
    };
    this.program = program;
    for (let i = 0; i < workers; i++) {
      try {
        this.workers.push(await this.spawnOne(i));
      } catch (e) {
        await this.stopWorkers();
        throw e;
      }
    }
    this.postRoutes();
    this.post({ type: 'model', model, slots: this.slots, fanoutProgram: program });
    for (const [addr, mac] of this.neighbours) this.post({ type: 'neigh', address: addr, mac });
    if (this.sync) for (const w of this.workers) this.postSync(w.handle, w.index);
  }

  /** Starts worker i of the current data plane and waits for it to be ready. */
  private async spawnOne(i: number): Promise<WorkerSlot> {
    const init: WorkerInit = { ...this.initBase!, fanoutProgram: this.program, index: i, seed: randomInt(1, 0x7fffffff) };
    const handle = (this.deps.spawnWorker ?? defaultSpawn)(init);
    const slot: WorkerSlot = { handle, index: i, retiring: false, exited: false, startedAt: this.clock.now() };
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new LvsdError('ERR_FORWARD_WORKER', `forwarding worker ${i} did not start in 15 s`)), 15_000);
      handle.on('message', (m: FromWorker) => {
        if (m.type === 'ready') { ready = true; clearTimeout(t); resolve(); }
        else if (m.type === 'error' && m.index === i && !ready) { clearTimeout(t); reject(new LvsdError('ERR_FORWARD_WORKER', `forwarding worker ${i}: ${m.message}`)); }
        this.onWorker(m);
      });
      handle.on('error', (e: Error) => {
        if (!ready) { clearTimeout(t); reject(e); }
        else this.onCrash(slot, `error: ${e.message}`);
      });
      handle.on('exit', (code: number) => {
        slot.exited = true;
        if (!ready) { clearTimeout(t); reject(new LvsdError('ERR_FORWARD_WORKER', `forwarding worker ${i} exited (${code}) before it was ready`)); }
        else if (!slot.retiring) this.onCrash(slot, `exit code ${code}`);
      });
    });
    return slot;
  }

  /**
   * A worker died after it started. Its sockets left the PACKET_FANOUT groups, and the kernel
   * moved the last member into its slot (af_packet.c __fanout_unlink), so the workers after it
   * no longer receive the share their index stands for: workers k..n-1 are restarted, in
   * order, after a backoff (1 s doubling to 30 s; back to 1 s after a minute without a crash).
   * Their connection tables are lost: their clients' connections are reset on their next
   * packet (a non-SYN without a connection gets a RST).
   */
  private onCrash(slot: WorkerSlot, reason: string): void {
    if (!this.running || slot.retiring || !this.workers.includes(slot)) return;
    slot.retiring = true;
    const k = slot.index;
    if (this.clock.now() - slot.startedAt >= BACKOFF_RESET_MS) this.backoffMs = this.deps.restartBackoffMs?.min ?? 1000;
    const delay = this.scheduleRestart(k);
    const restarting = this.workers.filter((w) => w.index >= this.restartFrom).map((w) => w.index);
    this.deps.bus.emit({ type: 'forward.worker_crashed', worker: k, reason, restartInMs: delay, restarting });
  }

  /** Arms the restart of workers from..n-1 after the current backoff (which then doubles); returns the delay. */
  private scheduleRestart(from: number): number {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.deps.restartBackoffMs?.max ?? 30_000, this.backoffMs * 2);
    this.restartFrom = this.restartFrom < 0 ? from : Math.min(this.restartFrom, from);
    this.restartTimer?.cancel();
    this.restartTimer = this.clock.setTimer(delay, () => {
      this.restartTimer = null;
      void this.restartFromIndex();
    });
    return delay;
  }

  private async restartFromIndex(): Promise<void> {
    const from = this.restartFrom;
    this.restartFrom = -1;
    if (!this.running || from < 0 || !this.model || !this.initBase) return;
    this.foldTotals();
    const n = this.initBase.workers;
    const tail = this.workers.filter((w) => w.index >= from);
    this.workers = this.workers.filter((w) => w.index < from);
    await Promise.all(tail.map((w) => this.stopOne(w)));
    this.restartAttempt++;
    const started: number[] = [];
    for (let i = from; i < n; i++) {
      let w: WorkerSlot;
      try {
        w = await this.spawnOne(i);
      } catch (e) {
        // Try again later, from this worker on (those before it run).
        if (started.length) this.deps.bus.emit({ type: 'forward.worker_restarted', workers: started, attempt: this.restartAttempt });
        const delay = this.scheduleRestart(i);
        this.error(`forwarding worker ${i} did not start again (${e instanceof Error ? e.message : String(e)}); next try in ${delay} ms`);
        return;
      }
      this.workers.push(w);
      started.push(i);
      this.postState(w.handle);
    }
    this.deps.bus.emit({ type: 'forward.worker_restarted', workers: started, attempt: this.restartAttempt });
  }

  /** Everything a fresh worker needs to join a running data plane. */
  private postState(h: WorkerHandle): void {
    const model = this.model!;
    this.postRoutes(h);
    h.postMessage({ type: 'model', model, slots: this.slots, fanoutProgram: this.program });
    for (const [addr, mac] of this.neighbours) h.postMessage({ type: 'neigh', address: addr, mac });
    for (const v of this.claimed.values()) h.postMessage({ type: 'claim', instance: v.instance, vips: [v], claimed: true });
    for (const [k, st] of this.health) {
      const [service, real] = k.split('|') as [string, string];
      h.postMessage({ type: 'health', service, real, health: { up: st.up, weight: st.weight ?? undefined } });
    }
    for (const service of this.quorumDown) h.postMessage({ type: 'quorum', service, up: false });
    const index = this.workers.find((w) => w.handle === h)?.index;
    if (this.sync && index !== undefined) this.postSync(h, index);
  }

  private stopOne(w: WorkerSlot): Promise<void> {
    w.retiring = true;
    if (w.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => { void w.handle.terminate().then(() => resolve()); }, 3000);
      w.handle.on('exit', () => { clearTimeout(t); resolve(); });
      try {
        w.handle.postMessage({ type: 'stop' } satisfies ToWorker);
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }

  private async stopWorkers(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => this.stopOne(w)));
  }

  /** Next hops to resolve: a connected real server itself, or the gateway of a routed one, with the interface. */
  private destTargets(): { address: string; ifname: string }[] {
    const out = new Map<string, string>();
    const model = this.model;
    if (!model) return [];
    for (const t of this.targetsOf(model)) {
      const ifc = this.ifaces.find((i) => i.nets.some((n) => ipFamily(n.address) === ipFamily(t) && sameSubnet(n.address, t, n.prefixLen)));
      if (ifc) {
        out.set(t, ifc.name);
        continue;
      }
      const r = this.routes.get(t);
      if (r) out.set(r.gateway ?? t, r.ifname);
    }
    return [...out].map(([address, ifname]) => ({ address, ifname }));
  }

  private async resolveNeighbours(): Promise<void> {
    await Promise.all(this.destTargets().map((t) => this.resolveOne(t.address, t.ifname)));
  }

  /** D7: the kernel's neighbour entry, or ask the kernel to resolve it (the change event brings the answer). */
  private async resolveOne(address: string, ifname: string | null): Promise<void> {
    if (!ifname) return;
    try {
      const n = await this.deps.netlink.getNeighbour(ifname, address);
      if (n && n.mac && !['failed', 'incomplete'].includes(n.state)) {
        this.setMac(address, n.mac);
        return;
      }
      await this.deps.netlink.resolveNeighbour(ifname, address);
    } catch (e) {
      this.error(`neighbour ${address} on ${ifname}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private onNeighbour(n: NeighbourInfo): void {
    const address = canonicalIp(n.address) ?? n.address;
    if (!this.destTargets().some((t) => t.address === address)) return;
    if (n.state === 'failed' || n.state === 'incomplete' || !n.mac) {
      if (this.neighbours.has(address)) {
        this.neighbours.delete(address);
        this.post({ type: 'neigh', address, mac: null });
      }
      return;
    }
    this.setMac(address, n.mac);
  }

  private setMac(address: string, mac: string): void {
    if (this.neighbours.get(address) === mac) return;
    this.neighbours.set(address, mac);
    this.post({ type: 'neigh', address, mac });
  }

  private scheduleEstimator(): void {
    const tick = () => {
      if (!this.statsBuf || !this.model) return;
      this.foldTotals();
      for (const [k, t] of this.totals) {
        let e = this.estimators.get(k);
        if (!e) { e = new RateEstimator(); this.estimators.set(k, e); }
        const c = t.total;
        e.tick({ conns: c[S_CONNS]!, inpkts: c[S_INPKTS]!, outpkts: c[S_OUTPKTS]!, inbytes: c[S_INBYTES]!, outbytes: c[S_OUTBYTES]! });
      }
      this.estTimer = this.clock.setTimer(EST_INTERVAL_MS, tick);
    };
    this.estTimer = this.clock.setTimer(EST_INTERVAL_MS, tick);
  }

  /** Rebuilds the nft table (serialised: each rebuild waits for the previous one). */
  private updateNft(): void {
    const nft = this.deps.nft;
    const model = this.model;
    if (!nft || !model) return;
    const spec = nftSpecOf(model, this.ifaces.map((i) => i.name), [...this.claimed.keys()], this.localAddresses);
    this.nftChain = this.nftChain.then(() => nft.apply(spec)).catch((e) => this.error(`nft: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Resolves when pending nft updates are done (tests). */
  async settled(): Promise<void> {
    await this.nftChain;
  }

  /** Workers currently running (tests, diagnostics). */
  get workerCount(): number {
    return this.workers.length;
  }

  private registerCommands(): void {
    const reg = this.deps.registry;
    if (reg.get('lvs')) return;
    reg.register('lvs', {
      describe: 'virtual services and real servers with counters, rates, timeouts; conns: true lists connections; zero: true zeroes counters',
      handler: async (args) => this.lvs({
        conns: argBool(args, 'conns') || argBool(args, 'connections') || args.action === 'connections',
        zero: argBool(args, 'zero') || args.action === 'zero',
      }),
    });
    reg.register('trace', {
      describe: 'which real server a new flow would get and why: {proto, client: "CIP:PORT", vip: "VIP:PORT"} (or {flow: "tcp CIP:PORT VIP:PORT"})',
      handler: async (args) => {
        const f = parseTraceArgs(args);
        return this.trace(f.proto, f.src, f.sport, f.dst, f.dport);
      },
    });
  }
}

function defaultSpawn(init: WorkerInit): WorkerHandle {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return newWorker(new URL(`./worker${ext}`, import.meta.url), init);
}

/**
 * Starts the worker module. Compiled code (.js) loads directly; under tsx (tests, benches) a
 * worker does not inherit the main thread's loader hooks on Node 20, so a one-line bootstrap
 * registers tsx in the worker before importing the .ts entry.
 */
function newWorker(url: URL, init: WorkerInit): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData: init });
  const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData: init });
}

/** Parses `trace` arguments: either fields or one `flow` string "tcp 198.18.0.1:4000 198.18.0.10:80". */
export function parseTraceArgs(args: Readonly<Record<string, unknown>>): { proto: 'tcp' | 'udp'; src: string; sport: number; dst: string; dport: number } {
  const flow = argString(args, 'flow');
  let proto: string | undefined;
  let src: string | undefined;
  let dst: string | undefined;
  const client = argString(args, 'client');
  if (flow === undefined && client !== undefined) {
    // lvsadm trace tcp CIP:PORT VIP:PORT → {proto, client, vip}
    proto = argString(args, 'proto', true);
    src = client;
    dst = argString(args, 'vip', true);
  } else if (flow !== undefined) {
    const parts = flow.trim().split(/\s+/);
    if (parts.length !== 3) throw new ControlError('ERR_CONTROL_BAD_ARGS', 'flow must be "tcp|udp CIP:PORT VIP:PORT"');
    [proto, src, dst] = parts as [string, string, string];
  } else {
    proto = argString(args, 'proto', true);
    src = `${argString(args, 'src', true)}:${String(args.sport ?? '')}`;
    dst = `${argString(args, 'dst', true)}:${String(args.dport ?? '')}`;
  }
  if (proto !== 'tcp' && proto !== 'udp') throw new ControlError('ERR_CONTROL_BAD_ARGS', 'protocol must be tcp or udp');
  const ep = (s: string, what: string) => {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
    const port = m ? Number(m[2]) : NaN;
    const addr = m ? canonicalIp(m[1]!) : null;
    if (!m || !addr || !(port >= 0 && port <= 65535)) throw new ControlError('ERR_CONTROL_BAD_ARGS', `${what} must be ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)`);
    return { addr, port };
  };
  const s = ep(src!, 'source');
  const d = ep(dst!, 'destination');
  if ((parseIPv4(s.addr) === null) !== (parseIPv4(d.addr) === null) || (parseIPv6(s.addr) === null) !== (parseIPv6(d.addr) === null)) {
    throw new ControlError('ERR_CONTROL_BAD_ARGS', 'source and destination must be of one family');
  }
  return { proto, src: s.addr, sport: s.port, dst: d.addr, dport: d.port };
}

/** Service keys of a model that the core forwards (for callers wiring health). */
export function forwardedServices(model: Model): VirtualServer[] {
  return Object.values(model.virtualServers);
}
