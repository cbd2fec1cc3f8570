/**
 * VIP ownership (ARCHITECTURE D4): a VIP the forwarding core serves is claimed and
 * released through the CoreVipPort; any other VIP is a kernel address added and removed
 * through netlink, with keepalived's prefix, dev, label, brd and scope. At start, before
 * any other subsystem, every configured VIP present as a kernel address is removed (a
 * crashed predecessor's, or a core VIP that must never be one): an instance starts BACKUP
 * with its addresses released, as keepalived's do.
 */
import type { EventBus } from '../events/bus.js';
import type { AddressSpec, CoreVipPort, NetlinkPort } from '../io/ports.js';
import type { CoreVip, Vip, VrrpInstance } from '../model/types.js';

/** Every VIP of an instance: advertised ones, then `virtual_ipaddress_excluded`. */
export function allVips(inst: VrrpInstance): Vip[] {
  return [...inst.vips, ...inst.excludedVips];
}

/** The netlink spec of a kernel VIP. */
export function addressSpec(v: Vip): AddressSpec {
  return { ifname: v.dev, address: v.address, prefixLen: v.prefixLen, label: v.label, brd: v.brd, scope: v.scope };
}

/** The CoreVip for a core-owned VIP: the model's entry when there is one, else built from the Vip. */
export function coreVipOf(v: Vip, instance: string, coreVips: Readonly<Record<string, CoreVip>>): CoreVip {
  return coreVips[v.address] ?? { address: v.address, family: v.family, interface: v.dev, instance, reason: v.ownerReason };
}

/** Key under which two VIPs are the same address on the same device. */
export function vipKey(v: Vip): string {
  return `${v.dev}|${v.address}`;
}

/** Adds and removes an instance's VIPs; failures are reported as events, never thrown. */
export class VipOps {
  private readonly netlink: NetlinkPort;
  private readonly core: CoreVipPort;
  private readonly bus: EventBus;
  /** Netlink operations that failed. */
  failures = 0;

  constructor(deps: { netlink: NetlinkPort; coreVips: CoreVipPort; bus: EventBus }) {
    this.netlink = deps.netlink;
    this.core = deps.coreVips;
    this.bus = deps.bus;
  }

  /** Installs the given VIPs (MASTER). */
  async add(instance: string, vips: readonly Vip[], coreVips: Readonly<Record<string, CoreVip>>): Promise<void> {
    const core: CoreVip[] = [];
    for (const v of vips) {
      if (v.owner === 'core') {
        core.push(coreVipOf(v, instance, coreVips));
        continue;
      }
      try {
        await this.netlink.addAddress(addressSpec(v));
        this.bus.emit({ type: 'vip.added', address: v.address, dev: v.dev, owner: 'kernel', instance });
      } catch (err) {
        this.fail(instance, 'add', v, err);
      }
    }
    // The forwarding core emits vip.added for the core VIPs it newly claims (once each).
    if (core.length > 0) this.core.claim(instance, core);
  }

  /** Removes the given VIPs (leaving MASTER, stop). */
  async remove(instance: string, vips: readonly Vip[], coreVips: Readonly<Record<string, CoreVip>>): Promise<void> {
    const core: CoreVip[] = [];
    for (const v of vips) {
      if (v.owner === 'core') {
        core.push(coreVipOf(v, instance, coreVips));
        continue;
      }
      try {
        await this.netlink.delAddress(addressSpec(v));
        this.bus.emit({ type: 'vip.removed', address: v.address, dev: v.dev, owner: 'kernel', instance });
      } catch (err) {
        this.fail(instance, 'remove', v, err);
      }
    }
    // The forwarding core emits vip.removed for the core VIPs it releases (once each).
    if (core.length > 0) this.core.release(instance, core);
  }

  /**
   * Removes every given VIP that is present as a kernel address on its interface although
   * this process did not add it (ARCHITECTURE D4): a crashed predecessor's kernel VIPs, and
   * core-owned VIPs that must never be kernel addresses (left by an older run, or by
   * keepalived on a node being migrated). `keep` holds the `dev|address` keys this process
   * has installed itself (another instance's, on a reload). Each removal is logged. Returns
   * how many were removed.
   */
  async removeStale(instance: string, vips: readonly Vip[], keep: ReadonlySet<string> = new Set()): Promise<number> {
    let removed = 0;
    const byDev = new Map<string, Map<string, number>>();
    for (const v of vips) {
      if (keep.has(vipKey(v))) continue;
      let present = byDev.get(v.dev);
      if (!present) {
        try {
          present = new Map((await this.netlink.listAddresses(v.dev)).map((a) => [a.address, a.prefixLen]));
        } catch {
          present = new Map();
        }
        byDev.set(v.dev, present);
      }
      const prefixLen = present.get(v.address);
      if (prefixLen === undefined) continue;
      try {
        // the prefix the kernel has, which may differ from the configured one
        await this.netlink.delAddress({ ifname: v.dev, address: v.address, prefixLen });
        present.delete(v.address);
        removed++;
        this.bus.emit({ type: 'vip.removed', address: v.address, dev: v.dev, owner: 'kernel', instance });
        const why = v.owner === 'core' ? 'a kernel address although the forwarding core serves it' : 'left by a previous run';
        this.bus.emit({
          type: 'log', level: 'warn', msg: `removed stale VIP ${v.address}/${prefixLen} on ${v.dev}: ${why}`,
          fields: { instance, address: v.address, dev: v.dev, owner: v.owner, stale: true },
        });
      } catch (err) {
        this.fail(instance, 'remove', v, err);
      }
    }
    return removed;
  }

  private fail(instance: string, op: 'add' | 'remove', v: Vip, err: unknown): void {
    this.failures++;
    this.bus.emit({
      type: 'log', level: 'error', msg: `could not ${op} VIP ${v.address}/${v.prefixLen} on ${v.dev}: ${err instanceof Error ? err.message : String(err)}`,
      fields: { instance, code: 'ERR_VRRP_VIP' },
    });
  }
}

/** VIPs to add and remove when an instance's VIP list changes (changed = removed then added). */
export function diffVips(prev: readonly Vip[], next: readonly Vip[]): { added: Vip[]; removed: Vip[] } {
  const p = new Map(prev.map((v) => [vipKey(v), v]));
  const n = new Map(next.map((v) => [vipKey(v), v]));
  const added: Vip[] = [];
  const removed: Vip[] = [];
  for (const [k, v] of p) {
    const w = n.get(k);
    if (!w || JSON.stringify(w) !== JSON.stringify(v)) removed.push(v);
  }
  for (const [k, v] of n) {
    const w = p.get(k);
    if (!w || JSON.stringify(w) !== JSON.stringify(v)) added.push(v);
  }
  return { added, removed };
}
