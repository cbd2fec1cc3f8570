/**
 * twos — weighted power of two choices (net/netfilter/ipvs/ip_vs_twos.c).
 *
 * total = sum of the weights of the dests that are not overloaded and have weight > 0.
 * Two random numbers r1, r2 are drawn uniformly in [0, total] inclusive
 * (`get_random_u32_below(total + 1)`); walking the list over those dests, each subtracts
 * the dest's weight and the first dest that brings it to <= 0 is choice 1 (resp. 2). So
 * the first dest in list order is drawn with probability (w + 1) / (total + 1), the others
 * w / (total + 1). Choice 2 wins only when its overhead / weight is strictly lower
 * (`weight2 × overhead1 > weight1 × overhead2`); otherwise choice 1 is taken.
 * Randomness comes from `opts.random` (uniform in [0, 1)), so tests can seed it.
 */
import { DestList } from './dest-list.js';
import { connOverhead } from './dest-load.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

class TwoChoices implements Scheduler {
  readonly name = 'twos' as const;
  private readonly list = new DestList();
  private readonly random: () => number;

  constructor(random: () => number) {
    this.random = random;
  }

  update(dests: readonly Dest[]): void {
    this.list.sync(dests);
  }

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    const n = dests.length;
    let total = 0;
    let choice1: Dest | null = null;
    for (let i = 0; i < n; i++) {
      const d = dests[i]!;
      if (!d.overloaded && d.weight > 0) {
        total += d.weight;
        choice1 = d;
      }
    }
    if (choice1 === null) return null;
    total += 1; // the random weights are inclusive from 0 to total
    let r1 = this.below(total);
    let r2 = this.below(total);
    let choice2: Dest | null = null;
    let weight1 = -1;
    let weight2 = -1;
    let overhead1 = 0;
    let overhead2 = 0;
    for (let i = 0; i < n; i++) {
      const d = dests[i]!;
      if (d.overloaded) continue;
      const w = d.weight;
      if (w <= 0) continue;
      r1 -= w;
      r2 -= w;
      if (r1 <= 0 && weight1 === -1) {
        choice1 = d;
        weight1 = w;
        overhead1 = connOverhead(d);
      }
      if (r2 <= 0 && weight2 === -1) {
        choice2 = d;
        weight2 = w;
        overhead2 = connOverhead(d);
      }
      if (weight1 !== -1 && weight2 !== -1) break;
    }
    if (choice2 !== null && weight2 * overhead1 > weight1 * overhead2) return choice2;
    return choice1;
  }

  /** get_random_u32_below(n): uniform integer in [0, n). */
  private below(n: number): number {
    const r = Math.floor(this.random() * n);
    return r < n ? r : n - 1;
  }
}

/** The twos scheduler module. */
export const twosScheduler: SchedulerModule = {
  name: 'twos',
  describe: 'power of two choices: two weighted random draws, the lower overhead/weight wins (choice 1 on ties)',
  create(opts: SchedulerOptions): Scheduler {
    return new TwoChoices(opts.random);
  },
};
