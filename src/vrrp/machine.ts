/**
 * The VRRP state machine of one instance: a pure `step(state, input) → { state, effects }`.
 *
 * Rules: RFC 5798 §6 (Initialize, Backup, Master), RFC 3768 §6 for the v2 skew, and the
 * behaviour keepalived adds and users rely on (keepalived/vrrp/vrrp.c, vrrp_scheduler.c,
 * vrrp_track.c): FAULT and STOP states, trackers with weights, preempt_delay, a MASTER
 * that answers a lower-priority advert with its own advert and gratuitous ARPs (heals a
 * split brain), priority-0 adverts on shutdown and on FAULT.
 *
 * No clock reads, no timers, no sockets: time arrives in every input as `nowMs`; timers
 * are armed and cancelled through effects and come back as `timer` inputs. The driver
 * (src/vrrp/instance.ts) executes the effects in order.
 */
import type { GarpSettings } from '../model/types.js';
import type { VrrpReason, VrrpState } from '../events/types.js';
import { compareAddresses } from './packet.js';

/** Timers one instance uses. */
export type TimerName =
  /** MASTER: Adver_Timer (RFC 5798 §6.2). */
  | 'adver'
  /** BACKUP: Master_Down_Timer (RFC 5798 §6.2). */
  | 'master_down'
  /** MASTER: second burst of gratuitous ARPs (`garp_master_delay`). */
  | 'garp_delay'
  /** MASTER: periodic gratuitous ARPs (`garp_master_refresh`). */
  | 'garp_refresh'
  /** MASTER: second burst after a lower-priority advert (`garp_lower_prio_delay`). */
  | 'garp_lower_prio';

/** The states a transition can lead to that have notify scripts. */
export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

/** What the driver must do. Executed in order. */
export type MachineEffect =
  | { readonly kind: 'send_advert'; readonly priority: number }
  | { readonly kind: 'arm'; readonly timer: TimerName; readonly atMs: number }
  | { readonly kind: 'cancel'; readonly timer: TimerName }
  /** Add (MASTER) or remove the instance's VIPs (kernel addresses or core claims). */
  | { readonly kind: 'vips'; readonly op: 'add' | 'remove' }
  /** Gratuitous ARPs / unsolicited NAs for every VIP, `repeat` rounds. */
  | { readonly kind: 'garp'; readonly repeat: number; readonly cause: 'master' | 'master_delay' | 'refresh' | 'lower_prio' | 'lower_prio_delay' }
  | { readonly kind: 'transition'; readonly from: VrrpState; readonly to: VrrpState; readonly reason: VrrpReason }
  /** Run notify_<state>, the generic notify and write the FIFO line. */
  | { readonly kind: 'notify'; readonly state: NotifyState }
  /** keepalived's MASTER_RX_LOWER_PRI event (notify_master_rx_lower_pri, FIFO). */
  | { readonly kind: 'notify_event'; readonly event: 'MASTER_RX_LOWER_PRI' }
  | { readonly kind: 'priority'; readonly from: number; readonly to: number; readonly reason: string }
  | { readonly kind: 'warning'; readonly code: 'same_address' | 'owner_conflict'; readonly message: string };

/** The static part of an instance the machine needs (a projection of the model's VrrpInstance). */
export interface MachineConfig {
  readonly name: string;
  readonly vrid: number;
  readonly version: 2 | 3;
  /** Base priority 1..255. */
  readonly priority: number;
  readonly advertIntervalMs: number;
  readonly initialState: 'MASTER' | 'BACKUP';
  readonly preempt: boolean;
  readonly preemptDelayMs: number;
  readonly garp: GarpSettings;
  /** keepalived `lower_prio_no_advert` (on in strict mode): don't answer a lower-priority advert. */
  readonly lowerPrioNoAdvert: boolean;
  /** keepalived `higher_prio_send_advert` (off in strict mode): send one advert before yielding to a higher priority. */
  readonly higherPrioSendAdvert?: boolean;
}

/** What one tracker currently says about this instance. */
export interface TrackerStatus {
  /** A weight-0 tracker that failed: the instance is out of service (FAULT). */
  readonly fault: boolean;
  /** A weight-0 tracker that has not reported yet: out of service, silently (keepalived's init state). */
  readonly pending: boolean;
  /** Added to the base priority (0 when the tracker has no say now). */
  readonly delta: number;
}

