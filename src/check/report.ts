/**
 * Shapes of the health state the check subsystem exposes: `health()` for the forwarding
 * core, `quorum()` per service, and the `checks` control command's result (JSON, what
 * `lvsadm checks --json` prints and `formatChecks` renders).
 */
import type { CheckReason } from '../events/types.js';

/** One real server as the forwarding core should use it. */
export interface RealHealth {
  /** Virtual server key. */
  readonly service: string;
  /** Real server key (`ip:port`). */
  readonly real: string;
  /** Every checker is up. */
  readonly up: boolean;
  /**
   * Weight to schedule with: the `misc_dynamic` weight or the configured one while up;
   * 0 while down.
   */
  readonly weight: number;
  /**
   * Stays a destination: up, or down with `inhibit_on_failure` (kept with weight 0 so
   * its connections live on). false = remove it.
   */
  readonly inPool: boolean;
}

/** One service's quorum (keepalived ipwrapper.c update_quorum_state). */
export interface ServiceHealth {
  readonly service: string;
  readonly quorumUp: boolean;
  /** Sum of alive real servers' weights. */
  readonly aliveWeight: number;
  readonly quorum: number;
  readonly hysteresis: number;
  /**
   * `ip:port` of the sorry server while it stands in (quorum lost and one is configured):
   * the service then sends new connections to it alone. null otherwise.
   */
  readonly sorryServer: string | null;
  /** ha_suspend in force (the owning VRRP instance is not MASTER): checks paused. */
  readonly suspended: boolean;
}

/** One checker in `lvsadm checks`. */
export interface CheckerReport {
  readonly checker: string;
  readonly kind: 'tcp' | 'http' | 'ssl' | 'misc';
  /** `ip:port` checked. */
  readonly target: string;
  readonly up: boolean;
  /** No check has completed yet. */
  readonly pending: boolean;
  readonly suspended: boolean;
  /** Last attempt: null before the first. */
  readonly lastOk: boolean | null;
  readonly reason: CheckReason | null;
  readonly detail: string;
  readonly latencyMs: number | null;
  /** Milliseconds since the last attempt ended (null before the first). */
  readonly lastAgoMs: number | null;
  /** Milliseconds since `up` last changed. */
  readonly sinceMs: number;
  readonly consecutiveOk: number;
  readonly consecutiveFail: number;
  /** Failed attempts in the check now under way (retries used). */
  readonly retries: number;
  readonly attempts: number;
  readonly failures: number;
}

/** One real server in `lvsadm checks`. */
export interface RealReport {
  readonly real: string;
  readonly up: boolean;
  readonly weight: number;
  readonly configuredWeight: number;
  readonly inPool: boolean;
  readonly inhibitOnFailure: boolean;
  readonly sinceMs: number;
  readonly checkers: readonly CheckerReport[];
}

/** One service in `lvsadm checks`. */
export interface ServiceReport extends ServiceHealth {
  readonly reals: readonly RealReport[];
}

/** The `checks` control command's result. */
export interface ChecksReport {
  readonly services: readonly ServiceReport[];
}
