/**
 * The order in which IPVS walks a service's real servers.
 *
 * The kernel adds a new dest at the HEAD of `svc->destinations`
 * (ip_vs_ctl.c `__ip_vs_update_dest`: `list_add_rcu(&dest->n_list, &svc->destinations)`),
 * and every scheduler walks that list from the head. So the list is in reverse order of
 * addition: keepalived adds real servers in config order, so the kernel walks the last
 * configured first (`ipvsadm -L` shows them in that order too), and a real server that is
 * removed on failure and added back on recovery moves to the front.
 *
 * `DestList` rebuilds that order from successive dest lists (each given in config order):
 * dests whose key was already present keep their relative position; dests that are new
 * are added one by one, in the order given, each at the head. Removals are applied before
 * additions. Every scheduler in this folder iterates `DestList.dests`, so "first in list
 * wins ties" means first in the kernel's list.
 */
import type { Dest, FlowKey, Scheduler } from './types.js';
import type { SchedulerName } from '../../model/types.js';

/** The kernel's list order of a service's dests, maintained across `update()` calls. */
export class DestList {
  /** Dests in kernel list order (head first). Replaced (not mutated) by `sync()`. */
  dests: readonly Dest[] = [];
  /** The order before the last `sync()` (for schedulers that track a position, like rr). */
  previous: readonly Dest[] = [];
  /** Keys that were new in the last `sync()` (the kernel's add_dest calls), in addition order. */
  added: readonly string[] = [];

  /** Applies a new dest list given in config order. */
  sync(input: readonly Dest[]): void {
    const byKey = new Map<string, Dest>();
    for (const d of input) if (!byKey.has(d.key)) byKey.set(d.key, d);
    const oldKeys = new Set<string>();
    const kept: Dest[] = [];
    for (const d of this.dests) {
      oldKeys.add(d.key);
      const now = byKey.get(d.key);
      if (now) kept.push(now);
    }
    const added: string[] = [];
    const head: Dest[] = [];
    for (const d of byKey.values()) {
      if (oldKeys.has(d.key)) continue;
      added.push(d.key);
      head.unshift(d); // list_add_rcu: each new dest goes to the head
    }
    this.previous = this.dests;
    this.dests = head.concat(kept);
    this.added = added;
  }
}


/**
 * Base of the schedulers whose only state is the dest list (lc, wlc, sed, nq, fo, ovf):
 * `pick()` has no side effects, so `peek()` is `pick()`.
 */
export abstract class StatelessListScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  protected readonly list = new DestList();

  update(dests: readonly Dest[]): void {
    this.list.sync(dests);
  }

  peek(flow: FlowKey, nowMs: number): Dest | null {
    return this.pick(flow, nowMs);
  }

  abstract pick(flow: FlowKey, nowMs: number): Dest | null;
}
