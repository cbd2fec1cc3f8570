/**
 * wrr — weighted round robin (net/netfilter/ipvs/ip_vs_wrr.c).
 *
 * State (`struct ip_vs_wrr_mark`): cl = last dest picked (or the list head), cw = current
 * weight, mw = max weight − (di − 1), di = gcd of the positive weights. A pick walks on
 * from cl and takes the first dest, not overloaded, with weight >= cw; at the end of the
 * list cw drops by di and the walk restarts from the head; when cw reaches 0 it wraps to mw.
 * Weights 4,3,2 give A A B A B C A B C (then again), i.e. 4:3:2 per 9 picks.
 *
 * A change of the dest list or of a weight (`ip_vs_wrr_dest_changed`) puts cl back at the
 * head, recomputes di and mw, and keeps cw on the same step when it still fits.
 */
import { DestList } from './dest-list.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

/** lib/math/gcd.c: greatest common divisor of two positive integers. */
export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr' as const;
  private readonly list = new DestList();
  private initialized = false;
  /** mark->cl: index of the last pick in list.dests, -1 = list head. */
  private cl = -1;
  private cw = 0;
  private mw = 0;
  private di = 1;
  /** Keys and weights at the last update, to ignore an update that changes nothing. */
  private signature = '';

  update(dests: readonly Dest[]): void {
    this.list.sync(dests);
    let sig = '';
    for (const d of this.list.dests) sig += `${d.key}=${d.weight};`;
    if (this.initialized && sig === this.signature) return;
    this.signature = sig;
    // ip_vs_wrr_gcd_weight / ip_vs_wrr_max_weight
    let g = 0;
    let max = 0;
    for (const d of this.list.dests) {
      const w = d.weight;
      if (w > 0) g = g > 0 ? gcd(w, g) : w;
      if (w > max) max = w;
    }
    this.cl = -1;
    this.di = g > 0 ? g : 1;
    this.mw = max - (this.di - 1);
    if (!this.initialized) {
      // ip_vs_wrr_init_svc
      this.cw = this.mw;
      this.initialized = true;
    } else if (this.cw > this.mw || this.cw === 0) {
      // ip_vs_wrr_dest_changed
      this.cw = this.mw;
    } else if (this.di > 1) {
      this.cw = Math.floor(this.cw / this.di) * this.di + 1;
    }
  }

  /** pick() with the mark (cl, cw) restored afterwards. */
  peek(flow: FlowKey, nowMs: number): Dest | null {
    const cl = this.cl;
    const cw = this.cw;
    const d = this.pick(flow, nowMs);
    this.cl = cl;
    this.cw = cw;
    return d;
  }

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    const n = dests.length;
    if (this.mw === 0) return null; // err_noavail: cl unchanged
    const last = this.cl;
    let pos = last;
    let stop = -2; // no stop node yet (-1 is the head)
    let lastPass = false;
    let restarted = false;
    for (;;) {
      // list_for_each_entry_continue_rcu from pos to the head
      for (pos = pos + 1; pos < n; pos++) {
        const d = dests[pos]!;
        if (!d.overloaded && d.weight >= this.cw) {
          this.cl = pos;
          return d;
        }
        if (pos === stop) {
          this.cl = pos; // err_over
          return null;
        }
      }
      pos = -1; // reached the head
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        // Stop if we tried the last pass from the first dest.
        if (lastPass || last === -1) {
          this.cl = -1; // err_over with dest = head
          return null;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      // The first traversal was for w >= 1 but only for dests after 'last': now do the same for all dests up to 'last'.
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }
}

/** The wrr scheduler module. */
export const wrrScheduler: SchedulerModule = {
  name: 'wrr',
  describe: 'weighted round robin: the kernel gcd/max-weight stepping, picks proportional to weight',
  create(_opts: SchedulerOptions): Scheduler {
    return new WeightedRoundRobin();
  },
};
