/**
 * An in-process director for integration tests: a VrrpSubsystem over the port doubles
 * (src/io/doubles.ts), an in-memory wire and a manual clock.
 */
import { recordingBus } from '../../../../src/events/bus.js';
import type { LvsdEvent } from '../../../../src/events/types.js';
import type { ManualClock } from '../../../../src/lib/clock.js';
import { CommandRegistry } from '../../../../src/control/registry.js';
import { FakeAnnounce, FakeCoreVip, FakeNetlink, FakeScripts } from '../../../../src/io/doubles.js';
import type { Model } from '../../../../src/model/types.js';
import type { TrackFilePort } from '../../../../src/vrrp/file-source.js';
import { VrrpSubsystem } from '../../../../src/vrrp/manager.js';
import type { MemoryWire } from '../../../../src/vrrp/memory-transport.js';
import type { NotifyFifoPort } from '../../../../src/vrrp/notify.js';
import type { VrrpStatus } from '../../../../src/vrrp/status.js';

/** FIFO lines kept in memory. */
export class MemFifo implements NotifyFifoPort {
  readonly lines: Array<{ path: string; line: string }> = [];
  write(path: string, line: string): boolean {
    this.lines.push({ path, line });
    return true;
  }
  close(): void {}
}

/** Track files kept in memory; set() fires the watchers. */
export class MemFiles implements TrackFilePort {
  private readonly content = new Map<string, string>();
  private readonly watchers = new Map<string, Set<() => void>>();
  read(path: string): string | null {
    return this.content.get(path) ?? null;
  }
  write(path: string, text: string): boolean {
    this.content.set(path, text);
    return true;
  }
  watch(path: string, fn: () => void): () => void {
    const s = this.watchers.get(path) ?? new Set();
    s.add(fn);
    this.watchers.set(path, s);
    return () => s.delete(fn);
  }
  set(path: string, text: string | null): void {
    if (text === null) this.content.delete(path);
    else this.content.set(path, text);
    for (const fn of this.watchers.get(path) ?? []) fn();
  }
}

export interface TestDirector {
  readonly name: string;
  readonly sub: VrrpSubsystem;
  readonly netlink: FakeNetlink;
  readonly announce: FakeAnnounce;
  readonly core: FakeCoreVip;
  readonly scripts: FakeScripts;
  readonly fifo: MemFifo;
  readonly files: MemFiles;
  readonly registry: CommandRegistry;
  readonly events: LvsdEvent[];
  /** Kernel addresses now on eth0. */
  addresses(): string[];
  status(): VrrpStatus;
  transitions(instance?: string): Array<{ from: string; to: string; reason: string; atMs: number }>;
}

/** Builds a director with eth0 (and `extraLinks`) plugged into segment `lan`. */
export async function director(name: string, address: string, wire: MemoryWire, clock: ManualClock, extraLinks: string[] = []): Promise<TestDirector> {
  const netlink = new FakeNetlink();
  netlink.addLink('eth0');
  for (const l of extraLinks) netlink.addLink(l);
  const family = address.includes(':') ? 'ipv6' : 'ipv4';
  await netlink.addAddress({ ifname: 'eth0', address, prefixLen: family === 'ipv4' ? 24 : 64 });
  netlink.calls.length = 0;
  wire.plug(name, 'eth0', 'lan', [address]);
  const { bus, events } = recordingBus();
  const stamped: Array<{ ev: LvsdEvent; atMs: number }> = [];
  bus.onAny((ev) => stamped.push({ ev, atMs: clock.now() }));
  const announce = new FakeAnnounce();
  const core = new FakeCoreVip();
  const scripts = new FakeScripts();
  const fifo = new MemFifo();
  const files = new MemFiles();
  const registry = new CommandRegistry();
  const sub = new VrrpSubsystem({ bus, clock, netlink, announce, coreVips: core, scripts, transport: wire.transport(name), registry, fifo, files });
  return {
    name, sub, netlink, announce, core, scripts, fifo, files, registry, events,
    addresses: () => netlink.addresses.filter((a) => a.ifname === 'eth0').map((a) => a.address),
    status: () => sub.status(),
    transitions: (instance) =>
      stamped
        .filter((s) => s.ev.type === 'vrrp.transition' && (instance === undefined || (s.ev as { instance: string }).instance === instance))
        .map((s) => {
          const e = s.ev as Extract<LvsdEvent, { type: 'vrrp.transition' }>;
          return { from: e.from, to: e.to, reason: e.reason, atMs: s.atMs };
        }),
  };
}

/** Advances the manual clock by `ms` in `stepMs` slices, letting promises settle between slices. */
export async function run(clock: ManualClock, ms: number, stepMs = 5): Promise<void> {
  const end = clock.now() + ms;
  while (clock.now() < end) {
    clock.advance(Math.min(stepMs, end - clock.now()));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
}

/** The state of one instance on a director. */
export function stateOf(d: TestDirector, instance: string): string {
  return d.status().instances.find((i) => i.name === instance)?.state ?? 'absent';
}

export type { Model };