/** The state of one instance. Treat as immutable. */
export interface MachineState {
  readonly cfg: MachineConfig;
  readonly state: VrrpState;
  /** The state wanted regardless of the sync group (keepalived `wantstate`). */
  readonly wantState: 'BACKUP' | 'MASTER' | 'FAULT';
  /** Base priority in force (the configured one, or 254 after an owner conflict). */
  readonly basePriority: number;
  readonly effectivePriority: number;
  readonly trackers: Readonly<Record<string, TrackerStatus>>;
  /** Master_Adver_Interval (RFC 5798 §6.1): learned from the master's adverts in v3. */
  readonly masterAdverIntervalMs: number;
  readonly masterAddress: string | null;
  readonly masterPriority: number | null;
  /** This instance's source address (primary address or unicast_src_ip); breaks priority ties. */
  readonly localAddress: string | null;
  /** preempt_delay: lower-priority adverts are honoured until this time (keepalived preempt_time). */
  readonly preemptUntilMs: number | null;
  /** The down interval last armed (keepalived ms_down_timer). */
  readonly downIntervalMs: number;
  /** When Master_Down_Timer fires (BACKUP), else null. */
  readonly downAtMs: number | null;
  /** Why this instance would become MASTER if the down timer fired now. */
  readonly nextMasterReason: VrrpReason;
  /** VIPs are installed. */
  readonly vipsSet: boolean;
  /** `start` was received (an instance waiting in INIT for its scripts' first results has started). */
  readonly started: boolean;
}

/** A validated advert, as the machine needs it. */
export interface AdvertInput {
  readonly from: string;
  readonly priority: number;
  readonly advertIntervalMs: number;
}

/** Everything that can happen to an instance. */
export type MachineInput =
  | { readonly kind: 'start'; readonly nowMs: number }
  | ({ readonly kind: 'advert'; readonly nowMs: number } & AdvertInput)
  | { readonly kind: 'timer'; readonly nowMs: number; readonly timer: TimerName }
  | { readonly kind: 'tracker'; readonly nowMs: number; readonly name: string; readonly status: TrackerStatus | null }
  | { readonly kind: 'sync'; readonly nowMs: number; readonly to: 'MASTER' | 'BACKUP' | 'FAULT' }
  | { readonly kind: 'shutdown'; readonly nowMs: number }
  | { readonly kind: 'reconfigure'; readonly nowMs: number; readonly cfg: MachineConfig }
  | { readonly kind: 'local_address'; readonly nowMs: number; readonly address: string | null };

/** Facts about the instance's sync group the machine cannot know alone (src/vrrp/sync-group.ts). */
export interface StepContext {
  /** May this instance become MASTER now: not in a group, the group is MASTER, or every other member wants MASTER. */
  readonly syncCanGoMaster: boolean;
  /** Another member of the group is out of service by its own fault, so this one stays in FAULT. */
  readonly syncOthersFaulted: boolean;
}

/** The context of an instance outside any sync group. */
export const SOLO: StepContext = { syncCanGoMaster: true, syncOthersFaulted: false };

/** Result of a step. */
export interface StepResult {
  readonly state: MachineState;
  readonly effects: readonly MachineEffect[];
}

/** The address owner's priority (RFC 5798 §5.2.4). */
export const PRIORITY_OWNER = 255;

// ───────────────────────────── timing ─────────────────────────────

/**
 * Skew_Time in ms. v2: (256 − Priority) / 256 s (RFC 3768 §6.1). v3: ((256 − Priority) ×
 * Master_Adver_Interval) / 256 (RFC 5798 §6.1), computed in whole microseconds from the
 * interval in centiseconds exactly as keepalived's VRRP_TIMER_SKEW does.
 */
export function skewMs(version: 2 | 3, priority: number, masterAdverIntervalMs: number): number {
  if (version === 2) return Math.floor(((256 - priority) * 1_000_000) / 256) / 1000;
  const cs = Math.floor(masterAdverIntervalMs / 10);
  return Math.floor(((256 - priority) * cs * 625) / 16) / 1000;
}

/** Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time (RFC 5798 §6.1). */
export function masterDownIntervalMs(version: 2 | 3, priority: number, masterAdverIntervalMs: number): number {
  return 3 * masterAdverIntervalMs + skewMs(version, priority, masterAdverIntervalMs);
}

