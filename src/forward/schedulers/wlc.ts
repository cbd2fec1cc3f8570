/**
 * wlc — weighted least connection (net/netfilter/ipvs/ip_vs_wlc.c).
 *
 * Cost: overhead / weight with overhead = activeconns × 256 + inactconns, compared without
 * division as the kernel does: dest replaces the current least when
 * `loh × dest.weight > doh × least.weight`. The first dest that is not overloaded and has
 * weight > 0 seeds the search; later dests are skipped only when overloaded (a weight-0
 * dest can never satisfy the strict inequality). Equal cost: the earlier dest stays.
 */
import { StatelessListScheduler } from './dest-list.js';
import { connOverhead } from './dest-load.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

/**
 * The weighted-least-overhead walk shared by wlc, lblc and lblcr (`__ip_vs_lblc_schedule`
 * and `__ip_vs_lblcr_schedule` are copies of `ip_vs_wlc_schedule`).
 */
export function weightedLeastConnection(dests: readonly Dest[]): Dest | null {
  const n = dests.length;
  let i = 0;
  let least: Dest | null = null;
  for (; i < n; i++) {
    const d = dests[i]!;
    if (!d.overloaded && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === null) return null;
  let loh = connOverhead(least);
  for (i++; i < n; i++) {
    const d = dests[i]!;
    if (d.overloaded) continue;
    const doh = connOverhead(d);
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

class WeightedLeastConnection extends StatelessListScheduler {
  readonly name = 'wlc' as const;

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    return weightedLeastConnection(this.list.dests);
  }
}

/** The wlc scheduler module. */
export const wlcScheduler: SchedulerModule = {
  name: 'wlc',
  describe: 'weighted least connection: lowest (activeconns*256+inactconns)/weight, first in list on ties',
  create(_opts: SchedulerOptions): Scheduler {
    return new WeightedLeastConnection();
  },
};
