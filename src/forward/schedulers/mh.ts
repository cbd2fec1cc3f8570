/**
 * mh — Maglev hashing (net/netfilter/ipvs/ip_vs_mh.c; Eisenbud et al., NSDI'16 §3.4).
 *
 * Lookup table of M = 251 entries (primes[CONFIG_IP_VS_MH_TAB_INDEX 12 − 8]). Each dest gets
 * a preference list of table positions from two hashes of its address and port:
 * offset = h1 % M, skip = h2 % (M − 1) + 1, position_j = (offset + j·skip) % M, where
 * h1, h2 = hsiphash(ntohs(port) + ntohl(addr_fold)) under the kernel's two fixed keys
 * (2654435761 and 2654446892 in both key words). Population walks the dest list taking
 * `turns` consecutive claims per dest per round, turns = (last_weight / gcd) >> rshift
 * (at least 1 for a non-zero weight; rshift keeps the top weight/gcd within 6 bits), each
 * claim being the dest's next free preferred position, until all M entries are taken.
 *
 * `last_weight` is the latest non-zero weight (ip_vs_ctl.c keeps it on quiesce), so
 * setting a dest to weight 0 does not reshuffle the table: its entries stay and lookups that
 * hit it are unavailable (null) or, with `mh-fallback`, probe onwards. A flow hashes
 * hsiphash(srcport + ntohl(saddr_fold)) % M, srcport = 0 unless `mh-port`; the fallback
 * probes hsiphash(roffset + srcport + saddr) % M for roffset = ihash, ihash+1, ... (mod M).
 *
 * The hash is SipHash-1-3 as built for 64-bit kernels, so on the same dest list (in the
 * kernel's list order, see dest-list.ts) the table is the kernel's own, entry for entry.
 * A 32-bit kernel uses HalfSipHash instead and builds a different (equally valid) table.
 */
import { DestList } from './dest-list.js';
import { destAddrFold, hashableSrcPort, hsiphashKey, hsiphashMod, srcAddrFold } from './hash.js';
import { gcd } from './wrr.js';
import type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';

/** IP_VS_MH_TAB_SIZE: the prime table size for CONFIG_IP_VS_MH_TAB_INDEX = 12. */
export const MH_TAB_SIZE = 251;
/** IP_VS_MH_TAB_BITS = CONFIG_IP_VS_MH_TAB_INDEX / 2. */
const MH_TAB_BITS = 6;

/** ip_vs_mh.c generate_hash_secret(): fixed keys, so tables are the same on every director. */
export const MH_HASH1 = hsiphashKey(2654435761, 2654435761);
export const MH_HASH2 = hsiphashKey(2654446892, 2654446892);

/** fls(): 1-based index of the highest set bit, 0 for 0. */
function fls(x: number): number {
  return 32 - Math.clz32(x);
}

/** The mh scheduler (exported for tests and `lvsadm trace`, which read its table). */
export class MaglevHashing implements Scheduler {
  readonly name = 'mh' as const;
  private readonly list = new DestList();
  /** The dests the table indexes (the kernel refuses more than M dests). */
  private dests: readonly Dest[] = [];
  /** lookup[i] = index in `dests`, -1 = empty. */
  private readonly lookup = new Int32Array(MH_TAB_SIZE).fill(-1);
  private lastWeight = new Map<string, number>();
  private readonly fallback: boolean;
  private readonly usePort: boolean;

  constructor(opts: SchedulerOptions) {
    this.fallback = opts.flags.mhFallback;
    this.usePort = opts.flags.mhPort;
  }