/** The smallest skew (priority 255), keepalived VRRP_TIMER_SKEW_MIN. */
function skewMinMs(version: 2 | 3, masterAdverIntervalMs: number): number {
  return skewMs(version, 255, masterAdverIntervalMs);
}

// ───────────────────────────── priority ─────────────────────────────

/**
 * Effective priority = base + tracker deltas, clamped to 1..254; the address owner (base
 * 255) is never changed by trackers (keepalived vrrp_track.c vrrp_set_effective_priority).
 */
export function effectivePriority(base: number, trackers: Readonly<Record<string, TrackerStatus>>): number {
  if (base === PRIORITY_OWNER) return PRIORITY_OWNER;
  let total = base;
  for (const t of Object.values(trackers)) total += t.delta;
  return total < 1 ? 1 : total >= PRIORITY_OWNER ? PRIORITY_OWNER - 1 : total;
}

function anyFault(t: Readonly<Record<string, TrackerStatus>>): boolean {
  for (const x of Object.values(t)) if (x.fault) return true;
  return false;
}

function anyPending(t: Readonly<Record<string, TrackerStatus>>): boolean {
  for (const x of Object.values(t)) if (x.pending) return true;
  return false;
}

/** True when a tracker holds the instance out of service (fault or not yet reported). */
export function isOutOfService(s: MachineState): boolean {
  return anyFault(s.trackers) || anyPending(s.trackers);
}

/** True when the instance is faulted by one of its own trackers (not by its sync group). */
export function hasOwnFault(s: MachineState): boolean {
  return anyFault(s.trackers);
}

/**
 * keepalived `skip_check_adv_addr`: the address list of an advert is judged unless the
 * option is on and the advert comes from the master already known (vrrp.c vrrp_state_backup).
 */
export function shouldCheckAddrList(s: MachineState, from: string, skipCheckAdvAddr: boolean): boolean {
  return !skipCheckAdvAddr || s.masterAddress !== from;
}

// ───────────────────────────── construction ─────────────────────────────

/** A new instance in INIT, before `start`. */
export function initialMachineState(cfg: MachineConfig, trackers: Readonly<Record<string, TrackerStatus>> = {}, localAddress: string | null = null): MachineState {
  return {
    cfg,
    state: 'INIT',
    wantState: cfg.priority === PRIORITY_OWNER || cfg.initialState === 'MASTER' ? 'MASTER' : 'BACKUP',
    basePriority: cfg.priority,
    effectivePriority: effectivePriority(cfg.priority, trackers),
    trackers,
    masterAdverIntervalMs: cfg.advertIntervalMs,
    masterAddress: null,
    masterPriority: null,
    localAddress,
    preemptUntilMs: null,
    downIntervalMs: masterDownIntervalMs(cfg.version, effectivePriority(cfg.priority, trackers), cfg.advertIntervalMs),
    downAtMs: null,
    nextMasterReason: 'master_down_timer',
    vipsSet: false,
    started: false,
  };
}

// ───────────────────────────── building blocks ─────────────────────────────

type Out = MachineEffect[];

const MASTER_TIMERS: readonly TimerName[] = ['adver', 'garp_delay', 'garp_refresh', 'garp_lower_prio'];

function transition(out: Out, from: VrrpState, to: VrrpState, reason: VrrpReason, notify: boolean): void {
  out.push({ kind: 'transition', from, to, reason });
  if (notify && to !== 'INIT') out.push({ kind: 'notify', state: to });
}

/** Arms Master_Down_Timer `intervalMs` from now and records it. */
function armDown(s: MachineState, out: Out, nowMs: number, intervalMs: number): MachineState {
  out.push({ kind: 'arm', timer: 'master_down', atMs: nowMs + intervalMs });
  return { ...s, downIntervalMs: intervalMs, downAtMs: nowMs + intervalMs };
}

/**
 * Becomes MASTER (RFC 5798 §6.4.1 / §6.4.2 "transition to the Master state"): send an
 * advert first (keepalived vrrp_state_master_tx: the old master must drop the VIPs before
 * our gratuitous ARPs), install the VIPs, announce them, arm the Adver_Timer.
 */
