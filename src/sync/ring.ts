/**
 * The hand-over of sync entries from a forwarding worker (the producer) to the main thread
 * (the consumer): a single-producer single-consumer ring in a SharedArrayBuffer, one per
 * worker. The worker writes wire-format entries (src/sync/codec.ts `writeEntry`) into
 * fixed slots on its per-packet path, with no allocation and no message; the main thread
 * drains the ring every few milliseconds and cuts the entries into messages. When the ring
 * is full the entry is dropped and counted (the kernel drops too when its queue passes
 * sync_qlen_max: sb_queue_tail).
 *
 * The same buffer carries the worker's sync counters (Float64, the worker is their only
 * writer; the main thread sums the workers'): {@link WORKER_SYNC_COUNTERS}.
 *
 * Layout: Int32 header [head, tail, dropped, 0] (head and tail count slots written and read;
 * their wrap is harmless: the capacity is a power of two), the counters, then `capacity`
 * slots of SLOT_BYTES, each `[length u16 | 0 u16][entry bytes]`.
 */

/**
 * What a worker counts (stable names: `lvsadm sync`, metrics, docs/sync.md).
 * Master side: `entries_recorded` (connections and templates handed to the main thread),
 * `templates_recorded`, `unsupported_method` (FULLNAT connections: their local address is not
 * in the protocol), `unsupported_family` (TUN connections to a real server of the other family:
 * an entry has one address family). Backup side, per entry applied (ip_vs_proc_conn): `conns_inserted`,
 * `templates_inserted`, `updated`, `replaced` (the connection's real server changed: the old
 * one expired, a new one made), `stale` (an expiry report for a connection already
 * replaced: ignored), `no_service` / `no_dest` (no such service or real server here: not
 * inserted), `dest_method` (the real server's method here cannot take it), `table_full`,
 * `linked` (a connection tied to its persistence template).
 */
export const WORKER_SYNC_COUNTERS = [
  'entries_recorded', 'templates_recorded', 'unsupported_method',
  'conns_inserted', 'templates_inserted', 'updated', 'replaced', 'stale', 'no_service', 'no_dest', 'dest_method', 'table_full',
  'linked', 'unsupported_family',
] as const;
export type WorkerSyncCounter = (typeof WORKER_SYNC_COUNTERS)[number];
/** Index of a counter in SyncRing.counters. */
export function counterIndex(name: WorkerSyncCounter): number {
  return WORKER_SYNC_COUNTERS.indexOf(name);
}
const COUNTER_SLOTS = 32;

/** Bytes of one slot: a length word and the largest entry lvsd writes (IPv6 72 + client MAC option 8). */
export const SLOT_BYTES = 84;
const HEADER_BYTES = 16 + COUNTER_SLOTS * 8;
const H_HEAD = 0;
const H_TAIL = 1;
const H_DROPPED = 2;

/** Bytes a ring of `capacity` slots needs. */
export function ringBytes(capacity: number): number {
  return HEADER_BYTES + capacity * SLOT_BYTES;
}

/** Default slots per worker: 16 384 × 84 B = 1.3 MiB, 0.8 s of entries at 20 000/s between two 20 ms drains many times over. */
export const DEFAULT_RING_SLOTS = 16384;

/** The producer or consumer view of one ring. */
export class SyncRing {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  private readonly mask: number;
  private readonly h: Int32Array;
  /** The worker's sync counters (WORKER_SYNC_COUNTERS order). */
  readonly counters: Float64Array;
  /** The slots' bytes (a DataView for writeEntry, bytes for copying out). */
  readonly dv: DataView;
  readonly bytes: Uint8Array;
  /** Producer side: slots written (local copy of head). */
  private head: number;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    // A power of two, so slot = count & mask stays right when the counts wrap.
    let cap = 1;
    while (cap * 2 * SLOT_BYTES + HEADER_BYTES <= sab.byteLength) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    this.h = new Int32Array(sab, 0, 4);
    this.counters = new Float64Array(sab, 16, COUNTER_SLOTS);
    this.dv = new DataView(sab, HEADER_BYTES);
    this.bytes = new Uint8Array(sab, HEADER_BYTES);
    this.head = Atomics.load(this.h, H_HEAD);
  }

  /** A new ring of `capacity` slots (a power of two). */
  static create(capacity = DEFAULT_RING_SLOTS): SyncRing {
    return new SyncRing(new SharedArrayBuffer(ringBytes(capacity)));
  }

  /**
   * Producer: the byte offset (in `dv`) where the next entry is to be written, or -1 when
   * the ring is full (the entry is dropped and counted). Call `commit(len)` after writing.
   */
  reserve(): number {
    const tail = Atomics.load(this.h, H_TAIL);
    if (((this.head - tail) | 0) >= this.capacity) {
      Atomics.add(this.h, H_DROPPED, 1);
      return -1;
    }
    return (this.head & this.mask) * SLOT_BYTES + 4;
  }

  /** Producer: publishes the entry written at the last reserve() (its length in bytes). */
  commit(len: number): void {
    const at = (this.head & this.mask) * SLOT_BYTES;
    this.dv.setUint16(at, len);
    this.head = (this.head + 1) | 0;
    Atomics.store(this.h, H_HEAD, this.head);
  }

  /** Entries dropped because the ring was full. */
  get dropped(): number {
    return Atomics.load(this.h, H_DROPPED);
  }

  /** Consumer: entries waiting. */
  get pending(): number {
    return (Atomics.load(this.h, H_HEAD) - Atomics.load(this.h, H_TAIL)) | 0;
  }

  /**
   * Consumer: calls fn(bytes, offset, length) for each waiting entry, in order, at most
   * `max` of them, then frees their slots. Returns how many were read.
   */
  drain(fn: (bytes: Uint8Array, offset: number, length: number) => void, max = Infinity): number {
    const head = Atomics.load(this.h, H_HEAD);
    let tail = Atomics.load(this.h, H_TAIL);
    let n = 0;
    while (tail !== head && n < max) {
      const at = (tail & this.mask) * SLOT_BYTES;
      const len = this.dv.getUint16(at);
      if (len > 0 && len <= SLOT_BYTES - 4) fn(this.bytes, at + 4, len);
      tail = (tail + 1) | 0;
      n++;
    }
    Atomics.store(this.h, H_TAIL, tail);
    return n;
  }
}
