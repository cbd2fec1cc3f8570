/**
 * The driver of one VRRP instance: it holds the machine state and executes the machine's
 * effects with real time and real ports: timers on the Clock, adverts on the transport,
 * VIPs through netlink / the core, gratuitous ARPs through the AnnouncePort, notify
 * scripts and FIFO lines through the Notifier, events on the bus. Received packets are
 * judged here (counted by reason when dropped) before they reach the machine.
 */
import type { EventBus } from '../events/bus.js';
import type { VrrpReason, VrrpState } from '../events/types.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { AnnouncePort } from '../io/ports.js';
import type { CoreVip, VrrpInstance } from '../model/types.js';
import {
  acceptsAdverts,
  shouldCheckAddrList,
  type AdvertInput,
  type MachineConfig,
  type MachineEffect,
  type MachineState,
  type TimerName,
} from './machine.js';
import type { Notifier } from './notify.js';
import {
  INSTANCE_DROP_REASONS,
  encodeAdvert,
  encodeIPv4Packet,
  validateAdvert,
  type AdvertExpectation,
  type ChannelDropReason,
  type InstanceDropReason,
  type ReceivedPacket,
  type UnicastChecksumMode,
} from './packet.js';
import type { VrrpChannel } from './transport.js';
import { allVips, type VipOps } from './vips.js';

/** Per-instance counters (keepalived's vrrp stats, by their lvsd names). */
export interface VrrpCounters {
  advertsSent: number;
  advertsReceived: number;
  priorityZeroSent: number;
  priorityZeroReceived: number;
  becameMaster: number;
  releasedMaster: number;
  sendErrors: number;
  garpSent: number;
  garpFailed: number;
  /** Drops by reason (the reasons found before demultiplexing are counted per socket). */
  drops: Record<InstanceDropReason, number>;
}

/** A fresh set of counters. */
export function newCounters(): VrrpCounters {
  return {
    advertsSent: 0, advertsReceived: 0, priorityZeroSent: 0, priorityZeroReceived: 0, becameMaster: 0, releasedMaster: 0,
    sendErrors: 0, garpSent: 0, garpFailed: 0,
    drops: Object.fromEntries(INSTANCE_DROP_REASONS.map((r) => [r, 0])) as Record<InstanceDropReason, number>,
  };
}

/** The machine's view of a model instance. */
export function machineConfigOf(inst: VrrpInstance): MachineConfig {
  return {
    name: inst.name,
    vrid: inst.vrid,
    version: inst.version,
    priority: inst.priority,
    advertIntervalMs: inst.advertIntervalMs,
    initialState: inst.initialState,
    preempt: inst.preempt,
    preemptDelayMs: inst.preemptDelayMs,
    garp: inst.garp,
    // resolved by the compiler as keepalived does (on under strict mode, else vrrp_lower_prio_no_advert)
    lowerPrioNoAdvert: inst.lowerPrioNoAdvert,
    higherPrioSendAdvert: inst.higherPrioSendAdvert,
  };
}

/** What the runtime needs from the manager. */
export interface InstanceDeps {
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly announce: AnnouncePort;
  readonly vipOps: VipOps;
  readonly notifier: Notifier;
  /** Delivers a fired timer back through the manager (so sync groups see it). */
  readonly onTimer: (instance: string, timer: TimerName) => void;
}

/** One instance at run time. */
export class InstanceRuntime {
  inst: VrrpInstance;
  state: MachineState;
  channel: VrrpChannel | null = null;
  mcastGroup: string;
  coreVips: Readonly<Record<string, CoreVip>>;
  readonly counters: VrrpCounters = newCounters();
  lastTransition: { from: VrrpState; to: VrrpState; reason: VrrpReason; atMs: number } | null = null;
  private readonly d: InstanceDeps;
  private readonly timers = new Map<TimerName, TimerHandle>();
  private ipId = 0;
  /** VIP operations run one after another; gratuitous ARPs wait for the VIPs they announce. */
  private vipChain: Promise<void> = Promise.resolve();
  private sendErrorLogged = false;
  /** A unicast advert with an old-form checksum arrived while in `auto` mode (keepalived CHKSUM_COMPATIBILITY_AUTO). */
  private oldChecksumSeen = false;

  constructor(inst: VrrpInstance, state: MachineState, mcastGroup: string, coreVips: Readonly<Record<string, CoreVip>>, deps: InstanceDeps) {
    this.inst = inst;
    this.state = state;
    this.mcastGroup = mcastGroup;
    this.coreVips = coreVips;
    this.d = deps;
  }

  get name(): string {
    return this.inst.name;
  }

  /** The unicast checksum form in force: the configured one, `old` once `auto` has switched. */
  unicastChecksum(): UnicastChecksumMode {
    const m = this.inst.unicastChecksum;
    return m === 'auto' && this.oldChecksumSeen ? 'old' : m;
  }

