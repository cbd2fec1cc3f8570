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
 *
 * Randomness: a xoshiro128** generator held in a Uint32Array, seeded from four draws of
 * `opts.random` when the scheduler is created, so a seeded `opts.random` makes runs
 * reproducible. It does not call `opts.random` per pick: a call returning a double
 * allocates a heap number (16 bytes per pick, measured by the allocation test in
 * test/unit/forward/schedulers/registry.test.ts). Draws below a bound use Lemire's
 * multiply-and-reject, as the kernel's `get_random_u32_below()`, so they are exactly uniform.
 */
import { DestList } from './dest-list.js';
import { connOverhead } from './dest-load.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

/**
 * The choice of ip_vs_twos_schedule() given the two draws r1, r2 in [0, total] (total = sum
 * of usable weights): exported so the tie-break can be tested with chosen draws.
 */
export function chooseOfTwo(dests: readonly Dest[], r1: number, r2: number): Dest | null {
  let choice1: Dest | null = null;
  let choice2: Dest | null = null;
  let weight1 = -1;
  let weight2 = -1;
  let overhead1 = 0;
  let overhead2 = 0;
  for (let i = 0; i < dests.length; i++) {
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

/** xoshiro128** (Blackman & Vigna) over a Uint32Array: no allocation per draw. */
class Xoshiro128 {
  private readonly s = new Uint32Array(4);
  private readonly saved = new Uint32Array(4);

  constructor(random: () => number) {
    for (let i = 0; i < 4; i++) this.s[i] = Math.floor(random() * 0x100000000) >>> 0;
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  save(): void {
    this.saved.set(this.s);
  }

  restore(): void {
    this.s.set(this.saved);
  }

  /**
   * get_random_u32_below(n) (include/linux/random.h): uniform integer in [0, n), n < 2^21,
   * by Lemire's method: high word of n × u32, rejecting the biased low words.
   */
  below(n: number): number {
    // n × u32 < 2^53: exact in a double. Split with floor, not `%` (a float modulo, which
    // made a 64-dest pick 3× slower in bench/schedulers.ts).
    let mult = n * this.nextU32();
    let high = Math.floor(mult / 0x100000000);
    let low = mult - high * 0x100000000;
    if (low < n) {
      const bound = (0x100000000 - n) % n;
      while (low < bound) {
        mult = n * this.nextU32();
        high = Math.floor(mult / 0x100000000);
        low = mult - high * 0x100000000;
      }
    }
    return high;
  }

  private nextU32(): number {
    const s = this.s;
    const s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = (n3 << 11) | (n3 >>> 21);
    return result;
  }
}

class TwoChoices implements Scheduler {
  readonly name = 'twos' as const;
  private readonly list = new DestList();
  private readonly rng: Xoshiro128;

  constructor(random: () => number) {
    this.rng = new Xoshiro128(random);
  }

  update(dests: readonly Dest[]): void {
    this.list.sync(dests);
  }

  /** pick() with the generator state restored afterwards. */
  peek(flow: FlowKey, nowMs: number): Dest | null {
    this.rng.save();
    const d = this.pick(flow, nowMs);
    this.rng.restore();
    return d;
  }

  pick(_flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    let total = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      if (!d.overloaded && d.weight > 0) total += d.weight;
    }
    if (total === 0) return null;
    // "Add 1 to total_weight so that the random weights are inclusive from 0 to total_weight"
    const r1 = this.rng.below(total + 1);
    const r2 = this.rng.below(total + 1);
    return chooseOfTwo(dests, r1, r2);
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
