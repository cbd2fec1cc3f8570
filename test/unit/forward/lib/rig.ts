/**
 * A ForwardingSubsystem in process for tests: FakeNetlink (with a route table for
 * RoutePort), a recording NftPort, a ManualClock, and in-process worker doubles
 * (lib/worker-double.ts) in place of worker threads. The standard topology of lib/topo.ts:
 * eth0 198.18.0.1/24 (clients, VIPs), eth1 198.18.1.2/24 (real servers).
 */
import { EventBus } from '../../../../src/events/bus.js';
import type { LvsdEvent } from '../../../../src/events/types.js';
import { CommandRegistry } from '../../../../src/control/registry.js';
import { FakeNetlink } from '../../../../src/io/doubles.js';
import type { NftPort, NftSpec } from '../../../../src/io/nft.js';
import type { RouteInfo, RoutePort } from '../../../../src/io/netlink.js';
import { ManualClock } from '../../../../src/lib/clock.js';
import { ForwardingSubsystem, type ForwardingDeps } from '../../../../src/forward/subsystem.js';
import type { Model } from '../../../../src/model/types.js';
import { doubleSpawner } from './worker-double.js';
import { MAC } from './topo.js';

/** An NftPort that records what it was asked. */
export class RecordingNft implements NftPort {
  readonly calls: ({ op: 'apply'; spec: NftSpec } | { op: 'remove' })[] = [];
  async apply(spec: NftSpec): Promise<void> {
    this.calls.push({ op: 'apply', spec });
  }
  async remove(): Promise<void> {
    this.calls.push({ op: 'remove' });
  }
  /** The last applied spec. */
  get last(): NftSpec | undefined {
    const a = this.calls.filter((c) => c.op === 'apply');
    return (a[a.length - 1] as { spec: NftSpec } | undefined)?.spec;
  }
}

/** FakeNetlink plus a static route table (RoutePort). */
export class RoutedFakeNetlink extends FakeNetlink implements RoutePort {
  readonly routes = new Map<string, RouteInfo>();
  readonly routeLookups: string[] = [];
  async routeTo(address: string): Promise<RouteInfo | null> {
    this.routeLookups.push(address);
    return this.routes.get(address) ?? null;
  }
}

/** Waits until queued microtasks and promise chains settle. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export interface Rig {
  readonly fwd: ForwardingSubsystem;
  readonly netlink: RoutedFakeNetlink;
  readonly nft: RecordingNft;
  readonly clock: ManualClock;
  readonly events: LvsdEvent[];
  readonly registry: CommandRegistry;
  readonly workers: ReturnType<typeof doubleSpawner>;
}

/** Builds the rig (not started); `neighbours: false` leaves the real servers' MACs unknown. */
export async function makeRig(o: { neighbours?: boolean; deps?: Partial<ForwardingDeps> } = {}): Promise<Rig> {
  const bus = new EventBus();
  const events: LvsdEvent[] = [];
  bus.onAny((e) => events.push(e));
  const netlink = new RoutedFakeNetlink();
  netlink.addLink('eth0', { mac: MAC.eth0 });
  netlink.addLink('eth1', { mac: MAC.eth1 });
  await netlink.addAddress({ ifname: 'eth0', address: '198.18.0.1', prefixLen: 24 });
  await netlink.addAddress({ ifname: 'eth1', address: '198.18.1.2', prefixLen: 24 });
  await netlink.addAddress({ ifname: 'eth0', address: '2001:db8::1', prefixLen: 64 });
  await netlink.addAddress({ ifname: 'eth1', address: '2001:db8:1::1', prefixLen: 64 });
  netlink.calls.length = 0;
  if (o.neighbours ?? true) {
    for (const [a, m] of [['198.18.1.11', MAC.rs11], ['198.18.1.12', MAC.rs12], ['198.18.1.21', MAC.rs21], ['198.18.1.99', MAC.sorry]] as const) {
      netlink.setNeighbour({ ifname: 'eth1', address: a, mac: m, state: 'reachable' });
    }
  }
  const nft = new RecordingNft();
  const clock = new ManualClock();
  const registry = new CommandRegistry();
  const workers = doubleSpawner();
  const fwd = new ForwardingSubsystem({ bus, registry, netlink, nft, clock, workers: 1, spawnWorker: workers.spawn, ...o.deps });
  return { fwd, netlink, nft, clock, events, registry, workers };
}

/** Starts the rig's subsystem on a model and lets the doubles take in their messages. */
export async function startRig(r: Rig, model: Model): Promise<void> {
  await r.fwd.start(model);
  await r.fwd.settled();
  await settle();
}
