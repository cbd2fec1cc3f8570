/**
 * The forwarding subsystem on the main thread: starts the data-plane workers, hands them
 * the model, VIP claims, health and neighbours (ARCHITECTURE D5), keeps the daemon's
 * `table netdev lvsd` in step (D4), resolves real-server MACs from the kernel neighbour
 * table (D7), runs the 2-second rate estimators, and serves the `lvs` and `trace` control
 * commands. It implements CoreVipPort for the VRRP engine.
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
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { canonicalIp, ipFamily, parseIPv4, parseIPv6, sameSubnet } from '../lib/ip.js';
import { LvsdError } from '../lib/errors.js';
import type { FromWorker, IoOptions, ToWorker, WorkerInit } from './messages.js';
import { fanoutProgram, fanoutSpec, fanoutWorker } from './fanout-program.js';
import type { ConnRow, RealHealth, StatsSlots, TraceResult } from './pipeline.js';
import { RateEstimator, EST_INTERVAL_MS, type Rates } from './estimator.js';
import { allocStats, sumStats, STAT_STRIDE, S_ACTIVE, S_CONNS, S_INACTIVE, S_INBYTES, S_INPKTS, S_OUTBYTES, S_OUTPKTS, S_PERSIST, type StatsLayout } from './stats.js';
import { TCP_TIMEOUTS_S, sES, sFW } from './proto/tcp.js';
import { UDP_DEFAULT_TIMEOUT_S } from './proto/udp.js';
import { nftSpecOf } from './nft-spec.js';

/** What the subsystem needs from the composition root. */
export interface ForwardingDeps {
  readonly bus: EventBus;
  readonly registry: CommandRegistry;
  readonly netlink: NetlinkPort;
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
}

