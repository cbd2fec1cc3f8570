/**
 * nq — never queue (net/netfilter/ipvs/ip_vs_nq.c).
 *
 * Walks the list skipping overloaded and weight-0 dests; the first dest with no active
 * connection is returned at once. Otherwise it is sed: lowest (activeconns + 1) / weight by
 * cross-multiplication, the earlier dest staying on equal cost.
 */
import { StatelessListScheduler } from './dest-list.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

class NeverQueue extends StatelessListScheduler {
  readonly name = 'nq' as const;

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    let least: Dest | null = null;
    let loh = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      if (d.overloaded || d.weight === 0) continue;
      const doh = d.activeConns + 1; // ip_vs_nq_dest_overhead
      if (d.activeConns === 0) return d; // "return the server directly if it is idle"
      if (least === null || loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/** The nq scheduler module. */
export const nqScheduler: SchedulerModule = {
  name: 'nq',
  describe: 'never queue: first idle dest (no active connection), else shortest expected delay',
  create(_opts: SchedulerOptions): Scheduler {
    return new NeverQueue();
  },
};
