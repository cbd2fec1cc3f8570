/**
 * lblcr — locality-based least connection with replication (net/netfilter/ipvs/ip_vs_lblcr.c).
 *
 *     if set[daddr] is absent: n <- weighted least-connection dest; set[daddr] <- {n}
 *     else n <- weighted least-connection member of set[daddr] (available, weight > 0,
 *              not overloaded);
 *          if |set| > 1 and now > set.lastmod + expiration: remove the most loaded member
 *          if n is null or (n.activeconns > n.weight and some dest has activeconns < weight/2):
 *              n <- weighted least-connection dest; add n to set[daddr]
 *
 * Sets are lists with the newest member first (`list_add_rcu`), so ties inside a set go to
 * the most recently added member; `lastmod` changes when a member is added or removed. The
 * removal above happens even when the removed member is the one just chosen, which is then
 * still returned, as in the kernel. Expiration (`lblcr_expiration`) defaults to 24 h;
 * the table and its collection are those of lblc (see locality-table.ts).
 */
import { DestList } from './dest-list.js';
import { connOverhead } from './dest-load.js';
import { DEFAULT_EXPIRATION_MS, DestSlots, LocalityTable, grown, localityOverloaded } from './locality-table.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';
import { weightedLeastConnection } from './wlc.js';

class LocalityReplicated implements Scheduler {
  readonly name = 'lblcr' as const;
  private readonly list = new DestList();
  private readonly slots = new DestSlots();
  private readonly table: LocalityTable;
  // Per entry: its dest set (a singly linked list of elements, newest first).
  private setHead = new Int32Array(0);
  private setSize = new Int32Array(0);
  private setLastMod = new Float64Array(0);
  // Set element pool.
  private elemNext = new Int32Array(16);
  private elemSlot = new Int32Array(16);
  private elemUsed = 0;
  private elemFree = -1;
  private readonly expirationMs = DEFAULT_EXPIRATION_MS;

  constructor() {
    this.table = new LocalityTable({
      grow: (cap) => {
        this.setHead = grown(this.setHead, cap);
        this.setSize = grown(this.setSize, cap);
        this.setLastMod = grown(this.setLastMod, cap);
      },
      free: (e) => this.eraseAll(e),
    });
  }

  update(dests: readonly Dest[]): void {
    this.list.sync(dests);
    this.slots.sync(this.list.dests);
  }

  /** The set's least-loaded usable member if not overloaded, else the wlc choice; no set changes. */
  peek(flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    const en = this.table.find(flow);
    if (en >= 0) {
      const min = this.setMin(en);
      if (min >= 0 && !localityOverloaded(this.slots.dests[min]!, dests)) return this.slots.dests[min]!;
    }
    return weightedLeastConnection(dests);
  }

  pick(flow: FlowKey, nowMs: number): Dest | null {
    const table = this.table;
    table.expire(nowMs);
    const dests = this.list.dests;
    const en = table.find(flow);
    if (en < 0) {
      const d = weightedLeastConnection(dests);
      if (d === null) return null;
      const e = table.insert(flow, nowMs);
      this.setHead[e] = -1;
      this.setSize[e] = 0;
      this.insert(e, this.slots.slotOf(d), false, nowMs);
      return d;
    }
    table.lastUse[en] = nowMs;
    const min = this.setMin(en);
    // More than one destination + enough time passed by: cleanup.
    if (this.setSize[en]! > 1 && nowMs > this.setLastMod[en]! + this.expirationMs) {
      const m = this.setMax(en);
      if (m >= 0) this.erase(en, m, nowMs);
    }
    if (min >= 0) {
      const d = this.slots.dests[min]!;
      if (!localityOverloaded(d, dests)) return d;
    }
    const d = weightedLeastConnection(dests);
    if (d === null) return null;
    this.insert(en, this.slots.slotOf(d), true, nowMs);
    return d;
  }