/** Counter columns of a service or real server as `lvs` reports them. */
export interface LvsCounters {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

/** One real server in the `lvs` result. */
export interface LvsReal {
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
  stats: LvsCounters;
  rates: Rates;
  sorry: boolean;
}

/** One virtual service in the `lvs` result. */
export interface LvsService {
  key: string;
  protocol: 'TCP' | 'UDP';
  family: 'ipv4' | 'ipv6';
  /** `addr:port` or `[v6]:port`; empty for firewall-mark services. */
  address: string;
  fwmark: number;
  group: string | null;
  scheduler: string;
  persistentS: number;
  granularity: number;
  ops: boolean;
  active: boolean;
  quorumUp: boolean;
  stats: LvsCounters;
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

/** I/O defaults of the data plane, chosen with bench/forward.ts (docs/forwarding.md "Receive path"). */
export const IO_DEFAULTS: Required<IoOptions> = { rx: 'v2', qdiscBypass: false, txRing: true, drainAll: false, spinUs: 0, hugePages: true };

function resolveIo(deps: ForwardingDeps): Required<IoOptions> {
  const rx = deps.io?.rx ?? (deps.ring === undefined ? IO_DEFAULTS.rx : deps.ring ? 'v3' : 'recvmmsg');
  const given = Object.fromEntries(Object.entries(deps.io ?? {}).filter(([, v]) => v !== undefined)) as IoOptions;
  return { ...IO_DEFAULTS, ...given, rx };
}

const FWD_NAMES: Record<string, string> = { NAT: 'Masq', DR: 'Route', TUN: 'Tunnel', FNAT: 'FullNat' };

function zeroCounters(): LvsCounters {
  return { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
}

/** The forwarding core as a daemon subsystem, and the VRRP engine's CoreVipPort. */
export class ForwardingSubsystem implements Subsystem, CoreVipPort {
  readonly name = 'forward';
  private readonly deps: ForwardingDeps;
  private readonly clock: Clock;
  private model: Model | null = null;
  private workers: Worker[] = [];
  private ifaces: WorkerInit['ifaces'] = [];
  private layout: StatsLayout = { workers: 1, svcSlots: 1024, destSlots: 8192 };
  private statsBuf: SharedArrayBuffer | null = null;
  private slots: { svc: Record<string, number>; dest: Record<string, number> } = { svc: {}, dest: {} };
  private nextSvcSlot = 0;
  private nextDestSlot = 0;
  private readonly estimators = new Map<string, RateEstimator>();
  private readonly baseline = new Map<string, number[]>();
  private estTimer: TimerHandle | null = null;
  private readonly claimed = new Map<string, CoreVip>();
  private readonly health = new Map<string, RealState>();
  private readonly quorumDown = new Set<string>();
  private readonly neighbours = new Map<string, string>();
  private unsubNeigh: (() => void) | null = null;
  private localAddresses: string[] = [];
  private nextQuery = 1;
  private readonly pending = new Map<number, { results: unknown[]; want: number; resolve: (v: unknown[]) => void }>();
  private nftChain: Promise<void> = Promise.resolve();
  private running = false;
  /** Problems reported by workers for the current model (unsupported methods, ranges). */
  problems: string[] = [];

  constructor(deps: ForwardingDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
  }

  // ───────────────────────────── Subsystem ─────────────────────────────

  async start(model: Model): Promise<void> {
    this.model = model;
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
    if (JSON.stringify(ifaces) !== ifacesBefore || (changes.global && resize)) {
      // A new interface set or table size needs new sockets and tables: restart the data plane
      // (its connections are lost; any other change, lvs_timeouts included, keeps them).
      await this.stopWorkers();
      await this.startWorkers(next);
      for (const [, v] of this.claimed) this.post({ type: 'claim', instance: v.instance, vips: [v], claimed: true });
    } else {
      this.assignSlots(next);
      this.post({ type: 'model', model: next, slots: this.slots, fanoutProgram: this.programFor(next) });
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
   * is a dynamic weight (misc_dynamic). Unknown keys are ignored (returns false).
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

  /** Services, real servers, counters and rates (ipvsadm -L), optionally the connections and a zeroing. */
  async lvs(opts: { conns?: boolean; zero?: boolean; limit?: number } = {}): Promise<LvsResult> {
    const model = this.model;
    if (!model || !this.statsBuf) throw new LvsdError('ERR_FORWARD_NOT_RUNNING', 'the forwarding core is not running');
    const totals = sumStats(this.statsBuf, this.layout);
    if (opts.zero) this.zero(totals);
    const counters = (kind: 'svc' | 'dest', key: string, slot: number | undefined): { c: LvsCounters; g: number[] } => {
      if (slot === undefined) return { c: zeroCounters(), g: [0, 0, 0] };
      const row = totals.row(kind, slot);
      const base = this.baseline.get(`${kind}:${key}`) ?? new Array<number>(STAT_STRIDE).fill(0);
      return {
        c: {
          conns: row[S_CONNS]! - base[S_CONNS]!, inpkts: row[S_INPKTS]! - base[S_INPKTS]!, outpkts: row[S_OUTPKTS]! - base[S_OUTPKTS]!,
          inbytes: row[S_INBYTES]! - base[S_INBYTES]!, outbytes: row[S_OUTBYTES]! - base[S_OUTBYTES]!,
        },
        g: [row[S_ACTIVE]!, row[S_INACTIVE]!, row[S_PERSIST]!],
      };
    };
    const rates = (k: string) => this.estimators.get(k)?.read() ?? { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
    const services: LvsService[] = [];
    for (const vs of Object.values(model.virtualServers)) {
      const sc = counters('svc', vs.key, this.slots.svc[vs.key]);
      const reals: LvsReal[] = [];
      const quorumUp = !this.quorumDown.has(vs.key);
      for (const rs of Object.values(vs.realServers)) {
        const h = this.health.get(`${vs.key}|${rs.key}`) ?? { up: !rs.alpha, weight: null };
        const dkey = `${vs.key}|${rs.key}`;
        const dc = counters('dest', dkey, this.slots.dest[dkey]);
        const inService = (h.up || rs.inhibitOnFailure) && !(!quorumUp && vs.sorryServer);
        reals.push({
          key: rs.key, address: rs.address, port: rs.port, forward: FWD_NAMES[rs.method] ?? rs.method,
          weight: h.up ? (h.weight ?? rs.weight) : 0, up: h.up, inService,
          activeConns: dc.g[0]!, inactiveConns: dc.g[1]!, persistConns: dc.g[2]!,
          upperThreshold: rs.upperThreshold, lowerThreshold: rs.lowerThreshold, stats: dc.c, rates: rates(`dest:${dkey}`), sorry: false,
        });
      }
      if (vs.sorryServer && !quorumUp) {
        reals.push({
          key: `${vs.sorryServer.address}:${vs.sorryServer.port}`, address: vs.sorryServer.address, port: vs.sorryServer.port,
          forward: FWD_NAMES[vs.sorryServer.method] ?? vs.sorryServer.method, weight: 1, up: true, inService: true,
          activeConns: 0, inactiveConns: 0, persistConns: 0, upperThreshold: 0, lowerThreshold: 0, stats: zeroCounters(),
          rates: { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 }, sorry: true,
        });
      }
      const m = vs.match;
      services.push({
        key: vs.key, protocol: vs.protocol === 'tcp' ? 'TCP' : 'UDP', family: vs.family,
        address: m.kind === 'addr' ? (vs.family === 'ipv6' ? `[${m.address}]:${m.port}` : `${m.address}:${m.port}`) : '',
        fwmark: m.kind === 'fwmark' ? m.fwmark : 0, group: m.kind === 'group' ? m.group : null,
        scheduler: vs.scheduler, persistentS: vs.persistenceTimeoutS, granularity: vs.persistenceGranularity, ops: vs.ops,
        active: vs.ownerInstance === null || [...this.claimed.values()].some((c) => c.instance === vs.ownerInstance),
        quorumUp, stats: sc.c, rates: rates(`svc:${vs.key}`), reals,
      });
    }
    const lt = model.global.lvsTimeouts;
    const result: LvsResult = {
      connTableSize: model.global.connTableSize,
      services,
      timeouts: { tcp: lt.tcpS || TCP_TIMEOUTS_S[sES]!, tcpfin: lt.tcpFinS || TCP_TIMEOUTS_S[sFW]!, udp: lt.udpS || UDP_DEFAULT_TIMEOUT_S },
      counters: totals.global(),
    };
    if (opts.conns) {
      const parts = (await this.query((id) => ({ type: 'conns', id, limit: opts.limit ?? 10000 }))) as { rows: ConnRow[]; total: number; index: number }[];
      // Every worker's table, each row tagged with the worker that holds it.
      result.conns = parts.sort((a, b) => a.index - b.index).flatMap((p) => p.rows.map((r) => ({ ...r, worker: p.index })));
      result.connsTotal = parts.reduce((s, p) => s + p.total, 0);
    }
    return result;
  }

  /** ipvsadm -Z: counters read from now on start at zero (a baseline; workers are never written to). */
  private zero(totals: ReturnType<typeof sumStats>): void {
    for (const [k, slot] of Object.entries(this.slots.svc)) this.baseline.set(`svc:${k}`, totals.row('svc', slot));
    for (const [k, slot] of Object.entries(this.slots.dest)) this.baseline.set(`dest:${k}`, totals.row('dest', slot));
    for (const e of this.estimators.values()) e.zero();
  }

  // ───────────────────────────── internals ─────────────────────────────

  private error(message: string): void {
    this.deps.bus.emit({ type: 'forward.error', message });
  }

  private post(m: ToWorker): void {
    for (const w of this.workers) w.postMessage(m);
  }

  private query(make: (id: number) => ToWorker, want = this.workers.length, first = 0): Promise<unknown[]> {
    const id = this.nextQuery++;
    if (this.workers.length === 0) return Promise.reject(new LvsdError('ERR_FORWARD_NOT_RUNNING', 'the forwarding core is not running'));
    const n = Math.min(want, this.workers.length);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new LvsdError('ERR_FORWARD_TIMEOUT', 'a forwarding worker did not answer in 5 s'));
      }, 5000);
      this.pending.set(id, { results: [], want: n, resolve: (v) => { clearTimeout(t); resolve(v); } });
      const m = make(id);
      for (let i = 0; i < n; i++) this.workers[(first + i) % this.workers.length]!.postMessage(m);
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

  /** Interfaces the core serves: services' and core VIPs' interfaces, plus where real servers live. */
  private async computeInterfaces(model: Model): Promise<WorkerInit['ifaces']> {
    const addrs = await this.deps.netlink.listAddresses();
    const vipSet = new Set(Object.keys(model.coreVips));
    this.localAddresses = addrs.map((a) => a.address).filter((a) => !vipSet.has(a));
    const names = new Set<string>();
    for (const vs of Object.values(model.virtualServers)) names.add(vs.interface);
    for (const v of Object.values(model.coreVips)) names.add(v.interface);
    for (const vs of Object.values(model.virtualServers)) {
      const targets = Object.values(vs.realServers).map((r) => r.address);
      if (vs.sorryServer) targets.push(vs.sorryServer.address);
      for (const t of targets) {
        const on = addrs.find((a) => a.family === ipFamily(t) && !vipSet.has(a.address) && sameSubnet(a.address, t, a.prefixLen));
        if (on) names.add(on.ifname);
      }
    }
    const out: (WorkerInit['ifaces'][number])[] = [];
    for (const name of [...names].sort()) {
      const link = await this.deps.netlink.getLink(name);
      if (!link) {
        this.error(`interface ${name} does not exist; not served`);
        continue;
      }
      const nets = addrs.filter((a) => a.ifname === name && !vipSet.has(a.address)).map((a) => ({ address: a.address, prefixLen: a.prefixLen }));
      out.push({ name, mac: link.mac, vnet: true, nets });
    }
    return out;
  }

  private assignSlots(model: Model): void {
    for (const vs of Object.values(model.virtualServers)) {
      if (this.slots.svc[vs.key] === undefined && this.nextSvcSlot < this.layout.svcSlots) this.slots.svc[vs.key] = this.nextSvcSlot++;
      for (const rs of Object.values(vs.realServers)) {
        const k = `${vs.key}|${rs.key}`;
        if (this.slots.dest[k] === undefined && this.nextDestSlot < this.layout.destSlots) this.slots.dest[k] = this.nextDestSlot++;
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
    this.layout = { workers, svcSlots: 1024, destSlots: 8192 };
    this.statsBuf = allocStats(this.layout);
    this.slots = { svc: {}, dest: {} };
    this.nextSvcSlot = 0;
    this.nextDestSlot = 0;
    this.baseline.clear();
    this.assignSlots(model);
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const url = new URL(`./worker${ext}`, import.meta.url);
    const fanoutGroup = randomInt(1, 0xff00);
    // Workers start one after the other: the kernel numbers a fanout group's members in join
    // order, and the program's `hash % members` must mean the same worker on every interface.
    // conn_table_size is per worker (docs/configuration.md).
    const capacity = Math.max(1024, model.global.connTableSize);
    for (let i = 0; i < workers; i++) {
      const init: WorkerInit = {
        index: i, workers, ifaces: this.ifaces, capacity,
        tickMs: this.deps.tickMs ?? 100, stats: this.statsBuf, layout: this.layout, fanoutGroup,
        batch: this.deps.batch ?? 32, ring: io.rx === 'v3', io, fanoutProgram: program, netns: this.deps.netns ?? null, seed: randomInt(1, 0x7fffffff),
      };
      const w = newWorker(url, init);
      this.workers.push(w);
      const ready = (new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new LvsdError('ERR_FORWARD_WORKER', `forwarding worker ${i} did not start in 15 s`)), 15_000);
        w.on('message', (m: FromWorker) => {
          if (m.type === 'ready') { clearTimeout(t); resolve(); }
          else if (m.type === 'error' && m.index === i) { clearTimeout(t); reject(new LvsdError('ERR_FORWARD_WORKER', `forwarding worker ${i}: ${m.message}`)); }
          this.onWorker(m);
        });
        w.on('error', (e) => { clearTimeout(t); this.error(`worker ${i} crashed: ${e.message}`); reject(e); });
      }));
      try {
        await ready;
      } catch (e) {
        await this.stopWorkers();
        throw e;
      }
    }
    this.post({ type: 'model', model, slots: this.slots, fanoutProgram: program });
    for (const [addr, mac] of this.neighbours) this.post({ type: 'neigh', address: addr, mac });
  }

  private async stopWorkers(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => new Promise<void>((resolve) => {
      const t = setTimeout(() => { void w.terminate().then(() => resolve()); }, 3000);
      w.once('exit', () => { clearTimeout(t); resolve(); });
      w.postMessage({ type: 'stop' } satisfies ToWorker);
    })));
  }

