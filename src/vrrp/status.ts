/**
 * The result of the `vrrp` control command (`lvsadm vrrp [--json]`): every instance's
 * state, priorities, master, VIPs, counters and trackers, the sync groups and the
 * sockets. JSON-serialisable; src/cli/format/vrrp.ts prints it for people.
 */
import type { VrrpReason, VrrpState } from '../events/types.js';
import type { VipOwner } from '../model/types.js';
import type { VrrpCounters } from './instance.js';
import type { ChannelDropReason } from './packet.js';

/** One tracker as it applies to one instance. */
export interface VrrpTrackerStatus {
  /** `script:NAME`, `interface:IF`, `file:NAME` or `address`. */
  readonly name: string;
  readonly kind: 'script' | 'interface' | 'file' | 'address';
  /** true up, false down, null not known yet. */
  readonly up: boolean | null;
  readonly weight: number;
  readonly weightReverse: boolean;
  /** What it does to the instance now. */
  readonly effect: 'fault' | 'pending' | 'none' | 'priority';
  readonly delta: number;
  readonly detail: string;
}

/** One instance. */
export interface VrrpInstanceStatus {
  readonly name: string;
  readonly state: VrrpState;
  readonly wantState: string;
  readonly interface: string;
  readonly vrid: number;
  readonly version: 2 | 3;
  readonly family: 'ipv4' | 'ipv6';
  /** Unicast peers; empty = multicast. */
  readonly unicastPeers: readonly string[];
  readonly localAddress: string | null;
  readonly configuredPriority: number;
  readonly basePriority: number;
  readonly effectivePriority: number;
  readonly masterAddress: string | null;
  readonly masterPriority: number | null;
  readonly advertIntervalMs: number;
  readonly masterAdverIntervalMs: number;
  readonly preempt: boolean;
  readonly preemptDelayMs: number;
  readonly syncGroup: string | null;
  readonly vips: ReadonlyArray<{ readonly address: string; readonly prefixLen: number; readonly dev: string; readonly owner: VipOwner; readonly excluded: boolean }>;
  readonly vipsSet: boolean;
  readonly lastTransition: { readonly from: VrrpState; readonly to: VrrpState; readonly reason: VrrpReason; readonly agoMs: number } | null;
  /** BACKUP: time left before Master_Down_Timer fires. */
  readonly masterDownInMs: number | null;
  readonly counters: VrrpCounters;
  readonly trackers: readonly VrrpTrackerStatus[];
}

/** One sync group. */
export interface VrrpGroupStatus {
  readonly name: string;
  readonly state: VrrpState;
  readonly members: readonly string[];
}

/** One VRRP socket (one per family and interface). */
export interface VrrpChannelStatus {
  readonly family: 'ipv4' | 'ipv6';
  readonly interface: string;
  readonly multicastGroup: string | null;
  readonly open: boolean;
  readonly instances: readonly string[];
  /**
   * Packets dropped before they reached an instance: `truncated` (IP packet or VRRP header
   * cut short), `bad_ip_header` (IP layer unparsable), `unknown_vrid` (no instance here has
   * that VRID; keepalived ignores them too).
   */
  readonly drops: Readonly<Record<ChannelDropReason, number>>;
}

/** The whole `vrrp` command result. */
export interface VrrpStatus {
  readonly instances: readonly VrrpInstanceStatus[];
  readonly syncGroups: readonly VrrpGroupStatus[];
  readonly channels: readonly VrrpChannelStatus[];
}
