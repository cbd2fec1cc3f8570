/**
 * Builds the subsystems with their real adapters and connects them:
 *   VRRP ──claim/release──▶ forwarding core (CoreVipPort, D4)
 *   health checks ──real.up/down/weight, service.quorum──▶ forwarding core (weights, sorry server)
 *   VRRP ──vrrp.transition of lvs_sync_daemon's instance──▶ connection sync roles ──▶ forwarding workers
 * Start order: stale VIP cleanup (D4: a predecessor's kernel VIPs go first), forwarding
 * (ready to answer before anything is claimed), checks, the health bridge (the core learns
 * the first health before traffic), connection sync (before VRRP, so it sees every
 * transition), VRRP (claims VIPs last).
 */
import type { EventBus } from '../events/bus.js';
import type { CommandRegistry } from '../control/registry.js';
import { ioFirstClock, systemClock, type Clock } from '../lib/clock.js';
import type { Model } from '../model/types.js';
import type { ChangeSet } from '../model/changes.js';
import { RtNetlink } from '../io/netlink.js';
import { PacketAnnouncer } from '../io/announce.js';
import { nftAdapter } from '../io/nft.js';
import { ChildScriptRunner } from '../io/script-runner.js';
import { RawVrrpTransport } from '../io/vrrp-socket.js';
import { ForwardingSubsystem } from '../forward/subsystem.js';
import { registerForwardingMetrics } from '../forward/metrics.js';
import type { Registry as PromRegistry } from 'prom-client';
import { CheckSubsystem } from '../check/subsystem.js';
import { VrrpSubsystem } from '../vrrp/manager.js';
import { SyncSubsystem } from '../sync/subsystem.js';
import { registerSyncMetrics } from '../sync/metrics.js';
import { dgramSyncSockets } from '../io/sync-socket.js';
import { registerVrrpMetrics } from '../control/metrics.js';
import type { Subsystem } from './subsystem.js';

/** What the health bridge needs of each side (narrow, so it is testable with doubles). */
export interface HealthSource {
  health(): ReadonlyArray<{ service: string; real: string; up: boolean; weight: number }>;
  quorum(): ReadonlyArray<{ service: string; quorumUp: boolean }>;
}
export interface HealthSink {
  setRealHealth(service: string, real: string, h: { up: boolean; weight?: number }): boolean;
  setServiceQuorum(service: string, up: boolean): boolean;
}

/**
 * Carries health from the checkers to the forwarding core: a full sync at start and after
 * every reload, then one real server or service at a time as events arrive. A weight is
 * passed only when it differs from the configured one (misc_dynamic); otherwise the core
 * keeps using the configured weight, so a reload that changes a weight takes effect at once.
 */
export class HealthBridge implements Subsystem {
  readonly name = 'health-bridge';
  private model: Model | null = null;
  private offs: Array<() => void> = [];
  private readonly bus: EventBus;
  private readonly source: HealthSource;
  private readonly sink: HealthSink;

  constructor(bus: EventBus, source: HealthSource, sink: HealthSink) {
    this.bus = bus;
    this.source = source;
    this.sink = sink;
  }

  async start(model: Model): Promise<void> {
    this.model = model;
    const one = (service: string, real: string) => this.pushReal(service, real);
    this.offs = [
      this.bus.on('real.up', (e) => one(e.service, e.real)),
      this.bus.on('real.down', (e) => one(e.service, e.real)),
      this.bus.on('real.weight', (e) => one(e.service, e.real)),
      this.bus.on('service.quorum', (e) => this.sink.setServiceQuorum(e.service, e.up)),
    ];
    this.syncAll();
  }

  async apply(next: Model, _changes: ChangeSet): Promise<void> {
    this.model = next;
    this.syncAll();
  }

  async stop(): Promise<void> {
    for (const f of this.offs) f();
    this.offs = [];
  }

  /** Pushes every real server's health and every service's quorum. */
  syncAll(): void {
    for (const h of this.source.health()) this.push(h);
    for (const q of this.source.quorum()) this.sink.setServiceQuorum(q.service, q.quorumUp);
  }

  private pushReal(service: string, real: string): void {
    const h = this.source.health().find((x) => x.service === service && x.real === real);
    if (h) this.push(h);
  }

  private push(h: { service: string; real: string; up: boolean; weight: number }): void {
    const configured = this.model?.virtualServers[h.service]?.realServers[h.real]?.weight;
    const dynamic = h.up && configured !== undefined && h.weight !== configured;
    this.sink.setRealHealth(h.service, h.real, dynamic ? { up: h.up, weight: h.weight } : { up: h.up });
  }
}

/** The daemon's subsystems, in start order, and a function that closes the adapters. */
export async function buildSubsystems(deps: { bus: EventBus; registry: CommandRegistry; clock?: Clock }): Promise<{
  subsystems: Subsystem[];
  /** Registers the areas' own Prometheus collectors; returns the detach function. */
  registerMetrics: (registry: PromRegistry) => () => void;
  close: () => Promise<void>;
}> {
  const clock = deps.clock ?? systemClock;
  const netlink = new RtNetlink();
  const announce = new PacketAnnouncer();
  const scripts = new ChildScriptRunner();
  const forward = new ForwardingSubsystem({ bus: deps.bus, registry: deps.registry, netlink, nft: nftAdapter(), clock });
  const checks = new CheckSubsystem({ bus: deps.bus, clock, scripts, registry: deps.registry });
  const bridge = new HealthBridge(deps.bus, checks, forward);
  const sync = new SyncSubsystem({
    bus: deps.bus, registry: deps.registry, forward, clock,
    sockets: dgramSyncSockets(async (name) => (await netlink.getLink(name))?.mtu ?? null),
  });
  const vrrp = new VrrpSubsystem({
    bus: deps.bus,
    // Adverts waiting in a socket are read before a due Master_Down timer acts (see ioFirstClock).
    clock: deps.clock ?? ioFirstClock,
    netlink,
    announce,
    coreVips: forward,
    scripts,
    transport: new RawVrrpTransport(),
    registry: deps.registry,
  });
  // script_user applies to every script that names no user of its own; it follows reloads.
  const scriptUser: Subsystem = {
    name: 'script-user',
    start: async (m) => scripts.setDefaultUser(m.global.scriptUser),
    apply: async (m) => scripts.setDefaultUser(m.global.scriptUser),
    stop: async () => {},
  };
  // ARCHITECTURE D4: what a crashed predecessor (or keepalived, during a migration) left as
  // kernel addresses goes first, before the forwarding core claims anything; reloads clean up
  // for new instances in VrrpSubsystem.apply.
  const staleVips: Subsystem = {
    name: 'stale-vips',
    start: async (m) => {
      await vrrp.removeStaleVips(m);
    },
    apply: async () => {},
    stop: async () => {},
  };
  return {
    subsystems: [scriptUser, staleVips, forward, checks, bridge, sync, vrrp],
    registerMetrics: (registry) => {
      const offs = [
        registerForwardingMetrics(registry, () => forward.lvs()), registerVrrpMetrics(registry, () => vrrp.status()),
        registerSyncMetrics(registry, () => sync.status()),
      ];
      return () => offs.forEach((f) => f());
    },
    close: async () => {
      announce.close();
      await netlink.close();
    },
  };
}
