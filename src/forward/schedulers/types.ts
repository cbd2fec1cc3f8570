/**
 * The scheduler contract of the forwarding core (IPVS `struct ip_vs_scheduler`, see
 * dpvs include/ipvs/sched.h). A scheduler is a small module registered by name in
 * ./index.ts; the pipeline calls `pick()` once per NEW connection (never per packet).
 */
import type { SchedulerFlags, SchedulerName } from '../../model/types.js';

/**
 * A real server as the scheduler sees it. The connection table owns the counters and
 * updates them in place; the scheduler only reads them.
 */
export interface Dest {
  /**
   * Position in the service's dest list (config order). Schedulers do not break ties by it:
   * they walk the kernel's list order, newest dest first (see ./dest-list.ts).
   */
  readonly index: number;
  /** Model key `ip:port`. */
  readonly key: string;
  /** IPv4 address as uint32 (0 for IPv6 dests). */
  readonly addr4: number;
  /** IPv6 address bytes (null for IPv4 dests). */
  readonly addr6: Uint8Array | null;
  readonly port: number;
  /** Current effective weight (config weight, health, misc_dynamic); 0 = quiesced: no new connections. */
  weight: number;
  /** Connections in ESTABLISHED (IPVS activeconns). */
  activeConns: number;
  /** Connections in any other state (IPVS inactconns). */
  inactiveConns: number;
  /** Persistence templates pointing here (IPVS persistconns). */
  persistConns: number;
  /** Upper threshold reached (IP_VS_DEST_F_OVERLOAD): no new connections until below the lower one. */
  overloaded: boolean;
}

/** What a scheduler may hash or inspect about a new flow. */
export interface FlowKey {
  readonly family: 'ipv4' | 'ipv6';
  /** Client address as uint32 (IPv4) — 0 for IPv6. */
  readonly srcAddr4: number;
  /** Client address bytes (IPv6) — null for IPv4. */
  readonly srcAddr6: Uint8Array | null;
  readonly srcPort: number;
  /** Destination (virtual) address as uint32 (IPv4) — 0 for IPv6. */
  readonly dstAddr4: number;
  readonly dstAddr6: Uint8Array | null;
  readonly dstPort: number;
  /** IP protocol number (6 tcp, 17 udp). */
  readonly proto: number;
}

/** Options every scheduler factory receives. */
export interface SchedulerOptions {
  readonly flags: SchedulerFlags;
  /** Uniform random in [0,1): injected so `twos` is testable. */
  readonly random: () => number;
}

/** One scheduler instance, owned by one virtual service in one worker. */
export interface Scheduler {
  readonly name: SchedulerName;
  /**
   * Called when the dest list, a weight or availability changed (not on counter changes).
   * Schedulers with tables (wrr, sh, dh, mh, lblc, lblcr) rebuild them here.
   */
  update(dests: readonly Dest[]): void;
  /** Picks a dest for a new flow at time nowMs, or null when none may take it. */
  pick(flow: FlowKey, nowMs: number): Dest | null;
  /**
   * What `pick()` would return now, changing no state (rr/wrr positions, lblc/lblcr caches,
   * twos randomness stay as they were): for `lvsadm trace`, which must not disturb traffic.
   */
  peek(flow: FlowKey, nowMs: number): Dest | null;
}

/** A registered scheduler module. */
export interface SchedulerModule {
  readonly name: SchedulerName;
  /** One line for docs and `lvsadm trace`. */
  readonly describe: string;
  create(opts: SchedulerOptions): Scheduler;
}
