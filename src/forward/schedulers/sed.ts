/**
 * sed — shortest expected delay (net/netfilter/ipvs/ip_vs_sed.c).
 *
 * Cost: (activeconns + 1) / weight (inactive connections are not counted), compared by
 * cross-multiplication: dest replaces the current least when
 * `loh × dest.weight > doh × least.weight`. The first dest that is not overloaded and has
 * weight > 0 seeds the search; later dests are skipped only when overloaded. Equal cost:
 * the earlier dest stays.
 */
import { StatelessListScheduler } from './dest-list.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

class ShortestExpectedDelay extends StatelessListScheduler {
  readonly name = 'sed' as const;

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
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
    let loh = least.activeConns + 1; // ip_vs_sed_dest_overhead
    for (i++; i < n; i++) {
      const d = dests[i]!;
      if (d.overloaded) continue;
      const doh = d.activeConns + 1;
      if (loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/** The sed scheduler module. */
export const sedScheduler: SchedulerModule = {
  name: 'sed',
  describe: 'shortest expected delay: lowest (activeconns+1)/weight, first in list on ties',
  create(_opts: SchedulerOptions): Scheduler {
    return new ShortestExpectedDelay();
  },
};
