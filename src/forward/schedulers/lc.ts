/**
 * lc — least connection (net/netfilter/ipvs/ip_vs_lc.c).
 *
 * Cost: `ip_vs_dest_conn_overhead()` = activeconns × 256 + inactconns, weights ignored
 * except that weight 0 is quiesced. Skips overloaded and weight-0 dests; the strictly
 * lowest cost wins, so on equal cost the first in list order wins.
 */
import { StatelessListScheduler } from './dest-list.js';
import { connOverhead } from './dest-load.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

class LeastConnection extends StatelessListScheduler {
  readonly name = 'lc' as const;

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    let least: Dest | null = null;
    let loh = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      if (d.overloaded || d.weight === 0) continue;
      const doh = connOverhead(d);
      if (least === null || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/** The lc scheduler module. */
export const lcScheduler: SchedulerModule = {
  name: 'lc',
  describe: 'least connection: lowest activeconns*256+inactconns, first in list on ties',
  create(_opts: SchedulerOptions): Scheduler {
    return new LeastConnection();
  },
};
