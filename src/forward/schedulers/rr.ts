/**
 * rr — round robin (net/netfilter/ipvs/ip_vs_rr.c).
 *
 * The position is the last dest picked (`svc->sched_data`, a list node, initially the list
 * head). A pick walks on from there to the end of the list, then from the start back to
 * the position itself, and takes the first dest that is not overloaded and has weight > 0.
 * Removing the dest the position points at moves the position to its predecessor
 * (`ip_vs_rr_del_dest`), so the rotation resumes with the removed dest's successor.
 */
import { DestList } from './dest-list.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

class RoundRobin implements Scheduler {
  readonly name = 'rr' as const;
  private readonly list = new DestList();
  /** Index in list.dests of the last pick; -1 = the list head (no pick yet). */
  private pos = -1;
  private posKey: string | null = null;

  update(dests: readonly Dest[]): void {
    this.list.sync(dests);
    if (this.posKey === null) return;
    const now = this.list.dests;
    let at = indexOfKey(now, this.posKey);
    if (at < 0) {
      // ip_vs_rr_del_dest: the position moves to the removed dest's nearest surviving predecessor.
      const old = this.list.previous;
      at = -1;
      for (let i = indexOfKey(old, this.posKey) - 1; i >= 0 && at < 0; i--) at = indexOfKey(now, old[i]!.key);
    }
    this.pos = at;
    this.posKey = at < 0 ? null : now[at]!.key;
  }

  /** pick() with the position restored afterwards. */
  peek(flow: FlowKey, nowMs: number): Dest | null {
    const pos = this.pos;
    const posKey = this.posKey;
    const d = this.pick(flow, nowMs);
    this.pos = pos;
    this.posKey = posKey;
    return d;
  }

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    const n = dests.length;
    const last = this.pos;
    // First pass: after the position to the end of the list.
    for (let i = last + 1; i < n; i++) {
      const d = dests[i]!;
      if (!d.overloaded && d.weight > 0) return this.hit(i, d);
    }
    // "If we stay at head there is no need for 2nd pass."
    if (last < 0) return null;
    // Second pass: from the start up to and including the position.
    for (let i = 0; i <= last && i < n; i++) {
      const d = dests[i]!;
      if (!d.overloaded && d.weight > 0) return this.hit(i, d);
    }
    return null;
  }

  private hit(i: number, d: Dest): Dest {
    this.pos = i;
    this.posKey = d.key;
    return d;
  }
}

function indexOfKey(list: readonly Dest[], key: string): number {
  for (let i = 0; i < list.length; i++) if (list[i]!.key === key) return i;
  return -1;
}

/** The rr scheduler module. */
export const rrScheduler: SchedulerModule = {
  name: 'rr',
  describe: 'round robin: next available dest after the last pick (weight > 0, not overloaded)',
  create(_opts: SchedulerOptions): Scheduler {
    return new RoundRobin();
  },
};
