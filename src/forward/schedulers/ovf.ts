/**
 * ovf — overflow connection (net/netfilter/ipvs/ip_vs_ovf.c).
 *
 * Takes the highest-weight dest among those not overloaded, with weight > 0 and with
 * activeconns <= weight (the kernel skips a dest when `activeconns > weight`, so a dest
 * still takes a new connection while its active count equals its weight). A strictly higher
 * weight replaces the current choice, so the first in list order wins ties. When the
 * preferred dest has more active connections than its weight, traffic overflows to the
 * next-highest weight.
 */
import { StatelessListScheduler } from './dest-list.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

class Overflow extends StatelessListScheduler {
  readonly name = 'ovf' as const;

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    let h: Dest | null = null;
    let hw = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      const w = d.weight;
      if (d.overloaded || d.activeConns > w || w === 0) continue;
      if (h === null || w > hw) {
        h = d;
        hw = w;
      }
    }
    return h;
  }
}

/** The ovf scheduler module. */
export const ovfScheduler: SchedulerModule = {
  name: 'ovf',
  describe: 'overflow: highest-weight dest whose activeconns do not exceed its weight, first in list on ties',
  create(_opts: SchedulerOptions): Scheduler {
    return new Overflow();
  },
};