function becomeMaster(s: MachineState, out: Out, nowMs: number, reason: VrrpReason): MachineState {
  const g = s.cfg.garp;
  const from = s.state;
  if (from === 'BACKUP') out.push({ kind: 'cancel', timer: 'master_down' });
  out.push({ kind: 'send_advert', priority: s.effectivePriority });
  out.push({ kind: 'vips', op: 'add' });
  out.push({ kind: 'garp', repeat: g.masterRepeat, cause: 'master' });
  out.push({ kind: 'arm', timer: 'adver', atMs: nowMs + s.cfg.advertIntervalMs });
  if (g.masterDelayMs > 0) out.push({ kind: 'arm', timer: 'garp_delay', atMs: nowMs + g.masterDelayMs });
  if (g.masterRefreshMs > 0) out.push({ kind: 'arm', timer: 'garp_refresh', atMs: nowMs + g.masterRefreshMs });
  transition(out, from, 'MASTER', reason, true);
  return {
    ...s,
    state: 'MASTER',
    wantState: 'MASTER',
    vipsSet: true,
    masterAddress: s.localAddress,
    masterPriority: s.effectivePriority,
    masterAdverIntervalMs: s.cfg.advertIntervalMs, // RFC 5798 §6.4.3: a master uses its own Advertisement_Interval
    preemptUntilMs: null,
    downAtMs: null,
    nextMasterReason: 'master_down_timer',
  };
}

/**
 * Leaves MASTER (keepalived vrrp_state_leave_master / vrrp_restore_interface): cancel the
 * master timers, optionally send a priority-0 advert (RFC 5798 §6.4.3 Shutdown), remove
 * the VIPs; a new BACKUP arms its Master_Down_Timer.
 */
function leaveMaster(s: MachineState, out: Out, nowMs: number, to: 'BACKUP' | 'FAULT' | 'STOP', reason: VrrpReason, priorityZero: boolean): MachineState {
  for (const t of MASTER_TIMERS) out.push({ kind: 'cancel', timer: t });
  if (priorityZero) out.push({ kind: 'send_advert', priority: 0 });
  out.push({ kind: 'vips', op: 'remove' });
  let n: MachineState = { ...s, state: to, vipsSet: false, preemptUntilMs: null };
  if (to === 'BACKUP') {
    n = armDown(n, out, nowMs, masterDownIntervalMs(s.cfg.version, s.effectivePriority, n.masterAdverIntervalMs));
    n = { ...n, wantState: 'BACKUP', nextMasterReason: 'master_down_timer' };
  } else {
    n = { ...n, downAtMs: null, masterAdverIntervalMs: s.cfg.advertIntervalMs };
  }
  transition(out, s.state, to, reason, true);
  return n;
}

/** Enters BACKUP from INIT or FAULT (RFC 5798 §6.4.1; keepalived vrrp_state_leave_fault). */
function enterBackup(s: MachineState, out: Out, nowMs: number, reason: VrrpReason, downIntervalMs?: number, keepWant = false): MachineState {
  const mai = s.cfg.advertIntervalMs;
  const wantState = keepWant ? s.wantState : 'BACKUP';
  let n: MachineState = { ...s, state: 'BACKUP', wantState, masterAdverIntervalMs: mai, preemptUntilMs: null, nextMasterReason: 'master_down_timer' };
  n = armDown(n, out, nowMs, downIntervalMs ?? masterDownIntervalMs(s.cfg.version, s.effectivePriority, mai));
  transition(out, s.state, 'BACKUP', reason, true);
  return n;
}

/** Enters FAULT from BACKUP or INIT; `notify` false for keepalived's silent init fault. */
function enterFault(s: MachineState, out: Out, reason: VrrpReason, notify: boolean, wantFault: boolean): MachineState {
  if (s.state === 'BACKUP') out.push({ kind: 'cancel', timer: 'master_down' });
  transition(out, s.state, 'FAULT', reason, notify);
  return { ...s, state: 'FAULT', wantState: wantFault ? 'FAULT' : s.wantState, downAtMs: null, masterAdverIntervalMs: s.cfg.advertIntervalMs };
}

/** Goes to MASTER unless the sync group holds it back (keepalived vrrp_state_goto_master). */
function gotoMaster(s: MachineState, out: Out, nowMs: number, ctx: StepContext, reason: VrrpReason): MachineState {
  if (!ctx.syncCanGoMaster) {
    // keepalived vrrp_sync_can_goto_master: wait for the others, re-arm the down timer
    const n = { ...s, wantState: 'MASTER' as const };
    return armDown(n, out, nowMs, masterDownIntervalMs(s.cfg.version, s.effectivePriority, s.masterAdverIntervalMs));
  }
  return becomeMaster(s, out, nowMs, reason);
}