  /** What adverts must look like to be accepted. */
  expectation(): AdvertExpectation {
    const i = this.inst;
    return {
      family: i.family,
      version: i.version,
      vrid: i.vrid,
      advertIntervalMs: i.advertIntervalMs,
      password: i.auth ? i.auth.password : null,
      vips: i.vips.map((v) => v.address),
      unicastPeers: i.unicastPeers,
      checkUnicastSrc: i.checkUnicastSrc,
      peerTtl: i.unicastPeerTtl,
      v3ChecksumAsV2: i.v3ChecksumAsV2,
      unicastChecksum: this.unicastChecksum(),
      mcastGroup: this.mcastGroup,
    };
  }

  /**
   * Judges a received packet; returns the advert for the machine, null when dropped (counted
   * here), or a socket-level reason for the caller to count (a payload that reached the
   * wrong instance: the manager routes by VRID after checking the length, so not expected).
   */
  receive(pkt: ReceivedPacket): AdvertInput | ChannelDropReason | null {
    if (!acceptsAdverts(this.state)) {
      // keepalived ignores adverts in FAULT and INIT without a word (vrrp_dispatcher_read)
      this.drop('not_running', pkt.src);
      return null;
    }
    const check = shouldCheckAddrList(this.state, pkt.src, this.inst.skipCheckAdvAddr);
    const v = validateAdvert(pkt, this.expectation(), check);
    if (!v.ok) {
      const r = v.reason;
      if (r === 'truncated' || r === 'bad_ip_header' || r === 'unknown_vrid') return r;
      this.drop(r, pkt.src);
      return null;
    }
    if (v.value.oldUnicastChecksum && !this.oldChecksumSeen) {
      // keepalived vrrp_check_packet: "Setting unicast VRRPv3 checksum to old version"
      this.oldChecksumSeen = true;
      this.d.bus.emit({
        type: 'log', level: 'info', msg: `(${this.name}) ${pkt.src} sums unicast VRRPv3 adverts the old way (multicast group as destination): using that form too`,
        fields: { instance: this.name, source: pkt.src, unicastChecksum: 'old' },
      });
    }
    this.counters.advertsReceived++;
    if (v.value.priority === 0) this.counters.priorityZeroReceived++;
    return { from: pkt.src, priority: v.value.priority, advertIntervalMs: v.value.advertIntervalMs };
  }

  /** Counts a drop and reports it (debug level in the log sink). */
  drop(reason: InstanceDropReason, source: string): void {
    this.counters.drops[reason]++;
    this.d.bus.emit({ type: 'vrrp.packet_dropped', instance: this.name, reason, source });
  }

  /** Executes one machine effect. */
  execute(e: MachineEffect): void {
    switch (e.kind) {
      case 'send_advert':
        this.sendAdvert(e.priority);
        return;
      case 'arm': {
        this.timers.get(e.timer)?.cancel();
        const timer = e.timer;
        const h = this.d.clock.setTimer(Math.max(0, e.atMs - this.d.clock.now()), () => {
          if (this.timers.get(timer) !== h) return;
          this.timers.delete(timer);
          this.d.onTimer(this.name, timer);
        });
        this.timers.set(e.timer, h);
        return;
      }
      case 'cancel':
        this.timers.get(e.timer)?.cancel();
        this.timers.delete(e.timer);
        return;
      case 'vips': {
        const vips = allVips(this.inst);
        const name = this.name;
        const core = this.coreVips;
        const op = e.op;
        this.chain(() => (op === 'add' ? this.d.vipOps.add(name, vips, core) : this.d.vipOps.remove(name, vips, core)));
        return;
      }
      case 'garp':
        this.garp(e.repeat);
        return;
      case 'transition':
        if (e.to === 'MASTER') this.counters.becameMaster++;
        if (e.from === 'MASTER') this.counters.releasedMaster++;
        this.lastTransition = { from: e.from, to: e.to, reason: e.reason, atMs: this.d.clock.now() };
        this.d.bus.emit({
          type: 'vrrp.transition', instance: this.name, from: e.from, to: e.to, reason: e.reason,
          priority: this.state.effectivePriority, masterAddress: this.state.masterAddress,
        });
        return;
      case 'notify':
        this.d.notifier.instance(this.name, this.inst.notify, e.state, this.state.effectivePriority);
        return;
      case 'notify_event':
        this.d.notifier.masterRxLowerPri(this.name, this.inst.notify, this.state.effectivePriority);
        return;
      case 'priority':
        this.d.bus.emit({ type: 'vrrp.priority', instance: this.name, from: e.from, to: e.to, reason: e.reason });
        return;
      case 'warning':
        this.d.bus.emit({ type: 'log', level: 'warn', msg: `(${this.name}) ${e.message}`, fields: { instance: this.name, code: e.code } });
        return;
    }
  }

