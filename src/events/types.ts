/**
 * The typed events every subsystem emits (ARCHITECTURE D9). One discriminated union on
 * `type`; field names here are camelCase, the log sink maps them to stable snake_case.
 * Add new events here, then teach the log sink (src/events/log-sink.ts) their level.
 */

/** VRRP states as keepalived names them. */
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** Connection sync roles (`sync.role`). */
export type SyncRoleName = 'off' | 'master' | 'backup' | 'master+backup';

/** Why a VRRP instance changed state. */
export type VrrpReason =
  | 'startup'
  | 'priority_owner'
  | 'master_down_timer'
  | 'higher_priority_advert'
  | 'priority_zero'
  | 'preempt'
  | 'tracker'
  | 'tracker_recovered'
  | 'sync_group'
  | 'shutdown';

/** A check outcome reason code (`ok` when the check passed). */
export type CheckReason =
  | 'ok' | 'timeout' | 'refused' | 'reset' | 'unreachable' | 'status' | 'digest_mismatch'
  | 'tls_error' | 'body_too_large' | 'script_exit' | 'script_signal' | 'script_timeout'
  | 'error'
  /** A reload changed a real server's checkers and with them its state (real.up/real.down only). */
  | 'config';

/** Why a real server's weight changed (`real.weight`). */
export type WeightReason =
  /** A misc_dynamic MISC_CHECK exited 2..255: weight = exit status − 2 (check_misc.c). */
  | 'misc_dynamic'
  /** An inhibit_on_failure server went down: kept with weight 0. */
  | 'inhibit_on_failure'
  /** An inhibit_on_failure server came back: its weight is restored. */
  | 'recovered';

/** What moved a service's quorum (`service.quorum`): a check reason, a dynamic weight, or the start. */
export type QuorumCause = CheckReason | 'misc_dynamic' | 'startup';

export type LvsdEvent =
  | { type: 'daemon.started'; version: string; pid: number; configFile: string }
  | { type: 'daemon.stopping'; reason: string }
  | { type: 'daemon.stopped' }
  | {
      type: 'config.applied';
      configFile: string;
      /** 'startup' | 'sighup' | 'control' */
      trigger: string;
      /** Counts of added/removed/changed objects per kind, e.g. { instances: {added:1,...} }. */
      summary: Record<string, { added: number; removed: number; changed: number }>;
      warnings: string[];
    }
  | { type: 'config.rejected'; configFile: string; trigger: string; errors: string[] }
  | {
      /** A reload whose file was good but that a subsystem could not apply: the old config was restored. */
      type: 'config.apply_failed';
      configFile: string;
      trigger: string;
      /** The subsystem whose apply() failed. */
      subsystem: string;
      error: string;
      /** Subsystems moved back to the running config (the failed one first, then in reverse order). */
      rolledBack: string[];
      /** Subsystems that could not be moved back (their state may differ from the running config). */
      rollbackErrors: string[];
    }
  | {
      type: 'vrrp.transition';
      instance: string;
      from: VrrpState;
      to: VrrpState;
      reason: VrrpReason;
      priority: number;
      masterAddress: string | null;
    }
  | { type: 'vrrp.priority'; instance: string; from: number; to: number; reason: string }
  | { type: 'vrrp.tracker'; tracker: string; kind: 'script' | 'interface' | 'file'; up: boolean; detail: string }
  | { type: 'vrrp.sync_group'; group: string; to: VrrpState; reason: VrrpReason; trigger: string }
  /** `instance` null: dropped before demultiplexing (then `interface` names the socket's). */
  | { type: 'vrrp.packet_dropped'; instance: string | null; reason: string; source: string; interface?: string }
  | { type: 'vip.added'; address: string; dev: string; owner: 'core' | 'kernel'; instance: string | null }
  | { type: 'vip.removed'; address: string; dev: string; owner: 'core' | 'kernel'; instance: string | null }
  | {
      type: 'script.result';
      purpose: string;
      command: string;
      exitCode: number | null;
      signal: string | null;
      timedOut: boolean;
      durationMs: number;
    }
  | {
      type: 'check.result';
      service: string;
      real: string;
      checker: string;
      ok: boolean;
      reason: CheckReason;
      detail: string;
      latencyMs: number;
    }
  | { type: 'real.up'; service: string; real: string; checker: string; reason: CheckReason; detail: string; latencyMs: number }
  | { type: 'real.down'; service: string; real: string; checker: string; reason: CheckReason; detail: string; latencyMs: number }
  | {
      type: 'real.weight';
      service: string;
      real: string;
      from: number;
      to: number;
      reason: WeightReason;
      /** The checker whose outcome set the weight (misc_dynamic) or took the server down / up (inhibit). */
      checker: string;
      /** That outcome's detail (`exit 12`, `status 503`). */
      detail: string;
      /** That outcome's latency. */
      latencyMs: number;
      /** The script's exit status when a MISC_CHECK decided (misc_dynamic: the status that set the weight); else null. */
      exitCode: number | null;
    }
  | {
      type: 'service.quorum';
      service: string;
      up: boolean;
      aliveWeight: number;
      quorum: number;
      hysteresis: number;
      sorryServer: string | null;
      /** The real server whose change moved quorum (a reload's weight edit included); null at start and when a reload added or removed servers. */
      real: string | null;
      /** The checker that decided that change; null when no checker did. */
      checker: string | null;
      /** Why: the deciding outcome's reason (`refused`, `ok`, `config` for a reload), `misc_dynamic`, or `startup`. */
      reason: QuorumCause;
      /** Set on the service's first evaluation (start or added by reload): a state, not a change. */
      initial?: boolean;
    }
  | { type: 'forward.started'; workers: number; interfaces: string[]; ring: string }
  | { type: 'forward.stopped'; reason: string }
  | { type: 'forward.error'; message: string }
  /**
   * A forwarding worker thread exited unexpectedly. Workers `restarting` (the crashed one and
   * those after it: the kernel renumbers PACKET_FANOUT members when one leaves) start again
   * after `restartInMs`; their connection tables are lost.
   */
  | { type: 'forward.worker_crashed'; worker: number; reason: string; restartInMs: number; restarting: number[] }
  | { type: 'forward.worker_restarted'; workers: number[]; attempt: number }
  /**
   * Connection sync (docs/sync.md) changed roles: `master` sends this director's
   * connections, `backup` receives the peer's, `master+backup` both (no instance named),
   * `off`. `vrrpState` is the configured instance's state that decided it.
   */
  | {
      type: 'sync.role';
      from: SyncRoleName;
      to: SyncRoleName;
      instance: string | null;
      vrrpState: VrrpState | null;
      reason: 'startup' | 'vrrp' | 'reload' | 'shutdown';
      interface: string;
      group: string;
      port: number;
      syncId: number;
      /** Entries recorded but not yet sent when the master role stopped (dropped, as stop_sync_thread frees them). */
      discarded: number;
    }
  /** Connection sync could not do something (open a socket, send); it retries on the next role change or reload. */
  | { type: 'sync.error'; role: 'master' | 'backup'; message: string }
  | { type: 'control.request'; cmd: string; ok: boolean; code: string | null }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> };

/** The event type names. */
export type LvsdEventType = LvsdEvent['type'];

/** The event of a given type. */
export type EventOf<T extends LvsdEventType> = Extract<LvsdEvent, { type: T }>;