/** Applies a new effective priority; in BACKUP moves the down deadline by the change of the interval (keepalived). */
function applyPriority(prev: MachineState, s: MachineState, out: Out, reason: string): MachineState {
  const eff = effectivePriority(s.basePriority, s.trackers);
  if (eff === prev.effectivePriority) return { ...s, effectivePriority: eff };
  out.push({ kind: 'priority', from: prev.effectivePriority, to: eff, reason });
  let n: MachineState = { ...s, effectivePriority: eff };
  if (n.state === 'BACKUP' && n.downAtMs !== null) {
    const newInterval = masterDownIntervalMs(n.cfg.version, eff, n.masterAdverIntervalMs);
    const at = n.downAtMs + (newInterval - n.downIntervalMs);
    out.push({ kind: 'arm', timer: 'master_down', atMs: at });
    n = { ...n, downIntervalMs: newInterval, downAtMs: at };
  }
  return n;
}

// ───────────────────────────── handlers ─────────────────────────────

type Handler<K extends MachineInput['kind']> = (s: MachineState, i: Extract<MachineInput, { kind: K }>, ctx: StepContext, out: Out) => MachineState;

/**
 * Leaves INIT (RFC 5798 §6.4.1; keepalived vrrp_init_state): FAULT when a tracker says so,
 * MASTER at once for the address owner, else BACKUP. While a weight-0 script has not
 * reported yet the instance stays in INIT, silently (keepalived keeps such an instance out
 * of service without logging a transition).
 */
function leaveInit(s: MachineState, nowMs: number, ctx: StepContext, out: Out): MachineState {
  if (hasOwnFault(s)) return enterFault(s, out, 'tracker', true, true);
  if (anyPending(s.trackers)) return s;
  if (ctx.syncOthersFaulted) return enterFault(s, out, 'sync_group', false, false);
  if (s.basePriority === PRIORITY_OWNER && ctx.syncCanGoMaster) return becomeMaster(s, out, nowMs, 'priority_owner');
  if (s.wantState === 'MASTER' && !ctx.syncCanGoMaster) {
    // keepalived vrrp_init_state: a member that wants MASTER in a BACKUP sync group waits one
    // advert interval plus the minimum skew, then the group decides
    return enterBackup(s, out, nowMs, 'startup', s.cfg.advertIntervalMs + skewMinMs(s.cfg.version, s.cfg.advertIntervalMs), true);
  }
  // keepalived keeps `wantstate` (MASTER for `state MASTER`) while it starts as BACKUP
  return enterBackup(s, out, nowMs, 'startup', undefined, true);
}

const onStart: Handler<'start'> = (s, i, ctx, out) => leaveInit({ ...s, started: true }, i.nowMs, ctx, out);

/** Backup: ADVERTISEMENT received (RFC 5798 §6.4.2; keepalived vrrp_state_backup). */
const onBackupAdvert: Handler<'advert'> = (s, i, _ctx, out) => {
  const c = s.cfg;
  if (i.priority === 0) {
    // RFC 5798 §6.4.2: Priority 0 → set Master_Down_Timer to Skew_Time
    const n = armDown(s, out, i.nowMs, skewMs(c.version, s.effectivePriority, s.masterAdverIntervalMs));
    return { ...n, nextMasterReason: 'priority_zero' };
  }
  const honour =
    !c.preempt ||
    i.priority >= s.effectivePriority ||
    (c.preemptDelayMs > 0 && (s.preemptUntilMs === null || s.preemptUntilMs > i.nowMs));
  if (!honour) {
    // RFC 5798 §6.4.2: Preempt_Mode and lower priority → discard (the down timer runs on)
    return { ...s, masterAddress: i.from, masterPriority: i.priority, nextMasterReason: 'preempt' };
  }
  // RFC 5798 §6.4.2: v3 learns Master_Adver_Interval from the advert; v2 intervals are equal by §7.1
  const mai = c.version === 3 ? i.advertIntervalMs : s.masterAdverIntervalMs;
  let n: MachineState = { ...s, masterAdverIntervalMs: mai, masterAddress: i.from, masterPriority: i.priority, wantState: 'BACKUP', nextMasterReason: 'master_down_timer' };
  n = armDown(n, out, i.nowMs, masterDownIntervalMs(c.version, s.effectivePriority, mai));
  if (c.preemptDelayMs > 0) {
    // keepalived preempt_delay: start counting at the first lower-priority advert, stop on a higher one
    if (i.priority >= s.effectivePriority) n = { ...n, preemptUntilMs: null };
    else if (n.preemptUntilMs === null) n = { ...n, preemptUntilMs: i.nowMs + c.preemptDelayMs };
  }
  return n;
};

