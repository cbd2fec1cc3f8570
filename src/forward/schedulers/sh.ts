/**
 * sh — source hashing (net/netfilter/ipvs/ip_vs_sh.c).
 *
 * A 256-bucket table (IP_VS_SH_TAB_BITS = 8) is filled by walking the dest list, each dest
 * taking `weight` consecutive buckets (a weight-0 dest still takes one) and the walk wrapping
 * until all 256 are assigned (`ip_vs_sh_reassign`). A flow maps to bucket
 * `hash_32(srcport + ntohl(saddr_fold), 8)` with srcport = 0 unless `sh-port`
 * (IP_VS_SVC_F_SCHED_SH_PORT) is set. If that dest is unavailable (weight 0 or overloaded):
 * null, or with `sh-fallback` (IP_VS_SVC_F_SCHED_SH_FALLBACK) the kernel's probe sequence
 * `(offset + ihash + hash) & 255` for offset 0..255 (it starts at bucket 2·ihash, as the
 * kernel does) until an available dest is found.
 */
import { DestList } from './dest-list.js';
import { hash32, hashableSrcPort, srcAddrFold } from './hash.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

/** IP_VS_SH_TAB_BITS (CONFIG_IP_VS_SH_TAB_BITS default 8). */
export const SH_TAB_BITS = 8;
const SH_TAB_SIZE = 1 << SH_TAB_BITS;
const SH_TAB_MASK = SH_TAB_SIZE - 1;

/** ip_vs_sh_hashkey(): `(offset + hash_32(port + addr, 8)) & mask`. */
export function shHashKey(addrFold: number, port: number, offset: number): number {
  return (offset + hash32((port + addrFold) >>> 0, SH_TAB_BITS)) & SH_TAB_MASK;
}

/**
 * ip_vs_sh_reassign() / ip_vs_dh_reassign(): fills `table` (bucket → index in `dests`, -1 =
 * none) walking the list; with `weighted`, each dest takes `weight` buckets (at least one).
 */
export function fillBuckets(table: Int32Array, dests: readonly Dest[], weighted: boolean): void {
  const n = dests.length;
  if (n === 0) {
    table.fill(-1);
    return;
  }
  let p = 0;
  let count = 0;
  for (let i = 0; i < table.length; i++) {
    if (p === n) p = 0;
    table[i] = p;
    if (!weighted || ++count >= dests[p]!.weight) {
      p++;
      count = 0;
    }
  }
}

class SourceHashing implements Scheduler {
  readonly name = 'sh' as const;
  private readonly list = new DestList();
  private readonly table = new Int32Array(SH_TAB_SIZE).fill(-1);
  private readonly fallback: boolean;
  private readonly usePort: boolean;

  constructor(opts: SchedulerOptions) {
    this.fallback = opts.flags.shFallback;
    this.usePort = opts.flags.shPort;
  }

  update(dests: readonly Dest[]): void {
    this.list.sync(dests);
    fillBuckets(this.table, this.list.dests, true);
  }

  /** Stateless: the same as pick(). */
  peek(flow: FlowKey, nowMs: number): Dest | null {
    return this.pick(flow, nowMs);
  }

  pick(flow: FlowKey, _nowMs: number): Dest | null {
    const dests = this.list.dests;
    const addr = srcAddrFold(flow);
    const port = this.usePort ? hashableSrcPort(flow) : 0;
    const ihash = shHashKey(addr, port, 0);
    const first = this.table[ihash]!;
    if (first < 0) return null;
    let d = dests[first]!;
    if (d.weight > 0 && !d.overloaded) return d;
    if (!this.fallback) return null;
    // ip_vs_sh_get_fallback: loop around the table starting from ihash
    for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % SH_TAB_SIZE;
      const at = this.table[shHashKey(addr, port, roffset)]!;
      if (at < 0) break;
      d = dests[at]!;
      if (d.weight > 0 && !d.overloaded) return d;
    }
    return null;
  }
}

/** The sh scheduler module. */
export const shScheduler: SchedulerModule = {
  name: 'sh',
  describe: 'source hashing: 256-bucket table weighted by dest weight, keyed by client address (+port with sh-port)',
  create(opts: SchedulerOptions): Scheduler {
    return new SourceHashing(opts);
  },
};
