/**
 * The destination-address cache of lblc and lblcr (ip_vs_lblc.c / ip_vs_lblcr.c
 * `struct ip_vs_lblc{,r}_table`): a chained hash of 1024 buckets (IP_VS_LBLC{,R}_TAB_BITS
 * = 10) keyed by `hash_32(ntohl(daddr_fold), 10)`, new entries at the head of their bucket,
 * and the periodic garbage collection of `ip_vs_lblc{,r}_check_expire()`.
 *
 * Entries live in typed arrays with a free list; the pools double when full, so a steady
 * state allocates nothing. The kernel's 60 s timer is driven by the `nowMs` of picks: each
 * pick first runs every collection that fell due since the last one, at its due time.
 */
import { dstAddrFold, hash32 } from './hash.js';
import type { Dest, FlowKey } from './types.js';

/** IP_VS_LBLC_TAB_BITS / IP_VS_LBLCR_TAB_BITS. */
export const LOCALITY_TAB_BITS = 10;
const TAB_SIZE = 1 << LOCALITY_TAB_BITS;
const TAB_MASK = TAB_SIZE - 1;
/** CHECK_EXPIRE_INTERVAL: the collection timer period. */
export const CHECK_EXPIRE_INTERVAL_MS = 60_000;
/** ENTRY_TIMEOUT: idle time after which an entry may go when the table is over max_size. */
export const ENTRY_TIMEOUT_MS = 6 * 60_000;
/** DEFAULT_EXPIRATION: the `lblc_expiration` / `lblcr_expiration` sysctl default (24 h). */
export const DEFAULT_EXPIRATION_MS = 24 * 60 * 60_000;
/** COUNT_FOR_FULL_EXPIRATION: every 30th tick is a full expiration check. */
const COUNT_FOR_FULL_EXPIRATION = 30;
/** tbl->max_size = IP_VS_LBLC_TAB_SIZE * 16. */
export const LOCALITY_MAX_SIZE = TAB_SIZE * 16;
/** Longest idle gap whose collections are replayed one by one (a week of ticks). */
const MAX_REPLAYED_TICKS = 7 * 24 * 60;

/**
 * Stable handles for dests by key. A dest removed from the service keeps its slot, marked
 * unavailable, as the kernel keeps a removed dest in its trash while cache entries hold it
 * (IP_VS_DEST_F_AVAILABLE cleared); added back, it is the same slot again, available.
 */
export class DestSlots {
  /** slot → the latest Dest object seen under that key. */
  dests: Dest[] = [];
  /** slot → 1 while the dest is in the service. */
  available = new Uint8Array(8);
  private readonly byKey = new Map<string, number>();

  sync(dests: readonly Dest[]): void {
    this.available.fill(0);
    for (const d of dests) {
      let s = this.byKey.get(d.key);
      if (s === undefined) {
        s = this.dests.length;
        this.byKey.set(d.key, s);
        this.dests.push(d);
        if (s >= this.available.length) {
          const a = new Uint8Array(this.available.length * 2);
          a.set(this.available);
          this.available = a;
        }
      }
      this.dests[s] = d;
      this.available[s] = 1;
    }
  }

  slotOf(d: Dest): number {
    return this.byKey.get(d.key) ?? -1;
  }
}

/** Hooks a table owner gives to keep its per-entry arrays in step. */
export interface LocalityHooks {
  /** The entry pools grew to `capacity` entries: grow per-entry arrays to match. */
  grow(capacity: number): void;
  /** Entry `e` is being freed (lblcr releases its dest set here). */
  free(e: number): void;
}

/** The lblc/lblcr hash table of destination addresses. */
export class LocalityTable {
  /** Number of entries (tbl->entries). */
  entries = 0;
  /** Entry → last use time (en->lastuse). */
  lastUse = new Float64Array(16);
  private readonly head = new Int32Array(TAB_SIZE).fill(-1);
  private next = new Int32Array(16);
  private addr = new Uint32Array(16 * 4);
  private v6 = new Uint8Array(16);
  private capacity = 16;
  private freeHead = -1;
  private used = 0;
  /** The entry before the last entry found by `find()` in its chain, -1 = bucket head. */
  private foundPrev = -1;
  private foundBucket = 0;
  private readonly hooks: LocalityHooks;
  private readonly expirationMs: number;
  // ip_vs_lblc_check_expire state
  private nextCheckMs = -1;
  private counter = 1;
  private rover = 0;

  constructor(hooks: LocalityHooks, expirationMs = DEFAULT_EXPIRATION_MS) {
    this.hooks = hooks;
    this.expirationMs = expirationMs;
    hooks.grow(this.capacity);
  }

  /** ip_vs_lblc_get(): the entry for the flow's destination address, or -1. */
  find(flow: FlowKey): number {
    const b = hash32(dstAddrFold(flow), LOCALITY_TAB_BITS);
    this.foundBucket = b;
    let prev = -1;
    const a6 = flow.dstAddr6;
    if (a6 === null) {
      const a = flow.dstAddr4 >>> 0;
      for (let e = this.head[b]!; e >= 0; prev = e, e = this.next[e]!) {
        if (this.v6[e] === 0 && this.addr[e * 4] === a) {
          this.foundPrev = prev;
          return e;
        }
      }
      return -1;
    }
    const w0 = word(a6, 0), w1 = word(a6, 4), w2 = word(a6, 8), w3 = word(a6, 12);
    for (let e = this.head[b]!; e >= 0; prev = e, e = this.next[e]!) {
      const o = e * 4;
      if (this.v6[e] === 1 && this.addr[o] === w0 && this.addr[o + 1] === w1 && this.addr[o + 2] === w2 && this.addr[o + 3] === w3) {
        this.foundPrev = prev;
        return e;
      }
    }
    return -1;
  }

