/**
 * The connection table of one worker: IPVS's `struct ip_vs_conn` as fixed-stride records in
 * one Uint32Array, an open-addressing index (linear probing, backward-shift deletion, no
 * tombstones) in which each connection has two keys — the client's packet tuple
 * (CIP:cport → VIP:vport, "in") and, for NAT, the real server's reply tuple
 * (RIP:rport → CIP:cport, "out"; for FULLNAT RIP:rport → LIP:lport) — so one entry is reachable from both directions
 * (dpvs include/ipvs/conn.h tuplehash[2]). Persistence templates live in the same records,
 * under their own keys. Expiry runs on an ExpiryWheel; nothing here allocates per packet.
 *
 * IPVS accounting lives here too because it must stay consistent with the records: binding a
 * connection to a dest counts it inactive (new connections carry IP_VS_CONN_F_INACTIVE until
 * their first TCP transition into an active state: SYN_SENT, SYN_RECV, SYNACK, ESTABLISHED,
 * proto/tcp.ts TCP_STATE_ACTIVE), templates count in persistConns, the upper/lower thresholds set and
 * clear `overloaded` (ip_vs_conn.c ip_vs_bind_dest / ip_vs_unbind_dest), and a template with
 * controlled connections is not expired but re-armed (ip_vs_conn_expire "expire_later").
 *
 * Memory (measured by bench/forward.ts, `connTableBytesPerEntry`): 92 bytes per record (STRIDE
 * words) + 4 of free list + 12 bytes of wheel links + 8 bytes per index slot × (slots / capacity).
 */
import type { Tuple } from './packet.js';
import { ExpiryWheel } from './expiry-wheel.js';
import type { CoreDest } from './dests.js';
import { overloadAfterBind, overloadAfterUnbind } from './schedulers/dest-load.js';

/** Words per record. */
export const STRIDE = 23;
// Record layout (word offsets).
export const C0 = 0; // client address (template: client address masked by granularity)
export const V0 = 4; // virtual address (fwmark template: fwmark in V0)
export const D0 = 8; // real server address
export const PORTS_CV = 12; // cport << 16 | vport
export const PORTS_D = 13; // dport << 16 | proto << 8 | state
export const FLAGS = 14; // F_* bits (low 16) | ingress interface slot << 16
export const SVC = 15; // service id
export const DEST = 16; // dest id
export const DEADLINE = 17; // expiry tick
export const CONTROL = 18; // connection: template record + 1 (0 none); template: controlled count
export const MAC_HI = 19; // client-side MAC (the MAC the client's frame came from), high 16 bits
export const MAC_LO = 20; // low 32 bits
/**
 * Connection sync (src/sync/, ip_vs_sync_conn): bits 0..15 the client-side packet count
 * (cp->in_pkts, kept modulo sync_period), bits 16..19 the state last reported (cp->old_state).
 */
export const SYNC = 21;
export const LOCAL = 22; // FULLNAT: local address index << 16 | local port (the reply key's destination)

// Flag bits.
export const F_INUSE = 1;
export const F_V6 = 2;
export const F_TEMPLATE = 4;
/** IP_VS_CONN_F_INACTIVE: counted in the dest's inactiveConns. */
export const F_INACTIVE = 8;
/** IP_VS_CONN_F_NOOUTPUT: DR/TUN, no reply seen yet (TCP INPUT-ONLY table). */
export const F_NOOUTPUT = 16;
export const F_IN_HASHED = 32;
export const F_OUT_HASHED = 64;
/** A template invalidated (dest gone): unreachable by lookup, kept until its controls end. */
export const F_INVALID = 128;
/** The real server is IPv6 (TUN may mix families: an IPv4 service with an IPv6 real server, or the reverse). */
export const F_DEST_V6 = 1 << 11;
/** Method code (M_*) in bits 8..10. */
export const F_METHOD_SHIFT = 8;
export const F_METHOD_MASK = 7 << 8;