/** Master: ADVERTISEMENT received (RFC 5798 §6.4.3; keepalived vrrp_state_master_rx). */
const onMasterAdvert: Handler<'advert'> = (s, i, _ctx, out) => {
  const c = s.cfg;
  const cmp = s.localAddress ? compareAddresses(i.from, s.localAddress) : 0;
  if (i.priority === 0) {
    // RFC 5798 §6.4.3: Priority 0 → send an ADVERTISEMENT, reset the Adver_Timer
    out.push({ kind: 'send_advert', priority: s.effectivePriority });
    out.push({ kind: 'arm', timer: 'adver', atMs: i.nowMs + c.advertIntervalMs });
    return s;
  }
  const higher = i.priority > s.effectivePriority || (i.priority === s.effectivePriority && cmp > 0);
  if (higher && c.higherPrioSendAdvert) {
    // keepalived vrrp_state_master_rx, higher_prio_send_advert: one advert at our priority before
    // yielding, so a peer with garp_lower_prio_repeat re-announces the VIPs after a split brain
    out.push({ kind: 'send_advert', priority: s.effectivePriority });
  }
  let n = s;
  if (i.priority === n.effectivePriority) {
    if (cmp === 0) {
      out.push({ kind: 'warning', code: 'same_address', message: `equal priority advert received from remote host with our IP address ${i.from}` });
    } else if (n.effectivePriority === PRIORITY_OWNER) {
      // keepalived: two address owners is a configuration error; lower ours to 254 to resolve it
      out.push({ kind: 'warning', code: 'owner_conflict', message: `local instance and ${i.from} are both configured as address owner - reducing local priority` });
      n = applyPriority(n, { ...n, basePriority: PRIORITY_OWNER - 1 }, out, 'owner_conflict');
    }
  }
  const eff = n.effectivePriority;
  if (i.priority < eff || (i.priority === eff && cmp < 0)) {
    // keepalived (not the RFC, which discards): re-assert with an advert and gratuitous ARPs,
    // so a lower-priority router that also thinks it is MASTER backs off (split brain healing)
    if (!c.lowerPrioNoAdvert) {
      out.push({ kind: 'send_advert', priority: eff });
      out.push({ kind: 'arm', timer: 'adver', atMs: i.nowMs + c.advertIntervalMs });
    }
    if (c.garp.lowerPrioRepeat > 0) {
      out.push({ kind: 'garp', repeat: c.garp.lowerPrioRepeat, cause: 'lower_prio' });
      if (c.garp.lowerPrioDelayMs > 0) out.push({ kind: 'arm', timer: 'garp_lower_prio', atMs: i.nowMs + c.garp.lowerPrioDelayMs });
    }
    out.push({ kind: 'notify_event', event: 'MASTER_RX_LOWER_PRI' });
    return n;
  }
  if (i.priority > eff || (i.priority === eff && cmp > 0)) {
    // RFC 5798 §6.4.3: higher priority, or equal with a higher primary address → Backup
    const mai = c.version === 3 ? i.advertIntervalMs : n.masterAdverIntervalMs;
    n = { ...n, masterAdverIntervalMs: mai };
    n = leaveMaster(n, out, i.nowMs, 'BACKUP', 'higher_priority_advert', false);
    return { ...n, masterAddress: i.from, masterPriority: i.priority };
  }
  return n;
};

const onBackupTimer: Handler<'timer'> = (s, i, ctx, out) => {
  if (i.timer !== 'master_down') return s; // a stale master timer
  // RFC 5798 §6.4.2: Master_Down_Timer fires → Master
  return gotoMaster(s, out, i.nowMs, ctx, s.nextMasterReason);
};