  /** ip_vs_dest_set_min(): the weighted least-connection usable member (slot), or -1. */
  private setMin(en: number): number {
    const slots = this.slots;
    let e = this.setHead[en]!;
    let least = -1;
    for (; e >= 0; e = this.elemNext[e]!) {
      const s = this.elemSlot[e]!;
      const d = slots.dests[s]!;
      if (d.overloaded) continue;
      if (d.weight > 0 && slots.available[s] === 1) {
        least = s;
        break;
      }
    }
    if (least < 0) return -1;
    let ld = slots.dests[least]!;
    let loh = connOverhead(ld);
    for (e = this.elemNext[e]!; e >= 0; e = this.elemNext[e]!) {
      const s = this.elemSlot[e]!;
      const d = slots.dests[s]!;
      if (d.overloaded) continue;
      const doh = connOverhead(d);
      if (loh * d.weight > doh * ld.weight && slots.available[s] === 1) {
        least = s;
        ld = d;
        loh = doh;
      }
    }
    return least;
  }

  /** ip_vs_dest_set_max(): the weighted most-connection member with weight > 0 (slot), or -1. */
  private setMax(en: number): number {
    const slots = this.slots;
    let e = this.setHead[en]!;
    let most = -1;
    for (; e >= 0; e = this.elemNext[e]!) {
      const s = this.elemSlot[e]!;
      if (slots.dests[s]!.weight > 0) {
        most = s;
        break;
      }
    }
    if (most < 0) return -1;
    let md = slots.dests[most]!;
    let moh = connOverhead(md);
    for (e = this.elemNext[e]!; e >= 0; e = this.elemNext[e]!) {
      const s = this.elemSlot[e]!;
      const d = slots.dests[s]!;
      const doh = connOverhead(d);
      // moh/mw < doh/dw ==> moh*dw < doh*mw, where mw,dw>0
      if (moh * d.weight < doh * md.weight && d.weight > 0) {
        most = s;
        md = d;
        moh = doh;
      }
    }
    return most;
  }

  /** ip_vs_dest_set_insert(): adds `slot` at the head of the set (unless present, with `check`). */
  private insert(en: number, slot: number, check: boolean, nowMs: number): void {
    if (check) {
      for (let e = this.setHead[en]!; e >= 0; e = this.elemNext[e]!) if (this.elemSlot[e] === slot) return;
    }
    let x: number;
    if (this.elemFree >= 0) {
      x = this.elemFree;
      this.elemFree = this.elemNext[x]!;
    } else {
      if (this.elemUsed === this.elemNext.length) {
        this.elemNext = grown(this.elemNext, this.elemUsed * 2);
        this.elemSlot = grown(this.elemSlot, this.elemUsed * 2);
      }
      x = this.elemUsed++;
    }
    this.elemSlot[x] = slot;
    this.elemNext[x] = this.setHead[en]!;
    this.setHead[en] = x;
    this.setSize[en]!++;
    this.setLastMod[en] = nowMs;
  }

  /** ip_vs_dest_set_erase(): removes `slot` from the set. */
  private erase(en: number, slot: number, nowMs: number): void {
    let prev = -1;
    for (let e = this.setHead[en]!; e >= 0; prev = e, e = this.elemNext[e]!) {
      if (this.elemSlot[e] !== slot) continue;
      this.setSize[en]!--;
      this.setLastMod[en] = nowMs;
      if (prev < 0) this.setHead[en] = this.elemNext[e]!;
      else this.elemNext[prev] = this.elemNext[e]!;
      this.elemNext[e] = this.elemFree;
      this.elemFree = e;
      return;
    }
  }

  /** ip_vs_dest_set_eraseall(): frees the whole set of an entry being collected. */
  private eraseAll(en: number): void {
    let e = this.setHead[en]!;
    while (e >= 0) {
      const nx = this.elemNext[e]!;
      this.elemNext[e] = this.elemFree;
      this.elemFree = e;
      e = nx;
    }
    this.setHead[en] = -1;
    this.setSize[en] = 0;
  }
}

/** The lblcr scheduler module. */
export const lblcrScheduler: SchedulerModule = {
  name: 'lblcr',
  describe: 'locality-based least connection with replication: destination address maps to a growing set of dests',
  create(_opts: SchedulerOptions): Scheduler {
    return new LocalityReplicated();
  },
};
