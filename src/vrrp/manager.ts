/**
 * The VRRP subsystem: every `vrrp_instance` and `vrrp_sync_group` of the model, their
 * sockets, trackers and notifications, started, reloaded and stopped by the supervisor.
 *
 * All protocol decisions are made by the pure machine (machine.ts) and the group table
 * (sync-group.ts); this class routes inputs to them (packets, timers, tracker changes,
 * reloads) and hands the resulting effects to each instance's driver (instance.ts).
 */
import type { Subsystem } from '../daemon/subsystem.js';
import type { EventBus } from '../events/bus.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { LvsdError } from '../lib/errors.js';
import type { AnnouncePort, CoreVipPort, LinkInfo, NetlinkPort, ScriptPort } from '../io/ports.js';
import type { ChangeSet } from '../model/changes.js';
import type { Model, TrackRef, VrrpInstance, VrrpSyncGroup } from '../model/types.js';
import { argString, type CommandRegistry } from '../control/registry.js';
import { NodeTrackFiles, type TrackFilePort } from './file-source.js';
import { InstanceRuntime, machineConfigOf } from './instance.js';
import { initialMachineState, step, type MachineEffect, type MachineInput, type MachineState, type TimerName, type TrackerStatus } from './machine.js';
import { Notifier, type NotifyFifoPort } from './notify.js';
import { NodeNotifyFifo } from './notify-fifo.js';
import { CHANNEL_DROP_REASONS, peekVrid, VRRP_HEADER_LEN, type ChannelDropReason, type ReceivedPacket } from './packet.js';
import type { VrrpChannelStatus, VrrpInstanceStatus, VrrpStatus, VrrpTrackerStatus } from './status.js';
import { initialGroupState, startGroup, stepGroup, stopGroup, type GroupEffect, type SyncGroupState } from './sync-group.js';
import { fileStatus, upDownStatus } from './track.js';
import { TrackerHub } from './trackers.js';
import type { ChannelInput, VrrpChannel, VrrpChannelSpec, VrrpTransport } from './transport.js';
import { allVips, diffVips, VipOps, vipKey } from './vips.js';

/** What the VRRP subsystem needs; the daemon's composition root passes the real adapters. */
export interface VrrpSubsystemDeps {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly netlink: NetlinkPort;
  readonly announce: AnnouncePort;
  readonly coreVips: CoreVipPort;
  readonly scripts: ScriptPort;
  /** src/io/vrrp-socket.ts RawVrrpTransport in the daemon; the memory wire in tests. */
  readonly transport: VrrpTransport;
  /** When given, the `vrrp` control command is registered on it at start. */
  readonly registry?: CommandRegistry;
  /** Notify FIFO writer (default: NodeNotifyFifo). */
  readonly fifo?: NotifyFifoPort;
  /** Track file reader/watcher (default: NodeTrackFiles on the clock). */
  readonly files?: TrackFilePort;
}

/** How often a missing source address or socket is looked for again. */
const RETRY_MS = 1000;
/** Longest stop() waits for notify_stop scripts. */
const STOP_SCRIPTS_WAIT_MS = 1500;

interface ChannelEntry {
  spec: VrrpChannelSpec;
  channel: VrrpChannel | null;
  byVrid: Map<number, InstanceRuntime>;
  drops: Record<ChannelDropReason, number>;
}

function newChannelDrops(): Record<ChannelDropReason, number> {
  return Object.fromEntries(CHANNEL_DROP_REASONS.map((r) => [r, 0])) as Record<ChannelDropReason, number>;
}

interface GroupEntry {
  model: VrrpSyncGroup;
  state: SyncGroupState;
}

function channelKey(family: string, ifname: string): string {
  return `${family}|${ifname}`;
}

function isLinkLocal6(a: string): boolean {
  return /^fe[89ab][0-9a-f]?:/i.test(a);
}