/** The FULLNAT method code in the flags (M_FNAT << F_METHOD_SHIFT; dests.ts M_FNAT = 3). */
const F_FNAT_BITS = 3 << 8;

/** Direction of a key (which tuple of the record matched). */
export const KEY_IN = 0;
export const KEY_OUT = 1;

const TEMPLATE_SALT = 0x5bd1e995;

/** Options of a ConnTable. */
export interface ConnTableOptions {
  /** Records (connections + templates). */
  readonly capacity: number;
  /** Index slots per record, rounded up to a power of two overall (default 4: load ≤ 0.5 with both keys). */
  readonly slotsPerEntry?: number;
  /** Hash seed (random in production, fixed in tests). */
  readonly seed?: number;
  /** Wheel slots (power of two). */
  readonly wheelSlots?: number;
  /**
   * Allocates the backing memory of the records and the index (zeroed). The worker passes
   * one that maps transparent huge pages (src/io/huge.ts): at 1 M connections the table is
   * 150 MB, and with 4 KiB pages nearly every lookup also misses the TLB (bench/forward.ts).
   */
  readonly alloc?: (bytes: number) => ArrayBuffer;
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return h ^ (h >>> 15);
}

function fin(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  // int32, not uint32: a hash above 2^31 returned from a call that is not inlined would be a
  // heap number (an allocation per connection created or removed: measured 32 bytes per
  // one-packet-scheduled datagram); the index holds hashes as int32 too.
  return h ^ (h >>> 16);
}

/** One worker's connection records, index and expiry wheel. */
export class ConnTable {
  readonly capacity: number;
  /** The records (public for the pipeline's direct reads). */
  readonly e: Uint32Array;
  /** Index: pairs [hash (int32), value] where value = (record << 1 | key) + 1, 0 = empty. */
  private readonly idx: Int32Array;
  private readonly slotMask: number;
  private readonly freeList: Uint32Array;
  private freeTop: number;
  private readonly seed: number;
  readonly wheel: ExpiryWheel;
  /** Dests by id, for accounting (set by the owner). */
  dests: (CoreDest | null)[] = [];
  /** Live connections (not templates). */
  conns = 0;
  /** Live templates. */
  templates = 0;
  /** Template timeouts in ticks by service id (re-arming a template with controls). */
  templateTicks: number[] = [];
  /** FULLNAT local addresses by index, four words each (the LOCAL field refers to them; set by the owner, append-only). */
  lipWords: Uint32Array = new Uint32Array(0);

  constructor(o: ConnTableOptions) {
    const cap = Math.max(1, Math.floor(o.capacity));
    this.capacity = cap;
    this.e = o.alloc ? new Uint32Array(o.alloc(cap * STRIDE * 4)) : new Uint32Array(cap * STRIDE);
    let slots = 1;
    const want = cap * (o.slotsPerEntry ?? 4);
    while (slots < want) slots *= 2;
    this.idx = o.alloc ? new Int32Array(o.alloc(slots * 8)) : new Int32Array(slots * 2);
    this.slotMask = slots - 1;
    this.freeList = new Uint32Array(cap);
    for (let i = 0; i < cap; i++) this.freeList[i] = cap - 1 - i;
    this.freeTop = cap;
    this.seed = (o.seed ?? 0x2545f491) | 0;
    this.wheel = new ExpiryWheel(cap, o.wheelSlots ?? 16384);
  }

  /** Bytes held per record by the table's typed arrays (records + index + wheel + free list). */
  get bytesPerEntry(): number {
    return (this.e.byteLength + this.idx.byteLength + this.freeList.byteLength) / this.capacity + ExpiryWheel.bytesPerItem;
  }

  /** Bytes of the arrays a lookup touches (records and index). */
  get lookupBytes(): number {
    return this.e.byteLength + this.idx.byteLength;
  }

