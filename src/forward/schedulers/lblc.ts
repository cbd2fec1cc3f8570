/**
 * lblc — locality-based least connection (net/netfilter/ipvs/ip_vs_lblc.c).
 *
 *     if cache[daddr] is absent: n, cache[daddr] <- weighted least-connection dest
 *     else n <- cache[daddr]; if n is unavailable (removed), has weight 0, or
 *          (n.activeconns > n.weight and some dest has activeconns < weight/2):
 *          n, cache[daddr] <- weighted least-connection dest
 *
 * The weighted least-connection choice is wlc's walk (skipping overloaded dests). Note
 * that, as in the kernel, a cached dest is NOT checked for the threshold OVERLOAD flag: only
 * the fresh wlc choice skips overloaded dests. The cache is the kernel's 1024-bucket table
 * keyed by destination address with its expiry (see locality-table.ts); time is `nowMs`.
 */
import { DestList } from './dest-list.js';
import { DestSlots, LocalityTable, grown, localityOverloaded } from './locality-table.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';
import { weightedLeastConnection } from './wlc.js';

class LocalityLeastConnection implements Scheduler {
  readonly name = 'lblc' as const;
  private readonly list = new DestList();
  private readonly slots = new DestSlots();
  /** Entry → dest slot (en->dest). */
  private entrySlot = new Int32Array(0);
  private readonly table: LocalityTable;

  constructor() {
    this.table = new LocalityTable({
      grow: (cap) => {
        this.entrySlot = grown(this.entrySlot, cap);
      },
      free: () => {},
    });
  }

  update(dests: readonly Dest[]): void {
    this.list.sync(dests);
    this.slots.sync(this.list.dests);
  }

  /** The cached dest if still valid, else the wlc choice; no entry is created or touched. */
  peek(flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    const en = this.table.find(flow);
    if (en >= 0) {
      const s = this.entrySlot[en]!;
      const cached = this.slots.dests[s]!;
      if (this.slots.available[s] === 1 && cached.weight > 0 && !localityOverloaded(cached, dests)) return cached;
    }
    return weightedLeastConnection(dests);
  }

  pick(flow: FlowKey, nowMs: number): Dest | null {
    const table = this.table;
    table.expire(nowMs);
    const dests = this.list.dests;
    const en = table.find(flow);
    if (en >= 0) {
      table.lastUse[en] = nowMs;
      const s = this.entrySlot[en]!;
      const cached = this.slots.dests[s]!;
      if (this.slots.available[s] === 1 && cached.weight > 0 && !localityOverloaded(cached, dests)) return cached;
    }
    // No cache entry or it is invalid, time to schedule.
    const d = weightedLeastConnection(dests);
    if (d === null) return null;
    const s = this.slots.slotOf(d);
    if (en >= 0) {
      // ip_vs_lblc_new: same dest: keep the entry; else replace it with a new one at the bucket head.
      if (this.entrySlot[en] !== s) {
        this.entrySlot[en] = s;
        table.moveFoundToHead(en);
      }
    } else {
      this.entrySlot[table.insert(flow, nowMs)] = s;
    }
    return d;
  }
}

/** The lblc scheduler module. */
export const lblcScheduler: SchedulerModule = {
  name: 'lblc',
  describe: 'locality-based least connection: destination address sticks to a dest until it is unavailable or overloaded',
  create(_opts: SchedulerOptions): Scheduler {
    return new LocalityLeastConnection();
  },
};
