/**
 * Counters shared between forwarding workers (writers) and the main thread (reader) in one
 * SharedArrayBuffer (ARCHITECTURE D5). Each worker owns one region and is its only writer,
 * so plain Float64 stores suffice (no Atomics on the hot path); the main thread sums the
 * regions. Float64 counts exactly up to 2^53.
 *
 * Region layout (Float64 indexes): `svcSlots` service rows, then `destSlots` real-server
 * rows, each STAT_STRIDE wide, then the global counters (PARSE_REASONS, then GLOBAL_COUNTERS).
 */
import { PARSE_REASONS } from './packet.js';

/** Columns of a service or real-server row. */
export const S_CONNS = 0;
export const S_INPKTS = 1;
export const S_OUTPKTS = 2;
export const S_INBYTES = 3;
export const S_OUTBYTES = 4;
/** Gauges written by the worker after each batch (real servers; services hold their sums). */
export const S_ACTIVE = 5;
export const S_INACTIVE = 6;
export const S_PERSIST = 7;
export const STAT_STRIDE = 8;

/** Pipeline outcome counters, after the parse reasons (stable names: metrics and docs use them). */
export const GLOBAL_COUNTERS = [
  'frames', 'forwarded_in', 'forwarded_out', 'ignored', 'other_host',
  'no_service', 'no_conn', 'no_dest', 'no_neighbour', 'no_egress', 'table_full', 'scratch_full',
  'nodest_expired', 'conn_reused', 'icmp_no_conn', 'icmp_relayed', 'icmp_bad_checksum', 'icmp_rate_limited', 'vlan_cross_if',
  'arp_replies', 'echo_replies', 'nd_adverts', 'rsts_sent', 'unreach_sent', 'conns_created', 'conns_expired',
  'templates_created',
  // TUN (xmit/tun.ts): generated ICMP errors (fragmentation needed / packet too big, time
  // exceeded), GSO super-frames segmented in software and the segments they gave, outer
  // packets fragmented (DF clear) and the fragments, frames the tunnel could not carry
  // (GSO kind unsupported, egress MTU below the minimum, no room to build the frame).
  'frag_needed_sent', 'ttl_exceeded_sent', 'gso_segmented', 'gso_segments', 'tun_fragmented', 'tun_fragments',
  'gso_unsupported', 'tun_mtu_too_small', 'tun_no_room',
  // ICMP errors routers sent about the outer packets, relayed to the clients (ip_vs_in_icmp's tunnel case).
  'tun_icmp_relayed',
  // Frames not forwarded because their TTL / hop limit ran out at the director (decrement_ttl;
  // client packets also get a time exceeded, counted ttl_exceeded_sent when it is sent).
  'ttl_expired',
  // FULLNAT: a new connection found no free local port (every local address tried).
  'no_local_port',
  // I/O of the worker (worker.ts): wake-ups from epoll, receive calls that returned frames,
  // frames the kernel dropped because the socket or ring was full (PACKET_STATISTICS), frames
  // sendmmsg did not take after retries.
  'wakeups', 'rx_batches', 'rx_kernel_drops', 'tx_short',
  // A reply on a synced connection whose client MAC is not known yet (src/sync/): dropped; the
  // client's next packet gives it (learnt).
  'no_client_mac', 'client_mac_learnt',
] as const;
export type GlobalCounter = (typeof GLOBAL_COUNTERS)[number];

/** Index of a global counter within a region's global block. */
export function gIndex(name: GlobalCounter): number {
  return PARSE_REASONS.length + GLOBAL_COUNTERS.indexOf(name);
}

/** Number of Float64s in the global block. */
export const GLOBAL_WIDTH = PARSE_REASONS.length + GLOBAL_COUNTERS.length;

/** Geometry of the shared counters. */
export interface StatsLayout {
  readonly workers: number;
  readonly svcSlots: number;
  readonly destSlots: number;
}

/** Float64s per worker region. */
export function regionWidth(l: StatsLayout): number {
  return (l.svcSlots + l.destSlots) * STAT_STRIDE + GLOBAL_WIDTH;
}

/** Allocates the shared buffer for a layout. */
export function allocStats(l: StatsLayout): SharedArrayBuffer {
  return new SharedArrayBuffer(regionWidth(l) * l.workers * 8);
}

/** One worker's views into its region. */
export interface StatsRegion {
  readonly svc: Float64Array;
  readonly dest: Float64Array;
  readonly global: Float64Array;
}

/** Views of worker w's region (works on a plain ArrayBuffer too, for tests). */
export function statsRegion(buf: ArrayBufferLike, l: StatsLayout, w: number): StatsRegion {
  const base = regionWidth(l) * w;
  return {
    svc: new Float64Array(buf, base * 8, l.svcSlots * STAT_STRIDE),
    dest: new Float64Array(buf, (base + l.svcSlots * STAT_STRIDE) * 8, l.destSlots * STAT_STRIDE),
    global: new Float64Array(buf, (base + (l.svcSlots + l.destSlots) * STAT_STRIDE) * 8, GLOBAL_WIDTH),
  };
}

/** A standalone region (unit tests, trace). */
export function localStats(svcSlots = 64, destSlots = 256): StatsRegion {
  const l = { workers: 1, svcSlots, destSlots };
  return statsRegion(new ArrayBuffer(regionWidth(l) * 8), l, 0);
}

/** Counters summed over every worker: row values and global counters by name. */
export interface StatsTotals {
  row(kind: 'svc' | 'dest', slot: number): number[];
  global(): Record<string, number>;
}

/** Sums the regions of every worker (main thread). */
export function sumStats(buf: SharedArrayBuffer, l: StatsLayout): StatsTotals {
  const regions = Array.from({ length: l.workers }, (_, w) => statsRegion(buf, l, w));
  return {
    row(kind, slot) {
      const out = new Array<number>(STAT_STRIDE).fill(0);
      for (const r of regions) {
        const a = kind === 'svc' ? r.svc : r.dest;
        for (let i = 0; i < STAT_STRIDE; i++) out[i]! += a[slot * STAT_STRIDE + i]!;
      }
      return out;
    },
    global() {
      const out: Record<string, number> = {};
      PARSE_REASONS.forEach((n, i) => { out[n] = regions.reduce((s, r) => s + r.global[i]!, 0); });
      GLOBAL_COUNTERS.forEach((n, i) => { out[n] = regions.reduce((s, r) => s + r.global[PARSE_REASONS.length + i]!, 0); });
      return out;
    },
  };
}