const onMasterTimer: Handler<'timer'> = (s, i, _ctx, out) => {
  const g = s.cfg.garp;
  switch (i.timer) {
    case 'adver':
      // RFC 5798 §6.4.3: Adver_Timer fires → send an ADVERTISEMENT, reset the timer
      out.push({ kind: 'send_advert', priority: s.effectivePriority });
      out.push({ kind: 'arm', timer: 'adver', atMs: i.nowMs + s.cfg.advertIntervalMs });
      return s;
    case 'garp_delay':
      out.push({ kind: 'garp', repeat: g.masterRepeat, cause: 'master_delay' });
      return s;
    case 'garp_refresh':
      out.push({ kind: 'garp', repeat: g.masterRefreshRepeat, cause: 'refresh' });
      if (g.masterRefreshMs > 0) out.push({ kind: 'arm', timer: 'garp_refresh', atMs: i.nowMs + g.masterRefreshMs });
      return s;
    case 'garp_lower_prio':
      out.push({ kind: 'garp', repeat: g.lowerPrioRepeat, cause: 'lower_prio_delay' });
      return s;
    default:
      return s;
  }
};

/** Tracker changes (keepalived vrrp_track.c down_instance / try_up_instance / vrrp_set_effective_priority). */
const onTracker: Handler<'tracker'> = (s, i, ctx, out) => {
  const trackers = { ...s.trackers };
  if (i.status) trackers[i.name] = i.status;
  else delete trackers[i.name];
  const wasFault = anyFault(s.trackers);
  const wasOut = wasFault || anyPending(s.trackers);
  let n = applyPriority(s, { ...s, trackers }, out, `tracker ${i.name}`);
  const isFault = anyFault(trackers);
  const isOut = isFault || anyPending(trackers);
  if (n.state === 'STOP') return n;
  if (n.state === 'INIT') return n.started ? leaveInit(n, i.nowMs, ctx, out) : n;
  if (isFault && !wasFault) {
    // down_instance: a MASTER says goodbye with priority 0 (vrrp_state_leave_master, wantstate FAULT)
    if (n.state === 'MASTER') return { ...leaveMaster(n, out, i.nowMs, 'FAULT', 'tracker', true), wantState: 'FAULT' };
    if (n.state === 'BACKUP') return enterFault(n, out, 'tracker', true, true);
    // already FAULT, held by the sync group: keepalived re-sends the FAULT notifies
    out.push({ kind: 'notify', state: 'FAULT' });
    return { ...n, wantState: 'FAULT' };
  }
  if (wasOut && !isOut && n.state === 'FAULT') {
    // try_up_instance: leave FAULT unless another member of the sync group still is faulted
    if (ctx.syncOthersFaulted) return { ...n, wantState: 'BACKUP' };
    return enterBackup(n, out, i.nowMs, 'tracker_recovered');
  }
  return n;
};

/** Moves imposed by the sync group (keepalived vrrp_sync.c vrrp_sync_master / _backup / _fault). */
const onSync: Handler<'sync'> = (s, i, _ctx, out) => {
  const own = isOutOfService(s);
  switch (i.to) {
    case 'MASTER':
      if (s.state === 'MASTER' || own) return s;
      return becomeMaster(s, out, i.nowMs, 'sync_group');
    case 'BACKUP':
      if (s.state === 'MASTER') return leaveMaster(s, out, i.nowMs, 'BACKUP', 'sync_group', false);
      if (s.state === 'FAULT' && !own) return enterBackup(s, out, i.nowMs, 'sync_group');
      return s;
    case 'FAULT':
      if (s.state === 'MASTER') return { ...leaveMaster(s, out, i.nowMs, 'FAULT', 'sync_group', true), wantState: 'FAULT' };
      if (s.state === 'BACKUP' || s.state === 'INIT') return enterFault(s, out, 'sync_group', true, true);
      return s;
  }
};

/** Shutdown (RFC 5798 §6.4.2 / §6.4.3; keepalived restore_vrrp_interfaces + notify_shutdown). */
const onShutdown: Handler<'shutdown'> = (s, i, _ctx, out) => {
  if (s.state === 'MASTER') return leaveMaster(s, out, i.nowMs, 'STOP', 'shutdown', true);
  if (s.state === 'BACKUP') out.push({ kind: 'cancel', timer: 'master_down' });
  transition(out, s.state, 'STOP', 'shutdown', true);
  return { ...s, state: 'STOP', downAtMs: null };
};