/** The fields that make an instance the same instance across a reload (else it is restarted). */
function identityOf(i: VrrpInstance): string {
  return JSON.stringify([i.interface, i.vrid, i.family, i.version, i.unicastPeers, i.unicastSrcIp, i.mcastSrcIp, i.auth, i.syncGroup]);
}

/** The VRRP subsystem (`Subsystem` for the supervisor). */
export class VrrpSubsystem implements Subsystem {
  readonly name = 'vrrp';
  private readonly d: VrrpSubsystemDeps;
  private readonly hub: TrackerHub;
  private readonly notifier: Notifier;
  private readonly vipOps: VipOps;
  private readonly fifo: NotifyFifoPort;
  private model: Model | null = null;
  private readonly instances = new Map<string, InstanceRuntime>();
  private readonly groups = new Map<string, GroupEntry>();
  private readonly channels = new Map<string, ChannelEntry>();
  private retryTimer: TimerHandle | null = null;
  private running = false;
  /** removeStaleVips() ran for this start. */
  private staleRemoved = false;
  private dispatching = false;
  private readonly queue: Array<() => void> = [];

  constructor(deps: VrrpSubsystemDeps) {
    this.d = deps;
    this.fifo = deps.fifo ?? new NodeNotifyFifo();
    this.notifier = new Notifier({ scripts: deps.scripts, fifo: this.fifo, bus: deps.bus }, { fifoPaths: [], scriptUser: null });
    this.vipOps = new VipOps({ netlink: deps.netlink, coreVips: deps.coreVips, bus: deps.bus });
    this.hub = new TrackerHub({ clock: deps.clock, netlink: deps.netlink, scripts: deps.scripts, files: deps.files ?? new NodeTrackFiles(deps.clock), bus: deps.bus });
    this.hub.onChange = () => this.refreshTrackers();
    this.hub.onLink = (l) => this.linkEvent(l);
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  async start(model: Model): Promise<void> {
    this.model = model;
    this.running = true;
    await this.configureNotifier(model);
    await this.hub.configure(this.trackerWants(model));
    // keepalived: a new instance starts without its VIPs; what a crashed predecessor left goes
    // (the daemon does this first of all, before the forwarding core starts: wiring.ts)
    if (!this.staleRemoved) await this.removeStaleVips(model);
    for (const inst of Object.values(model.instances)) await this.createRuntime(inst, model);
    await this.syncChannels();
    for (const g of Object.values(model.syncGroups)) this.groups.set(g.name, { model: g, state: initialGroupState(g.name, this.membersOf(g)) });
    const nowMs = this.d.clock.now();
    for (const g of this.groups.values()) {
      const r = startGroup(g.state, this.memberStates(g.state), nowMs);
      this.applyGroupResult(g, r);
    }
    for (const rt of this.instances.values()) {
      if (this.groupOf(rt)) continue;
      this.runStep(rt, { kind: 'start', nowMs });
    }
    this.hub.start();
    this.scheduleRetry();
    this.d.registry?.register('vrrp', {
      describe: 'VRRP instances: state, priorities, master, VIPs, counters, trackers (args: instance)',
      handler: (args) => {
        const only = argString(args, 'instance');
        if (only !== undefined && !this.instances.has(only)) throw new LvsdError('ERR_VRRP_NO_INSTANCE', `no vrrp_instance ${only}`);
        return this.status(only);
      },
    });
  }

  /**
   * ARCHITECTURE D4, at start: removes every configured VIP (kernel- or core-owned) that is
   * present as a kernel address, since nothing is ours yet. Called by the daemon before any
   * other subsystem starts, and by start() when it was not. Returns how many were removed.
   */
  async removeStaleVips(model: Model): Promise<number> {
    let n = 0;
    for (const inst of Object.values(model.instances)) n += await this.vipOps.removeStale(inst.name, allVips(inst), this.installedVipKeys());
    this.staleRemoved = true;
    return n;
  }

  /** `dev|address` of the VIPs running instances have installed (kept by a reload's cleanup). */
  private installedVipKeys(): Set<string> {
    const keep = new Set<string>();
    for (const rt of this.instances.values()) if (rt.state.vipsSet) for (const v of allVips(rt.inst)) keep.add(vipKey(v));
    return keep;
  }

  async apply(next: Model, changes: ChangeSet): Promise<void> {
    const prev = this.model;
    if (!prev) return this.start(next);
    this.model = next;
    await this.configureNotifier(next);
    const nowMs = () => this.d.clock.now();
    const restart = new Set<string>();
    for (const n of changes.instances.changed) {
      const a = prev.instances[n];
      const b = next.instances[n];
      if (a && b && identityOf(a) !== identityOf(b)) restart.add(n);
    }
    // removed and restarted instances leave first (priority 0 if MASTER, VIPs removed, notify_stop)
    for (const n of [...changes.instances.removed, ...restart]) {
      const rt = this.instances.get(n);
      if (!rt) continue;
      this.runStep(rt, { kind: 'shutdown', nowMs: nowMs() });
      await rt.settled();
      rt.cancelTimers();
      this.instances.delete(n);
    }
    for (const rt of this.instances.values()) {
      rt.coreVips = next.coreVips;
      rt.mcastGroup = rt.inst.family === 'ipv4' ? next.global.vrrpMcastGroup4 : next.global.vrrpMcastGroup6;
    }
    await this.hub.configure(this.trackerWants(next));
    // changed in place: new settings, VIP list diffed while MASTER, state kept
    for (const n of changes.instances.changed) {
      if (restart.has(n)) continue;
      const rt = this.instances.get(n);
      const inst = next.instances[n];
      if (!rt || !inst) continue;
      const old = rt.inst;
      rt.inst = inst;
      if (rt.state.vipsSet) {
        const { added, removed } = diffVips(allVips(old), allVips(inst));
        if (removed.length) rt.chain(() => this.vipOps.remove(n, removed, next.coreVips));
        if (added.length) {
          rt.chain(() => this.vipOps.add(n, added, next.coreVips));
          rt.chain(async () => {
            for (let r = 0; r < inst.garp.masterRepeat; r++) {
              const byDev = new Map<string, string[]>();
              for (const v of added) byDev.set(v.dev, [...(byDev.get(v.dev) ?? []), v.address]);
              for (const [dev, addrs] of byDev) this.d.announce.announce(dev, addrs);
            }
          });
        }
      }
      this.runStep(rt, { kind: 'reconfigure', nowMs: nowMs(), cfg: machineConfigOf(inst) });
    }
    const fresh: InstanceRuntime[] = [];
    for (const n of [...changes.instances.added, ...restart]) {
      const inst = next.instances[n];
      if (!inst) continue;
      await this.vipOps.removeStale(n, allVips(inst), this.installedVipKeys());
      const rt = await this.createRuntime(inst, next);
      fresh.push(rt);
    }
    await this.syncChannels();
    // sync groups: keep the state of groups that still exist, start the new ones
    const oldGroups = new Map(this.groups);
    this.groups.clear();
    for (const g of Object.values(next.syncGroups)) {
      const had = oldGroups.get(g.name);
      this.groups.set(g.name, { model: g, state: had ? { ...had.state, members: this.membersOf(g) } : initialGroupState(g.name, this.membersOf(g)) });
    }
    for (const rt of fresh) {
      const g = this.groupOf(rt);
      if (g && !g.state.started) continue;
      this.runStep(rt, { kind: 'start', nowMs: nowMs() }, g ?? undefined);
    }
    for (const g of this.groups.values()) {
      if (g.state.started) continue;
      this.applyGroupResult(g, startGroup(g.state, this.memberStates(g.state), nowMs()));
    }
    this.refreshTrackers();
    this.scheduleRetry();
  }

  async stop(reason: string): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.staleRemoved = false;
    this.hub.stop();
    this.retryTimer?.cancel();
    this.retryTimer = null;
    const nowMs = this.d.clock.now();
    for (const g of this.groups.values()) this.applyGroupResult(g, stopGroup(g.state, this.memberStates(g.state), nowMs));
    for (const rt of this.instances.values()) {
      if (this.groupOf(rt)) continue;
      this.runStep(rt, { kind: 'shutdown', nowMs });
    }
    await Promise.all([...this.instances.values()].map((rt) => rt.settled()));
    for (const rt of this.instances.values()) rt.cancelTimers();
    await this.notifier.settle(STOP_SCRIPTS_WAIT_MS);
    for (const c of this.channels.values()) c.channel?.close();
    this.channels.clear();
    this.fifo.close();
    this.d.registry?.unregister('vrrp');
    this.d.bus.emit({ type: 'log', level: 'info', msg: `vrrp stopped (${reason})` });
  }