  /** Records in use. */
  get size(): number {
    return this.capacity - this.freeTop;
  }

  // ───────────── hashing ─────────────

  private hashKey(fam: number, proto: number, a0: number, a1: number, a2: number, a3: number, ap: number,
    b0: number, b1: number, b2: number, b3: number, bp: number): number {
    let h = mix(this.seed, (fam << 8) | proto);
    h = mix(h, a0);
    if (fam === 6) { h = mix(h, a1); h = mix(h, a2); h = mix(h, a3); }
    h = mix(h, b0);
    if (fam === 6) { h = mix(h, b1); h = mix(h, b2); h = mix(h, b3); }
    h = mix(h, (ap << 16) | bp);
    return fin(h);
  }

  // Address words go to hashKey() as int32 (`| 0`, same hash: mix() XORs them as int32): a
  // uint32 above 2^31 passed as an argument is a heap number, one allocation per word when the
  // call is not inlined (measured: 48 bytes per one-packet-scheduled datagram before).
  private hashOf(r: number, key: number): number {
    const e = this.e;
    const o = r * STRIDE;
    const fam = e[o + FLAGS]! & F_V6 ? 6 : 4;
    const proto = (e[o + PORTS_D]! >>> 8) & 255;
    const cv = e[o + PORTS_CV]!;
    if (e[o + FLAGS]! & F_TEMPLATE) {
      return (this.hashKey(fam, proto, e[o + C0]! | 0, e[o + C0 + 1]! | 0, e[o + C0 + 2]! | 0, e[o + C0 + 3]! | 0, 0,
        e[o + V0]! | 0, e[o + V0 + 1]! | 0, e[o + V0 + 2]! | 0, e[o + V0 + 3]! | 0, cv & 0xffff) ^ TEMPLATE_SALT);
    }
    if (key === KEY_IN) {
      return this.hashKey(fam, proto, e[o + C0]! | 0, e[o + C0 + 1]! | 0, e[o + C0 + 2]! | 0, e[o + C0 + 3]! | 0, cv >>> 16,
        e[o + V0]! | 0, e[o + V0 + 1]! | 0, e[o + V0 + 2]! | 0, e[o + V0 + 3]! | 0, cv & 0xffff);
    }
    if ((e[o + FLAGS]! & F_METHOD_MASK) === F_FNAT_BITS) {
      const lw = this.lipWords;
      const lo = e[o + LOCAL]!;
      const li = (lo >>> 16) * 4;
      return this.hashKey(fam, proto, e[o + D0]! | 0, e[o + D0 + 1]! | 0, e[o + D0 + 2]! | 0, e[o + D0 + 3]! | 0, e[o + PORTS_D]! >>> 16,
        lw[li]! | 0, lw[li + 1]! | 0, lw[li + 2]! | 0, lw[li + 3]! | 0, lo & 0xffff);
    }
    return this.hashKey(fam, proto, e[o + D0]! | 0, e[o + D0 + 1]! | 0, e[o + D0 + 2]! | 0, e[o + D0 + 3]! | 0, e[o + PORTS_D]! >>> 16,
      e[o + C0]! | 0, e[o + C0 + 1]! | 0, e[o + C0 + 2]! | 0, e[o + C0 + 3]! | 0, cv >>> 16);
  }

  private insertKey(h: number, val: number): void {
    const idx = this.idx;
    let pos = h & this.slotMask;
    while (idx[pos * 2 + 1] !== 0) pos = (pos + 1) & this.slotMask;
    idx[pos * 2] = h;
    idx[pos * 2 + 1] = val;
  }