  /** Runs a VIP operation after the previous ones. */
  chain(op: () => Promise<void>): void {
    this.vipChain = this.vipChain.then(op).catch((err: unknown) => {
      this.d.bus.emit({ type: 'log', level: 'error', msg: `(${this.name}) VIP operation failed: ${String(err)}`, fields: { code: 'ERR_VRRP_VIP' } });
    });
  }

  /** Resolves when every queued VIP operation has finished. */
  settled(): Promise<void> {
    return this.vipChain;
  }

  /** Cancels every timer (stop, removal). */
  cancelTimers(): void {
    for (const h of this.timers.values()) h.cancel();
    this.timers.clear();
  }

  /** Armed timer names (for status and tests). */
  armedTimers(): TimerName[] {
    return [...this.timers.keys()];
  }

  /** Sends one advert to the multicast group or to every unicast peer (keepalived vrrp_send_adv). */
  sendAdvert(priority: number): void {
    const i = this.inst;
    const src = this.state.localAddress;
    this.counters.advertsSent++;
    if (priority === 0) this.counters.priorityZeroSent++;
    if (!this.channel || !src) {
      this.sendFailed(new Error(!this.channel ? `no VRRP socket on ${i.interface}` : `no source address on ${i.interface}`));
      return;
    }
    const dsts = i.unicastPeers.length > 0 ? i.unicastPeers : [this.mcastGroup];
    const addresses = i.vips.map((v) => v.address);
    // keepalived vrrp_build_vrrp_v3: old unicast checksums put the multicast group in the pseudo-header
    const pseudoDst = i.family === 'ipv4' && this.unicastChecksum() === 'old' ? this.mcastGroup : undefined;
    for (const dst of dsts) {
      const vrrp = encodeAdvert({
        version: i.version, family: i.family, vrid: i.vrid, priority, advertIntervalMs: i.advertIntervalMs, addresses,
        password: i.auth?.password ?? null, src, dst, v3ChecksumAsV2: i.v3ChecksumAsV2, pseudoDst,
      });
      let pkt = vrrp;
      if (i.family === 'ipv4') {
        // keepalived: the kernel fills in a zero IP id, so the counter skips 0
        this.ipId = (this.ipId + 1) & 0xffff || 1;
        pkt = encodeIPv4Packet(vrrp, src, dst, this.ipId);
      }
      this.channel.send(pkt, dst, (err) => {
        if (err) this.sendFailed(err, dst);
        else this.sendErrorLogged = false;
      });
    }
  }

  private sendFailed(err: Error, dst?: string): void {
    this.counters.sendErrors++;
    if (this.sendErrorLogged) return;
    this.sendErrorLogged = true;
    this.d.bus.emit({ type: 'log', level: 'error', msg: `(${this.name}) send advert error${dst ? ` to ${dst}` : ''}: ${err.message}`, fields: { instance: this.name, code: 'ERR_VRRP_SEND' } });
  }

  /**
   * `repeat` rounds of gratuitous ARP / unsolicited NA for every VIP (keepalived
   * vrrp_send_link_update), after the VIPs are installed; `vrrp_garp_interval` /
   * `vrrp_gna_interval` space successive messages on an interface.
   */
  private garp(repeat: number): void {
    if (repeat <= 0) return;
    const vips = allVips(this.inst);
    this.vipChain = this.vipChain.then(() => {
      if (this.state.state !== 'MASTER') return;
      const byDev = new Map<string, string[]>();
      for (const v of vips) {
        const l = byDev.get(v.dev) ?? [];
        l.push(v.address);
        byDev.set(v.dev, l);
      }
      const g = this.inst.garp;
      const spaced = g.intervalMs > 0 || g.gnaIntervalMs > 0;
      if (!spaced) {
        for (let r = 0; r < repeat; r++) for (const [dev, addrs] of byDev) this.announce(dev, addrs);
        return;
      }
      let k = 0;
      for (let r = 0; r < repeat; r++) {
        for (const [dev, addrs] of byDev) {
          for (const a of addrs) {
            const gap = a.includes(':') ? g.gnaIntervalMs : g.intervalMs;
            const delay = k++ * gap;
            if (delay === 0) this.announce(dev, [a]);
            else this.d.clock.setTimer(delay, () => {
              if (this.state.state === 'MASTER') this.announce(dev, [a]);
            });
          }
        }
      }
    });
  }

  private announce(dev: string, addresses: readonly string[]): void {
    const r = this.d.announce.announce(dev, addresses);
    this.counters.garpSent += r.sent;
    this.counters.garpFailed += r.failed;
  }
}