  // ───────────────────────────── status ─────────────────────────────

  /** The `vrrp` control command's result. */
  status(only?: string): VrrpStatus {
    const now = this.d.clock.now();
    const instances: VrrpInstanceStatus[] = [];
    for (const rt of this.instances.values()) {
      if (only !== undefined && rt.name !== only) continue;
      const s = rt.state;
      const i = rt.inst;
      instances.push({
        name: i.name, state: s.state, wantState: s.wantState, interface: i.interface, vrid: i.vrid, version: i.version, family: i.family,
        unicastPeers: i.unicastPeers, localAddress: s.localAddress, configuredPriority: i.priority, basePriority: s.basePriority,
        effectivePriority: s.effectivePriority, masterAddress: s.masterAddress, masterPriority: s.masterPriority,
        advertIntervalMs: i.advertIntervalMs, masterAdverIntervalMs: s.masterAdverIntervalMs, preempt: i.preempt, preemptDelayMs: i.preemptDelayMs,
        syncGroup: this.groupOf(rt)?.model.name ?? null,
        vips: [
          ...i.vips.map((v) => ({ address: v.address, prefixLen: v.prefixLen, dev: v.dev, owner: v.owner, excluded: false })),
          ...i.excludedVips.map((v) => ({ address: v.address, prefixLen: v.prefixLen, dev: v.dev, owner: v.owner, excluded: true })),
        ],
        vipsSet: s.vipsSet,
        lastTransition: rt.lastTransition ? { from: rt.lastTransition.from, to: rt.lastTransition.to, reason: rt.lastTransition.reason, agoMs: Math.round(now - rt.lastTransition.atMs) } : null,
        masterDownInMs: s.state === 'BACKUP' && s.downAtMs !== null ? Math.max(0, Math.round(s.downAtMs - now)) : null,
        counters: { ...rt.counters, drops: { ...rt.counters.drops } },
        trackers: this.trackerStatusList(rt),
      });
    }
    const channels: VrrpChannelStatus[] = [...this.channels.values()].map((c) => ({
      family: c.spec.family, interface: c.spec.ifname, multicastGroup: c.spec.multicastGroup, open: c.channel !== null,
      instances: [...c.byVrid.values()].map((r) => r.name), drops: { ...c.drops },
    }));
    return { instances, syncGroups: [...this.groups.values()].map((g) => ({ name: g.model.name, state: g.state.state, members: g.state.members })), channels };
  }