  /** Real server addresses with their egress interface. */
  private destTargets(): { address: string; ifname: string }[] {
    const out = new Map<string, string>();
    const model = this.model;
    if (!model) return [];
    for (const vs of Object.values(model.virtualServers)) {
      const targets = Object.values(vs.realServers).map((r) => r.address);
      if (vs.sorryServer) targets.push(vs.sorryServer.address);
      for (const t of targets) {
        const ifc = this.ifaces.find((i) => i.nets.some((n) => ipFamily(n.address) === ipFamily(t) && sameSubnet(n.address, t, n.prefixLen)));
        if (ifc) out.set(canonicalIp(t) ?? t, ifc.name);
      }
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
      const totals = sumStats(this.statsBuf, this.layout);
      const feed = (k: string, row: number[]) => {
        let e = this.estimators.get(k);
        if (!e) { e = new RateEstimator(); this.estimators.set(k, e); }
        e.tick({ conns: row[S_CONNS]!, inpkts: row[S_INPKTS]!, outpkts: row[S_OUTPKTS]!, inbytes: row[S_INBYTES]!, outbytes: row[S_OUTBYTES]! });
      };
      for (const [k, slot] of Object.entries(this.slots.svc)) feed(`svc:${k}`, totals.row('svc', slot));
      for (const [k, slot] of Object.entries(this.slots.dest)) feed(`dest:${k}`, totals.row('dest', slot));
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