  /** Moves the entry last returned by `find()` to the head of its bucket (the kernel deletes and re-creates it). */
  moveFoundToHead(e: number): void {
    if (this.foundPrev < 0) return;
    this.next[this.foundPrev] = this.next[e]!;
    this.next[e] = this.head[this.foundBucket]!;
    this.head[this.foundBucket] = e;
    this.foundPrev = -1;
  }

  /** ip_vs_lblc_hash(): a new entry for the flow's destination address at the head of its bucket. */
  insert(flow: FlowKey, nowMs: number): number {
    if (this.freeHead < 0 && this.used === this.capacity) this.growPools();
    let e: number;
    if (this.freeHead >= 0) {
      e = this.freeHead;
      this.freeHead = this.next[e]!;
    } else {
      e = this.used++;
    }
    const o = e * 4;
    const a6 = flow.dstAddr6;
    if (a6 === null) {
      this.v6[e] = 0;
      this.addr[o] = flow.dstAddr4 >>> 0;
      this.addr[o + 1] = 0;
      this.addr[o + 2] = 0;
      this.addr[o + 3] = 0;
    } else {
      this.v6[e] = 1;
      this.addr[o] = word(a6, 0);
      this.addr[o + 1] = word(a6, 4);
      this.addr[o + 2] = word(a6, 8);
      this.addr[o + 3] = word(a6, 12);
    }
    this.lastUse[e] = nowMs;
    const b = hash32(dstAddrFold(flow), LOCALITY_TAB_BITS);
    this.next[e] = this.head[b]!;
    this.head[b] = e;
    this.entries++;
    return e;
  }

  /**
   * Runs the collections that fell due by `nowMs` (ip_vs_lblc_check_expire every 60 s from
   * the first pick: every 30th a full check dropping entries idle for the expiration time;
   * otherwise, when over max_size, drop entries idle for ENTRY_TIMEOUT until 4/3 of the
   * excess, at most max_size/2, are gone).
   */
  expire(nowMs: number): void {
    if (this.nextCheckMs < 0) {
      this.nextCheckMs = nowMs + CHECK_EXPIRE_INTERVAL_MS;
      return;
    }
    let ticks = 0;
    while (nowMs >= this.nextCheckMs) {
      if (++ticks > MAX_REPLAYED_TICKS) {
        this.nextCheckMs = nowMs + CHECK_EXPIRE_INTERVAL_MS;
        break;
      }
      this.checkExpire(this.nextCheckMs);
      this.nextCheckMs += CHECK_EXPIRE_INTERVAL_MS;
    }
  }

  private checkExpire(nowMs: number): void {
    if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      // ip_vs_lblc_full_check: keep entries while time_before(now, lastuse + expiration)
      for (let i = 0, j = this.rover; i < TAB_SIZE; i++) {
        j = (j + 1) & TAB_MASK;
        this.sweep(j, nowMs, this.expirationMs);
        this.rover = j;
      }
      this.counter = 1;
      return;
    }
    if (this.entries <= LOCALITY_MAX_SIZE) {
      this.counter++;
      return;
    }
    let goal = Math.trunc(((this.entries - LOCALITY_MAX_SIZE) * 4) / 3);
    if (goal > LOCALITY_MAX_SIZE / 2) goal = LOCALITY_MAX_SIZE / 2;
    let j = this.rover;
    for (let i = 0; i < TAB_SIZE; i++) {
      j = (j + 1) & TAB_MASK;
      goal -= this.sweep(j, nowMs, ENTRY_TIMEOUT_MS);
      if (goal <= 0) break;
    }
    this.rover = j;
  }

  /** Frees the entries of bucket `b` with `nowMs >= lastUse + idleMs`; returns how many. */
  private sweep(b: number, nowMs: number, idleMs: number): number {
    let freed = 0;
    let prev = -1;
    let e = this.head[b]!;
    while (e >= 0) {
      const nx = this.next[e]!;
      if (nowMs < this.lastUse[e]! + idleMs) {
        prev = e;
      } else {
        if (prev < 0) this.head[b] = nx;
        else this.next[prev] = nx;
        this.hooks.free(e);
        this.next[e] = this.freeHead;
        this.freeHead = e;
        this.entries--;
        freed++;
      }
      e = nx;
    }
    return freed;
  }

  private growPools(): void {
    const cap = this.capacity * 2;
    this.next = grown(this.next, cap);
    this.addr = grown(this.addr, cap * 4);
    this.v6 = grown(this.v6, cap);
    this.lastUse = grown(this.lastUse, cap);
    this.capacity = cap;
    this.hooks.grow(cap);
  }
}

function word(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** A copy of `a` with room for `n` elements. */
export function grown<T extends Int32Array | Uint32Array | Uint8Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

/**
 * ip_vs_lblc.c / ip_vs_lblcr.c `is_overloaded()`: the cached dest has more active
 * connections than its weight and some dest of the service has fewer than half its weight.
 */
export function localityOverloaded(d: Dest, dests: readonly Dest[]): boolean {
  if (d.activeConns > d.weight) {
    for (let i = 0; i < dests.length; i++) {
      const x = dests[i]!;
      if (x.activeConns * 2 < x.weight) return true;
    }
  }
  return false;
}