  // ───────────────────────────── stepping ─────────────────────────────

  /** Serialises every input (a callback from an effect never re-enters a step). */
  private enqueue(fn: () => void): void {
    this.queue.push(fn);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let f = this.queue.shift(); f; f = this.queue.shift()) f();
    } finally {
      this.dispatching = false;
    }
  }

  private dispatch(name: string, mk: (nowMs: number) => MachineInput): void {
    this.enqueue(() => {
      const rt = this.instances.get(name);
      if (!rt) return;
      this.runStepNow(rt, mk(this.d.clock.now()));
    });
  }

  private runStep(rt: InstanceRuntime, input: MachineInput, group?: GroupEntry): void {
    this.enqueue(() => this.runStepNow(rt, input, group));
  }

  private runStepNow(rt: InstanceRuntime, input: MachineInput, group?: GroupEntry): void {
    const g = group ?? this.groupOf(rt);
    if (g) {
      this.applyGroupResult(g, stepGroup(g.state, this.memberStates(g.state), rt.name, input));
      return;
    }
    const res = step(rt.state, input);
    rt.state = res.state;
    for (const e of res.effects) rt.execute(e);
  }

  private applyGroupResult(g: GroupEntry, r: { group: SyncGroupState; members: Readonly<Record<string, MachineState>>; effects: readonly GroupEffect[] }): void {
    g.state = r.group;
    for (const [m, s] of Object.entries(r.members)) {
      const rt = this.instances.get(m);
      if (rt) rt.state = s;
    }
    for (const e of r.effects) {
      if (e.instance !== null) {
        this.instances.get(e.instance)?.execute(e.effect as MachineEffect);
        continue;
      }
      const ge = e.effect;
      if (ge.kind === 'group_transition') {
        this.d.bus.emit({ type: 'vrrp.sync_group', group: g.model.name, to: ge.to, reason: ge.reason, trigger: ge.trigger });
      } else {
        this.notifier.group(g.model.name, g.model.notify, ge.state);
      }
    }
  }

  private groupOf(rt: InstanceRuntime): GroupEntry | null {
    const n = rt.inst.syncGroup;
    if (!n) return null;
    const g = this.groups.get(n);
    return g && g.state.members.includes(rt.name) ? g : null;
  }

  private membersOf(g: VrrpSyncGroup): string[] {
    return g.members.filter((m) => this.instances.has(m));
  }

  private memberStates(g: SyncGroupState): Record<string, MachineState> {
    const out: Record<string, MachineState> = {};
    for (const m of g.members) {
      const rt = this.instances.get(m);
      if (rt) out[m] = rt.state;
    }
    return out;
  }

  // ───────────────────────────── instances ─────────────────────────────

  private async createRuntime(inst: VrrpInstance, model: Model): Promise<InstanceRuntime> {
    const local = await this.resolveLocal(inst, model);
    const mcast = inst.family === 'ipv4' ? model.global.vrrpMcastGroup4 : model.global.vrrpMcastGroup6;
    const trackers = this.trackerStatuses(inst, model, local);
    const rt = new InstanceRuntime(inst, initialMachineState(machineConfigOf(inst), trackers, local), mcast, model.coreVips, {
      clock: this.d.clock,
      bus: this.d.bus,
      announce: this.d.announce,
      vipOps: this.vipOps,
      notifier: this.notifier,
      onTimer: (name, timer: TimerName) => this.dispatch(name, (nowMs) => ({ kind: 'timer', nowMs, timer })),
    });
    this.instances.set(inst.name, rt);
    return rt;
  }

  /** keepalived VRRP_PKT_SADDR: unicast_src_ip / mcast_src_ip, else the interface's primary address (not a VIP). */
  private async resolveLocal(inst: VrrpInstance, model: Model): Promise<string | null> {
    const configured = inst.unicastPeers.length > 0 ? inst.unicastSrcIp ?? inst.mcastSrcIp : inst.mcastSrcIp ?? inst.unicastSrcIp;
    if (configured) return configured;
    const vipSet = new Set<string>();
    for (const i of Object.values(model.instances)) for (const v of allVips(i)) vipSet.add(v.address);
    try {
      const addrs = await this.d.netlink.listAddresses(inst.interface);
      for (const a of addrs) {
        if (a.family !== inst.family || vipSet.has(a.address)) continue;
        if (inst.family === 'ipv6' && !isLinkLocal6(a.address)) continue;
        return a.address;
      }
    } catch {
      /* interface gone */
    }
    return null;
  }

  // ───────────────────────────── trackers ─────────────────────────────

  private trackerWants(model: Model): Parameters<TrackerHub['configure']>[0] {
    const scripts = new Set<string>();
    const files = new Set<string>();
    const ifs = new Set<string>();
    for (const inst of Object.values(model.instances)) {
      for (const r of this.refs(inst, model, 'trackScripts')) scripts.add(r.name);
      for (const r of this.refs(inst, model, 'trackFiles')) files.add(r.name);
      for (const n of this.interfaceRefs(inst, model).keys()) ifs.add(n);
    }
    return {
      scripts: [...scripts].map((n) => model.vrrpScripts[n]).filter((s) => s !== undefined),
      files: [...files].map((n) => model.vrrpTrackFiles[n]).filter((f) => f !== undefined),
      interfaces: [...ifs],
      scriptUser: model.global.scriptUser,
    };
  }

  /** An instance's references of one kind, with its sync group's (keepalived: the group's weight wins unless the instance's is 0). */
  private refs(inst: VrrpInstance, model: Model, kind: 'trackScripts' | 'trackFiles' | 'trackInterfaces'): TrackRef[] {
    const out = new Map<string, TrackRef>();
    for (const r of inst[kind]) out.set(r.name, r);
    const g = inst.syncGroup ? model.syncGroups[inst.syncGroup] : undefined;
    if (g) {
      // keepalived: a group's trackers are unweighted unless sync_group_tracking_weight
      const weighted = g.trackingWeight === true;
      for (const r of g[kind]) {
        const have = out.get(r.name);
        const ref = weighted ? r : { ...r, weight: 0 };
        if (!have || have.weight !== 0) out.set(r.name, ref);
      }
    }
    return [...out.values()];
  }

  /** Tracked interfaces: explicit ones, the instance's own (unless dont_track_primary), VIP interfaces (unless no_track). */
  private interfaceRefs(inst: VrrpInstance, model: Model): Map<string, TrackRef> {
    const m = new Map<string, TrackRef>();
    if (!inst.dontTrackPrimary) m.set(inst.interface, { name: inst.interface, weight: 0, weightReverse: false });
    for (const v of allVips(inst)) if (!v.noTrack && !m.has(v.dev)) m.set(v.dev, { name: v.dev, weight: 0, weightReverse: false });
    for (const r of this.refs(inst, model, 'trackInterfaces')) m.set(r.name, r);
    return m;
  }

  private trackerStatuses(inst: VrrpInstance, model: Model, local: string | null): Record<string, TrackerStatus> {
    const out: Record<string, TrackerStatus> = {};
    for (const r of this.refs(inst, model, 'trackScripts')) out[`script:${r.name}`] = upDownStatus(r, this.hub.scriptUp(r.name));
    for (const [n, r] of this.interfaceRefs(inst, model)) out[`interface:${n}`] = upDownStatus(r, this.hub.linkUp(n));
    for (const r of this.refs(inst, model, 'trackFiles')) out[`file:${r.name}`] = fileStatus(r, this.hub.fileValue(r.name));
    // keepalived: no usable source address puts the instance in FAULT
    out.address = { fault: local === null, pending: false, delta: 0 };
    return out;
  }

  private trackerStatusList(rt: InstanceRuntime): VrrpTrackerStatus[] {
    const model = this.model;
    if (!model) return [];
    const out: VrrpTrackerStatus[] = [];
    const push = (name: string, kind: VrrpTrackerStatus['kind'], up: boolean | null, ref: TrackRef, detail: string) => {
      const st = rt.state.trackers[name];
      const effect = !st ? 'none' : st.fault ? 'fault' : st.pending ? 'pending' : st.delta !== 0 ? 'priority' : 'none';
      out.push({ name, kind, up, weight: ref.weight, weightReverse: ref.weightReverse, effect, delta: st?.delta ?? 0, detail });
    };
    for (const r of this.refs(rt.inst, model, 'trackScripts')) push(`script:${r.name}`, 'script', this.hub.scriptUp(r.name), r, model.vrrpScripts[r.name]?.script.line ?? '');
    for (const [n, r] of this.interfaceRefs(rt.inst, model)) push(`interface:${n}`, 'interface', this.hub.linkUp(n), r, this.hub.linkUp(n) ? 'up' : 'down');
    for (const r of this.refs(rt.inst, model, 'trackFiles')) push(`file:${r.name}`, 'file', this.hub.fileValue(r.name) === 0, r, `${model.vrrpTrackFiles[r.name]?.file ?? ''} = ${this.hub.fileValue(r.name)}`);
    push('address', 'address', rt.state.localAddress !== null, { name: 'address', weight: 0, weightReverse: false }, rt.state.localAddress ?? 'no source address');
    return out;
  }

  /** Recomputes every instance's tracker statuses and feeds the differences to the machines. */
  private refreshTrackers(): void {
    const model = this.model;
    if (!model || !this.running) return;
    for (const rt of this.instances.values()) {
      const want = this.trackerStatuses(rt.inst, model, rt.state.localAddress);
      const have = rt.state.trackers;
      const names = new Set([...Object.keys(want), ...Object.keys(have)]);
      for (const n of names) {
        const a = have[n];
        const b = want[n];
        if (a && b && a.fault === b.fault && a.pending === b.pending && a.delta === b.delta) continue;
        this.dispatch(rt.name, (nowMs) => ({ kind: 'tracker', nowMs, name: n, status: b ?? null }));
      }
    }
  }

  // ───────────────────────────── links, addresses, sockets ─────────────────────────────

  private linkEvent(l: LinkInfo): void {
    if (!this.running) return;
    const touched = [...this.instances.values()].some((rt) => rt.inst.interface === l.name);
    if (touched) void this.recheckAddressesAndChannels();
  }

  private async recheckAddressesAndChannels(): Promise<void> {
    const model = this.model;
    if (!model || !this.running) return;
    for (const rt of this.instances.values()) {
      const local = await this.resolveLocal(rt.inst, model);
      if (local !== rt.state.localAddress) {
        this.dispatch(rt.name, (nowMs) => ({ kind: 'local_address', nowMs, address: local }));
        this.dispatch(rt.name, (nowMs) => ({ kind: 'tracker', nowMs, name: 'address', status: { fault: local === null, pending: false, delta: 0 } }));
      }
    }
    await this.syncChannels();
  }

  private scheduleRetry(): void {
    if (!this.running || this.retryTimer) return;
    const missing = [...this.instances.values()].some((rt) => rt.state.localAddress === null) || [...this.channels.values()].some((c) => !c.channel);
    if (!missing) return;
    this.retryTimer = this.d.clock.setTimer(RETRY_MS, () => {
      this.retryTimer = null;
      void this.recheckAddressesAndChannels().then(() => this.scheduleRetry());
    });
  }

  /** Opens, re-joins and closes sockets so that each (family, interface) in use has one. */
  private async syncChannels(): Promise<void> {
    const model = this.model;
    if (!model) return;
    const want = new Map<string, InstanceRuntime[]>();
    for (const rt of this.instances.values()) {
      const k = channelKey(rt.inst.family, rt.inst.interface);
      want.set(k, [...(want.get(k) ?? []), rt]);
    }
    for (const [k, c] of this.channels) {
      if (want.has(k)) continue;
      c.channel?.close();
      this.channels.delete(k);
    }
    for (const [k, rts] of want) {
      const first = rts[0]!;
      const family = first.inst.family;
      const group = rts.some((r) => r.inst.unicastPeers.length === 0) ? (family === 'ipv4' ? model.global.vrrpMcastGroup4 : model.global.vrrpMcastGroup6) : null;
      let c = this.channels.get(k);
      if (!c) {
        c = { spec: { family, ifname: first.inst.interface, ifindex: 0, multicastGroup: group }, channel: null, byVrid: new Map(), drops: newChannelDrops() };
        this.channels.set(k, c);
      }
      c.byVrid = new Map(rts.map((r) => [r.inst.vrid, r]));
      if (!c.channel) await this.openChannel(c, group);
      else if (c.spec.multicastGroup !== group) {
        try {
          c.channel.setMulticast(group);
          c.spec = { ...c.spec, multicastGroup: group };
        } catch (err) {
          this.d.bus.emit({ type: 'log', level: 'error', msg: `VRRP multicast membership on ${c.spec.ifname} failed: ${String(err)}`, fields: { code: 'ERR_VRRP_SOCKET' } });
        }
      }
      for (const r of rts) r.channel = c.channel;
    }
  }

  private async openChannel(c: ChannelEntry, group: string | null): Promise<void> {
    let link: LinkInfo | null = null;
    try {
      link = await this.d.netlink.getLink(c.spec.ifname);
    } catch {
      link = null;
    }
    if (!link) return; // retried on link events and by the retry timer
    c.spec = { ...c.spec, ifindex: link.index, multicastGroup: group };
    const entry = c;
    try {
      c.channel = this.d.transport.open(
        c.spec,
        (input) => this.channelInput(entry, input),
        (err) => {
          this.d.bus.emit({ type: 'log', level: 'error', msg: `VRRP socket on ${entry.spec.ifname} failed: ${err.message}`, fields: { code: 'ERR_VRRP_SOCKET' } });
          entry.channel?.close();
          entry.channel = null;
          for (const r of entry.byVrid.values()) r.channel = null;
          this.scheduleRetry();
        },
      );
    } catch (err) {
      c.channel = null;
      this.d.bus.emit({ type: 'log', level: 'error', msg: `cannot open VRRP socket on ${c.spec.ifname}: ${err instanceof Error ? err.message : String(err)}`, fields: { code: 'ERR_VRRP_SOCKET' } });
    }
  }

  private channelInput(c: ChannelEntry, input: ChannelInput): void {
    if (!this.running) return;
    if (!input.ok) {
      // parseIPv4Packet / parseIPv6Packet only report truncated and bad_ip_header
      this.channelDrop(c, input.reason === 'truncated' ? 'truncated' : 'bad_ip_header', input.source ?? 'unknown');
      return;
    }
    const pkt: ReceivedPacket = input.value;
    if (pkt.payload.length < VRRP_HEADER_LEN) {
      // no VRID to route it by (keepalived vrrp_dispatcher_read: "vrrp packet too short")
      this.channelDrop(c, 'truncated', pkt.src);
      return;
    }
    const rt = c.byVrid.get(peekVrid(pkt.payload));
    if (!rt) {
      // keepalived: "Unknown VRID ... ignoring" only with log_unknown_vrids; counted and at debug here
      this.channelDrop(c, 'unknown_vrid', pkt.src);
      return;
    }
    this.enqueue(() => {
      const advert = rt.receive(pkt);
      if (typeof advert === 'string') this.channelDrop(c, advert, pkt.src);
      else if (advert) this.runStepNow(rt, { kind: 'advert', nowMs: this.d.clock.now(), ...advert });
    });
  }

  /** Counts a drop found before any instance saw the packet, and reports it (debug level). */
  private channelDrop(c: ChannelEntry, reason: ChannelDropReason, source: string): void {
    c.drops[reason]++;
    this.d.bus.emit({ type: 'vrrp.packet_dropped', instance: null, reason, source, interface: c.spec.ifname });
  }

  private async configureNotifier(model: Model): Promise<void> {
    const paths = [...new Set([model.global.notifyFifo, model.global.vrrpNotifyFifo].filter((p): p is string => !!p))];
    await this.fifo.prepare?.(paths);
    this.notifier.configure({ fifoPaths: paths, scriptUser: model.global.scriptUser });
  }
}