/** Reload of a changed instance whose identity (interface, VRID, family, version, peers) is kept. */
const onReconfigure: Handler<'reconfigure'> = (s, i, _ctx, out) => {
  const old = s.cfg;
  const c = i.cfg;
  let n: MachineState = { ...s, cfg: c, basePriority: c.priority === old.priority ? s.basePriority : c.priority };
  if (!c.preempt || c.preemptDelayMs === 0) n = { ...n, preemptUntilMs: null };
  n = applyPriority(s, n, out, 'config');
  if (n.state === 'MASTER') {
    n = { ...n, masterAdverIntervalMs: c.advertIntervalMs, masterPriority: n.effectivePriority };
    if (c.advertIntervalMs !== old.advertIntervalMs) out.push({ kind: 'arm', timer: 'adver', atMs: i.nowMs + c.advertIntervalMs });
    if (c.garp.masterRefreshMs !== old.garp.masterRefreshMs) {
      if (c.garp.masterRefreshMs > 0) out.push({ kind: 'arm', timer: 'garp_refresh', atMs: i.nowMs + c.garp.masterRefreshMs });
      else out.push({ kind: 'cancel', timer: 'garp_refresh' });
    }
  } else if (n.state === 'BACKUP' && c.version === 2 && c.advertIntervalMs !== old.advertIntervalMs) {
    n = { ...n, masterAdverIntervalMs: c.advertIntervalMs };
    n = armDown(n, out, i.nowMs, masterDownIntervalMs(c.version, n.effectivePriority, c.advertIntervalMs));
  }
  return n;
};

const onLocalAddress: Handler<'local_address'> = (s, i) => ({
  ...s,
  localAddress: i.address,
  masterAddress: s.state === 'MASTER' ? i.address : s.masterAddress,
});

const ignore = <K extends MachineInput['kind']>(): Handler<K> => (s) => s;

type HandlerTable = { readonly [K in MachineInput['kind']]: Handler<K> };

/**
 * The transition table. Rows are states, columns inputs; `ignore` means the input has no
 * effect in that state (keepalived drops adverts in FAULT and INIT, vrrp_scheduler.c).
 *
 *            start    advert      timer        tracker  sync    shutdown  reconfigure  local_address
 *   INIT     onStart  ignore      ignore       onTracker ignore onShutdown onReconfigure onLocalAddress
 *   BACKUP   ignore   backupRx    backupTimer  onTracker onSync onShutdown onReconfigure onLocalAddress
 *   MASTER   ignore   masterRx    masterTimer  onTracker onSync onShutdown onReconfigure onLocalAddress
 *   FAULT    ignore   ignore      ignore       onTracker onSync onShutdown onReconfigure onLocalAddress
 *   STOP     ignore   ignore      ignore       ignore    ignore ignore     ignore        ignore
 */
const TABLE: { readonly [S in VrrpState]: HandlerTable } = {
  INIT: { start: onStart, advert: ignore(), timer: ignore(), tracker: onTracker, sync: ignore(), shutdown: onShutdown, reconfigure: onReconfigure, local_address: onLocalAddress },
  BACKUP: { start: ignore(), advert: onBackupAdvert, timer: onBackupTimer, tracker: onTracker, sync: onSync, shutdown: onShutdown, reconfigure: onReconfigure, local_address: onLocalAddress },
  MASTER: { start: ignore(), advert: onMasterAdvert, timer: onMasterTimer, tracker: onTracker, sync: onSync, shutdown: onShutdown, reconfigure: onReconfigure, local_address: onLocalAddress },
  FAULT: { start: ignore(), advert: ignore(), timer: ignore(), tracker: onTracker, sync: onSync, shutdown: onShutdown, reconfigure: onReconfigure, local_address: onLocalAddress },
  STOP: { start: ignore(), advert: ignore(), timer: ignore(), tracker: ignore(), sync: ignore(), shutdown: ignore(), reconfigure: ignore(), local_address: ignore() },
};

/** True when the machine acts on adverts in this state (the driver counts the rest as `not_running`). */
export function acceptsAdverts(s: MachineState): boolean {
  return s.state === 'BACKUP' || s.state === 'MASTER';
}

/**
 * One step of the machine: the new state and the effects to execute, in order. Pure: the
 * same state and input always give the same result.
 */
export function step(s: MachineState, input: MachineInput, ctx: StepContext = SOLO): StepResult {
  const out: MachineEffect[] = [];
  const handler = TABLE[s.state][input.kind] as Handler<typeof input.kind>;
  const state = handler(s, input as never, ctx, out);
  return { state, effects: out };
}