  private deleteKey(h: number, val: number): void {
    const idx = this.idx;
    const mask = this.slotMask;
    let i = h & mask;
    for (;;) {
      const v = idx[i * 2 + 1]!;
      if (v === 0) return; // not present
      if (v === val) break;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion (Knuth 6.4 algorithm R).
    let j = i;
    for (;;) {
      idx[i * 2 + 1] = 0;
      for (;;) {
        j = (j + 1) & mask;
        if (idx[j * 2 + 1] === 0) return;
        const k = idx[j * 2]! & mask;
        const stays = i <= j ? i < k && k <= j : i < k || k <= j;
        if (!stays) break;
      }
      idx[i * 2] = idx[j * 2]!;
      idx[i * 2 + 1] = idx[j * 2 + 1]!;
      i = j;
    }
  }

  // ───────────── lookups ─────────────

  /**
   * Finds the connection a packet with tuple t belongs to: returns (record << 1 | key) where
   * key is KEY_IN (client → virtual) or KEY_OUT (real → client), or -1.
   */
  lookup(t: Tuple): number {
    const fam = t.fam;
    const h = this.hashKey(fam, t.proto, t.s0 | 0, t.s1 | 0, t.s2 | 0, t.s3 | 0, t.sport, t.d0 | 0, t.d1 | 0, t.d2 | 0, t.d3 | 0, t.dport);
    const idx = this.idx;
    const e = this.e;
    const mask = this.slotMask;
    const famFlag = fam === 6 ? F_V6 : 0;
    let pos = h & mask;
    for (;;) {
      const v = idx[pos * 2 + 1]!;
      if (v === 0) return -1;
      if (idx[pos * 2] === h) {
        const rk = v - 1;
        const o = (rk >>> 1) * STRIDE;
        const fl = e[o + FLAGS]!;
        if ((fl & (F_TEMPLATE | F_V6)) === famFlag && ((e[o + PORTS_D]! >>> 8) & 255) === t.proto) {
          const cv = e[o + PORTS_CV]!;
          if ((rk & 1) === KEY_IN) {
            if (e[o + C0] === t.s0 && e[o + V0] === t.d0 && cv === (((t.sport << 16) | t.dport) >>> 0) &&
              e[o + C0 + 1] === t.s1 && e[o + C0 + 2] === t.s2 && e[o + C0 + 3] === t.s3 &&
              e[o + V0 + 1] === t.d1 && e[o + V0 + 2] === t.d2 && e[o + V0 + 3] === t.d3) return rk;
          } else if ((fl & F_METHOD_MASK) === F_FNAT_BITS) {
            // FULLNAT reply: RIP:rport → LIP:lport.
            const lo = e[o + LOCAL]!;
            const li = (lo >>> 16) * 4;
            const lw = this.lipWords;
            if (e[o + D0] === t.s0 && lw[li] === t.d0 && (lo & 0xffff) === t.dport && (e[o + PORTS_D]! >>> 16) === t.sport &&
              e[o + D0 + 1] === t.s1 && e[o + D0 + 2] === t.s2 && e[o + D0 + 3] === t.s3 &&
              lw[li + 1] === t.d1 && lw[li + 2] === t.d2 && lw[li + 3] === t.d3) return rk;
          } else if (e[o + D0] === t.s0 && e[o + C0] === t.d0 && (cv >>> 16) === t.dport && (e[o + PORTS_D]! >>> 16) === t.sport &&
            e[o + D0 + 1] === t.s1 && e[o + D0 + 2] === t.s2 && e[o + D0 + 3] === t.s3 &&
            e[o + C0 + 1] === t.d1 && e[o + C0 + 2] === t.d2 && e[o + C0 + 3] === t.d3) return rk;
        }
      }
      pos = (pos + 1) & mask;
    }
  }

  /**
   * Whether a FULLNAT connection already uses the reply tuple RIP:rport → LIP:lport (the
   * collision check of the local port allocation, as ip_vs_conn_new's FULLNAT loop does).
   * `lip` is the local address index.
   */
  fnatInUse(fam: number, proto: number, d0: number, d1: number, d2: number, d3: number, rport: number, lip: number, lport: number): boolean {
    const lw = this.lipWords;
    const li = lip * 4;
    const l0 = lw[li]!, l1 = lw[li + 1]!, l2 = lw[li + 2]!, l3 = lw[li + 3]!;
    const h = this.hashKey(fam, proto, d0 | 0, d1 | 0, d2 | 0, d3 | 0, rport, l0 | 0, l1 | 0, l2 | 0, l3 | 0, lport);
    const idx = this.idx;
    const e = this.e;
    const mask = this.slotMask;
    const famFlag = fam === 6 ? F_V6 : 0;
    let pos = h & mask;
    for (;;) {
      const v = idx[pos * 2 + 1]!;
      if (v === 0) return false;
      if (idx[pos * 2] === h && ((v - 1) & 1) === KEY_OUT) {
        const o = ((v - 1) >>> 1) * STRIDE;
        const fl = e[o + FLAGS]!;
        const lo = e[o + LOCAL]!;
        if ((fl & (F_TEMPLATE | F_V6)) === famFlag && (fl & F_METHOD_MASK) === F_FNAT_BITS && ((e[o + PORTS_D]! >>> 8) & 255) === proto &&
          (lo >>> 16) === lip && (lo & 0xffff) === lport && (e[o + PORTS_D]! >>> 16) === rport &&
          e[o + D0] === (d0 >>> 0) && e[o + D0 + 1] === (d1 >>> 0) && e[o + D0 + 2] === (d2 >>> 0) && e[o + D0 + 3] === (d3 >>> 0)) return true;
      }
      pos = (pos + 1) & mask;
    }
  }

  /**
   * Finds a valid persistence template (IPVS ip_vs_ct_in_get): proto (0 for fwmark
   * services), client net, virtual address (or fwmark in word 0), virtual port (0 for
   * port-0 and fwmark services). Returns the record or -1.
   */
  lookupTemplate(fam: number, proto: number, c0: number, c1: number, c2: number, c3: number,
    v0: number, v1: number, v2: number, v3: number, vport: number): number {
    const h = this.hashKey(fam, proto, c0 | 0, c1 | 0, c2 | 0, c3 | 0, 0, v0 | 0, v1 | 0, v2 | 0, v3 | 0, vport) ^ TEMPLATE_SALT;
    const idx = this.idx;
    const e = this.e;
    const mask = this.slotMask;
    const want = F_TEMPLATE | (fam === 6 ? F_V6 : 0);
    let pos = h & mask;
    for (;;) {
      const v = idx[pos * 2 + 1]!;
      if (v === 0) return -1;
      if (idx[pos * 2] === h) {
        const o = ((v - 1) >>> 1) * STRIDE;
        if ((e[o + FLAGS]! & (F_TEMPLATE | F_V6 | F_INVALID)) === want && ((e[o + PORTS_D]! >>> 8) & 255) === proto &&
          e[o + C0] === c0 && e[o + C0 + 1] === c1 && e[o + C0 + 2] === c2 && e[o + C0 + 3] === c3 &&
          e[o + V0] === v0 && e[o + V0 + 1] === v1 && e[o + V0 + 2] === v2 && e[o + V0 + 3] === v3 &&
          (e[o + PORTS_CV]! & 0xffff) === vport) return (v - 1) >>> 1;
      }
      pos = (pos + 1) & mask;
    }
  }

  // ───────────── creation and removal ─────────────

  /** Takes a free record and zeroes it; -1 when the table is full. */
  alloc(): number {
    if (this.freeTop === 0) return -1;
    const r = this.freeList[--this.freeTop]!;
    this.e.fill(0, r * STRIDE, r * STRIDE + STRIDE);
    return r;
  }

  /** Gives back a record taken by alloc() and never committed. */
  unalloc(r: number): void {
    this.e[r * STRIDE + FLAGS] = 0;
    this.freeList[this.freeTop++] = r;
  }

  /**
   * Makes record r a connection: fields, then the in key (and the out key when `hashOut`),
   * dest binding (counted inactive, as IPVS binds with IP_VS_CONN_F_INACTIVE) and a first
   * deadline. The caller has filled the address words, ports, proto, MAC and interface.
   */
  commitConn(r: number, dest: CoreDest, hashOut: boolean, deadline: number): void {
    const e = this.e;
    const o = r * STRIDE;
    e[o + FLAGS] = (e[o + FLAGS]! | F_INUSE | F_INACTIVE | F_IN_HASHED | (hashOut ? F_OUT_HASHED : 0)) >>> 0;
    e[o + DEST] = dest.id;
    e[o + DEADLINE] = deadline;
    this.insertKey(this.hashOf(r, KEY_IN), (r << 1) + 1);
    if (hashOut) this.insertOutKey(r);
    dest.inactiveConns++;
    overloadAfterBind(dest, dest.upperThreshold);
    this.conns++;
    this.wheel.schedule(r, deadline);
  }

  /**
   * Files record r's reply key. Two connections can share a reply tuple: a client that reuses
   * its source port towards another virtual port or address leading to the same real server
   * (Linux picks ephemeral ports per destination) while the first connection lingers in
   * TIME_WAIT. A reply goes to the newest, as in IPVS, where ip_vs_conn_hash adds at the head
   * of the bucket; when the newest ends, the next older one is found again. Linear probing
   * finds the first key of a run, so the new key takes the first twin's slot and each older
   * twin moves one twin slot on (all share the hash, so the index stays valid).
   */
  private insertOutKey(r: number): void {
    const e = this.e;
    const idx = this.idx;
    const mask = this.slotMask;
    const h = this.hashOf(r, KEY_OUT);
    const o = r * STRIDE;
    const fnat = (e[o + FLAGS]! & F_METHOD_MASK) === F_FNAT_BITS;
    let carry = ((r << 1) | 1) + 1;
    let pos = h & mask;
    for (; idx[pos * 2 + 1] !== 0; pos = (pos + 1) & mask) {
      const v = idx[pos * 2 + 1]!;
      if (idx[pos * 2] !== h || ((v - 1) & 1) !== KEY_OUT) continue;
      const p = ((v - 1) >>> 1) * STRIDE;
      if (((e[p + FLAGS]! ^ e[o + FLAGS]!) & (F_V6 | F_METHOD_MASK)) !== 0 || e[p + PORTS_D]! >>> 8 !== e[o + PORTS_D]! >>> 8) continue;
      if (e[p + D0] !== e[o + D0] || e[p + D0 + 1] !== e[o + D0 + 1] || e[p + D0 + 2] !== e[o + D0 + 2] || e[p + D0 + 3] !== e[o + D0 + 3]) continue;
      const twin = fnat
        ? e[p + LOCAL] === e[o + LOCAL]
        : e[p + PORTS_CV]! >>> 16 === e[o + PORTS_CV]! >>> 16 &&
          e[p + C0] === e[o + C0] && e[p + C0 + 1] === e[o + C0 + 1] && e[p + C0 + 2] === e[o + C0 + 2] && e[p + C0 + 3] === e[o + C0 + 3];
      if (!twin) continue;
      idx[pos * 2 + 1] = carry;
      carry = v;
    }
    idx[pos * 2] = h;
    idx[pos * 2 + 1] = carry;
  }

  /** Makes record r a template bound to dest (persistConns++); fields filled by the caller. */
  commitTemplate(r: number, dest: CoreDest, deadline: number): void {
    const e = this.e;
    const o = r * STRIDE;
    e[o + FLAGS] = (e[o + FLAGS]! | F_INUSE | F_TEMPLATE | F_IN_HASHED) >>> 0;
    e[o + DEST] = dest.id;
    e[o + DEADLINE] = deadline;
    e[o + CONTROL] = 0;
    this.insertKey(this.hashOf(r, KEY_IN), (r << 1) + 1);
    dest.persistConns++;
    this.templates++;
    this.wheel.schedule(r, deadline);
  }

  /** Sets a record's deadline (every packet); re-files it on the wheel only when it moved earlier. */
  touch(r: number, deadline: number): void {
    const o = r * STRIDE + DEADLINE;
    const old = this.e[o]!;
    this.e[o] = deadline;
    if (deadline < old) this.wheel.reschedule(r, deadline);
  }

  /** Makes connection r controlled by template tr (ip_vs_control_add). */
  control(r: number, tr: number): void {
    this.e[r * STRIDE + CONTROL] = tr + 1;
    this.e[tr * STRIDE + CONTROL]!++;
  }

  /** Invalidates a template (its dest is gone): no longer found, kept while it controls connections. */
  invalidateTemplate(tr: number, now: number): void {
    const o = tr * STRIDE;
    if (this.e[o + FLAGS]! & F_INVALID) return;
    this.deleteKey(this.hashOf(tr, KEY_IN), (tr << 1) + 1);
    this.e[o + FLAGS] = (this.e[o + FLAGS]! & ~F_IN_HASHED) | F_INVALID;
    this.touch(tr, now);
  }

  /** Expires record r now (ip_vs_conn_expire_now): it goes on the next advance(). */
  expireNow(r: number, now: number): void {
    this.touch(r, now);
  }

  /**
   * Removes record r at once (unhash, unbind, free), whatever its deadline. A template with
   * controlled connections is not removed (returns false).
   */
  remove(r: number): boolean {
    const e = this.e;
    const o = r * STRIDE;
    const fl = e[o + FLAGS]!;
    if (!(fl & F_INUSE)) return false;
    if (fl & F_TEMPLATE && e[o + CONTROL]! > 0) return false;
    if (fl & F_IN_HASHED) this.deleteKey(this.hashOf(r, KEY_IN), (r << 1) + 1);
    if (fl & F_OUT_HASHED) this.deleteKey(this.hashOf(r, KEY_OUT), ((r << 1) | 1) + 1);
    this.wheel.unlink(r);
    const dest = this.dests[e[o + DEST]!];
    if (fl & F_TEMPLATE) {
      this.templates--;
      if (dest) dest.persistConns--;
    } else {
      this.conns--;
      const ct = e[o + CONTROL]!;
      if (ct > 0) {
        const to = (ct - 1) * STRIDE + CONTROL;
        if (e[to]! > 0) e[to]!--;
      }
      if (dest) {
        if (fl & F_INACTIVE) dest.inactiveConns--;
        else dest.activeConns--;
        overloadAfterUnbind(dest, dest.upperThreshold, dest.lowerThreshold);
      }
    }
    e[o + FLAGS] = 0;
    this.freeList[this.freeTop++] = r;
    return true;
  }

  /**
   * Runs expiry up to tick `now`. Templates still controlling connections are re-armed
   * with their service's template timeout. `onExpire(r)` is called before a record is freed.
   */
  advance(now: number, onExpire?: (r: number) => void): number {
    return this.wheel.advance(now, (r) => this.e[r * STRIDE + DEADLINE]!, (r) => {
      const o = r * STRIDE;
      if (this.e[o + FLAGS]! & F_TEMPLATE && this.e[o + CONTROL]! > 0) {
        const dl = now + (this.templateTicks[this.e[o + SVC]!] ?? 600);
        this.e[o + DEADLINE] = dl;
        this.wheel.schedule(r, dl);
        return;
      }
      if (onExpire) onExpire(r);
      this.remove(r);
    });
  }

  /** Calls fn for every record in use (control commands; not the hot path). */
  forEach(fn: (r: number) => void): void {
    const e = this.e;
    for (let r = 0; r < this.capacity; r++) if (e[r * STRIDE + FLAGS]! & F_INUSE) fn(r);
  }
}
