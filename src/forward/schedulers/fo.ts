/**
 * fo — weighted failover (net/netfilter/ipvs/ip_vs_fo.c).
 *
 * Takes the not-overloaded dest with the highest weight (weight must exceed 0). Only a
 * strictly higher weight replaces the current choice, so the first in list order wins ties.
 * Connection counts are not looked at.
 */
import { StatelessListScheduler } from './dest-list.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

class WeightedFailover extends StatelessListScheduler {
  readonly name = 'fo' as const;

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    let best: Dest | null = null;
    let hw = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      if (!d.overloaded && d.weight > hw) {
        best = d;
        hw = d.weight;
      }
    }
    return best;
  }
}

/** The fo scheduler module. */
export const foScheduler: SchedulerModule = {
  name: 'fo',
  describe: 'weighted failover: highest-weight available dest, first in list on ties',
  create(_opts: SchedulerOptions): Scheduler {
    return new WeightedFailover();
  },
};