  update(input: readonly Dest[]): void {
    this.list.sync(input);
    // ip_vs_mh_reassign: "if (svc->num_dests > IP_VS_MH_TAB_SIZE) return -EINVAL", i.e. the
    // kernel refuses to add a dest past M; the refused ones are the most recently added,
    // which sit at the head of the list.
    const all = this.list.dests;
    const dests = all.length > MH_TAB_SIZE ? all.slice(all.length - MH_TAB_SIZE) : all;
    this.dests = dests;
    const added = new Set(this.list.added);
    // ip_vs_ctl.c: "keep the last_weight with latest non-0 weight": if (add || weight != 0)
    const lw = new Map<string, number>();
    for (const d of dests) {
      const prev = this.lastWeight.get(d.key);
      lw.set(d.key, added.has(d.key) || prev === undefined || d.weight !== 0 ? d.weight : prev);
    }
    this.lastWeight = lw;
    // ip_vs_mh_gcd_weight / ip_vs_mh_shift_weight
    let g = 0;
    let max = 0;
    for (const d of dests) {
      const w = lw.get(d.key)!;
      if (w > 0) g = g > 0 ? gcd(w, g) : w;
      if (w > max) max = w;
    }
    if (g < 1) {
      this.lookup.fill(-1); // ip_vs_mh_reset
      return;
    }
    const shift = fls(Math.floor(max / g)) - MH_TAB_BITS;
    const rshift = shift >= 0 ? shift : 0;
    // ip_vs_mh_permutate
    const n = dests.length;
    const skip = new Int32Array(n);
    const perm = new Int32Array(n);
    const turns = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const d = dests[i]!;
      const v = (d.port + destAddrFold(d)) >>> 0;
      perm[i] = hsiphashMod(v >>> 16, v & 0xffff, MH_HASH1, MH_TAB_SIZE);
      skip[i] = hsiphashMod(v >>> 16, v & 0xffff, MH_HASH2, MH_TAB_SIZE - 1) + 1;
      const w = lw.get(d.key)!;
      turns[i] = Math.floor(w / g) >> rshift || (w !== 0 ? 1 : 0);
    }
    // ip_vs_mh_populate
    const taken = new Uint8Array(MH_TAB_SIZE);
    let filled = 0;
    let dtCount = 0;
    fill: while (filled < MH_TAB_SIZE) {
      for (let p = 0; p < n; ) {
        if (turns[p]! < 1) {
          p++; // "Ignore added server with zero weight"
          continue;
        }
        let c = perm[p]!;
        while (taken[c]) {
          c += skip[p]!;
          if (c >= MH_TAB_SIZE) c -= MH_TAB_SIZE;
          perm[p] = c;
        }
        taken[c] = 1;
        this.lookup[c] = p;
        if (++filled === MH_TAB_SIZE) break fill;
        if (++dtCount >= turns[p]!) {
          dtCount = 0;
          p++;
        }
      }
    }
  }

  /** Stateless: the same as pick(). */
  peek(flow: FlowKey, nowMs: number): Dest | null {
    return this.pick(flow, nowMs);
  }

  pick(flow: FlowKey, _nowMs: number): Dest | null {
    const addr = srcAddrFold(flow);
    const port = this.usePort ? hashableSrcPort(flow) : 0;
    let v = (port + addr) >>> 0;
    const ihash = hsiphashMod(v >>> 16, v & 0xffff, MH_HASH1, MH_TAB_SIZE);
    const first = this.lookup[ihash]!;
    if (first < 0) return null;
    let d = this.dests[first]!;
    if (d.weight > 0 && !d.overloaded) return d;
    if (!this.fallback) return null;
    // ip_vs_mh_get_fallback: "loop around the table starting from ihash"
    for (let offset = 0; offset < MH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % MH_TAB_SIZE;
      v = (roffset + port + addr) >>> 0;
      const at = this.lookup[hsiphashMod(v >>> 16, v & 0xffff, MH_HASH1, MH_TAB_SIZE)]!;
      if (at < 0) break;
      d = this.dests[at]!;
      if (d.weight > 0 && !d.overloaded) return d;
    }
    return null;
  }

  /** The lookup table as dest keys (for tests, docs and `lvsadm trace`). */
  table(): (string | null)[] {
    return Array.from(this.lookup, (i) => (i < 0 ? null : this.dests[i]!.key));
  }
}

/** The mh scheduler module. */
export const mhScheduler: SchedulerModule = {
  name: 'mh',
  describe: 'Maglev hashing: 251-entry consistent-hash table weighted by dest weight, keyed by client address (+port with mh-port)',
  create(opts: SchedulerOptions): Scheduler {
    return new MaglevHashing(opts);
  },
};
