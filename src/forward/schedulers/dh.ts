/**
 * dh — destination hashing (net/netfilter/ipvs/ip_vs_dh.c).
 *
 * A 256-bucket table (IP_VS_DH_TAB_BITS = 8) is filled by walking the dest list one bucket
 * per dest, wrapping (weights do not matter; `ip_vs_dh_reassign`). A flow maps to bucket
 * `hash_32(ntohl(daddr_fold), 8)` of its destination (virtual) address; if that dest has
 * weight 0 or is overloaded, no dest is returned (dh has no fallback). Meant for
 * firewall-mark services spanning many destination addresses (cache clusters).
 */
import { DestList } from './dest-list.js';
import { dstAddrFold, hash32 } from './hash.js';
import { fillBuckets } from './sh.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

/** IP_VS_DH_TAB_BITS (CONFIG_IP_VS_DH_TAB_BITS default 8). */
export const DH_TAB_BITS = 8;

class DestinationHashing implements Scheduler {
  readonly name = 'dh' as const;
  private readonly list = new DestList();
  private readonly table = new Int32Array(1 << DH_TAB_BITS).fill(-1);

  update(dests: readonly Dest[]): void {
    this.list.sync(dests);
    fillBuckets(this.table, this.list.dests, false);
  }

  /** Stateless: the same as pick(). */
  peek(flow: FlowKey, nowMs: number): Dest | null {
    return this.pick(flow, nowMs);
  }

  pick(flow: FlowKey, _nowMs: number): Dest | null {
    const at = this.table[hash32(dstAddrFold(flow), DH_TAB_BITS)]!;
    if (at < 0) return null;
    const d = this.list.dests[at]!;
    return d.weight <= 0 || d.overloaded ? null : d;
  }
}

/** The dh scheduler module. */
export const dhScheduler: SchedulerModule = {
  name: 'dh',
  describe: 'destination hashing: 256-bucket table keyed by the destination address, no fallback',
  create(_opts: SchedulerOptions): Scheduler {
    return new DestinationHashing();
  },
};
