/**
 * `vrrp_sync_group`: members move together. Pure, like the machine: a member's input is
 * stepped with the group context it needs, then the group's transition table moves the
 * other members (keepalived/vrrp/vrrp_scheduler.c VRRP_TSM and vrrp_sync.c).
 */
import type { VrrpReason, VrrpState } from '../events/types.js';
import {
  hasOwnFault,
  isOutOfService,
  PRIORITY_OWNER,
  step,
  type MachineEffect,
  type MachineInput,
  type MachineState,
  type StepContext,
} from './machine.js';

/** A sync group's state. */
export interface SyncGroupState {
  readonly name: string;
  readonly state: VrrpState;
  readonly members: readonly string[];
  /** startGroup() was called (a group may stay INIT while a member's scripts have not reported). */
  readonly started: boolean;
}

/** Group-level effects: a group transition and its notifies (notify_master/backup/fault of the group, generic notify, FIFO). */
export type GroupLevelEffect =
  | { readonly kind: 'group_transition'; readonly from: VrrpState; readonly to: VrrpState; readonly reason: VrrpReason; readonly trigger: string }
  | { readonly kind: 'group_notify'; readonly state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' };

/** An effect for one member, or for the group itself (`instance: null`). */
export type GroupEffect =
  | { readonly instance: string; readonly effect: MachineEffect }
  | { readonly instance: null; readonly effect: GroupLevelEffect };

/** Result of a group step. `members` holds every member whose state changed. */
export interface GroupStepResult {
  readonly group: SyncGroupState;
  readonly members: Readonly<Record<string, MachineState>>;
  readonly effects: readonly GroupEffect[];
}

/** A group before start. */
export function initialGroupState(name: string, members: readonly string[]): SyncGroupState {
  return { name, state: 'INIT', members, started: false };
}

/** The context one member is stepped with (keepalived vrrp_sync_can_goto_master, num_member_fault). */
export function contextFor(g: SyncGroupState, members: Readonly<Record<string, MachineState>>, name: string): StepContext {
  const others = g.members.filter((m) => m !== name && members[m]).map((m) => members[m]!);
  return {
    syncCanGoMaster: g.state === 'MASTER' || others.every((o) => o.wantState === 'MASTER'),
    syncOthersFaulted: others.some((o) => isOutOfService(o)),
  };
}

/**
 * The group transition table: what the others must do when one member moves
 * (keepalived VRRP_TSM; FAULT moves are keepalived's down_instance / try_up_instance).
 *
 *   member from \ to   BACKUP          MASTER         FAULT (own tracker)
 *   INIT               -               -              -
 *   BACKUP             -               sync MASTER    sync FAULT
 *   MASTER             sync BACKUP     -              sync FAULT
 *   FAULT              sync BACKUP     sync MASTER    -
 */
function groupMove(prev: VrrpState, next: MachineState): 'MASTER' | 'BACKUP' | 'FAULT' | null {
  const to = next.state;
  if (prev === to || prev === 'INIT' || to === 'STOP' || to === 'INIT') return null;
  if (to === 'MASTER') return 'MASTER';
  if (to === 'BACKUP') return prev === 'MASTER' || prev === 'FAULT' ? 'BACKUP' : null;
  if (to === 'FAULT') return hasOwnFault(next) ? 'FAULT' : null;
  return null;
}

function reasonOf(effects: readonly MachineEffect[]): VrrpReason {
  for (const e of effects) if (e.kind === 'transition') return e.reason;
  return 'sync_group';
}

/** Steps one member and moves the rest of the group as keepalived does. */
export function stepGroup(
  g: SyncGroupState,
  members: Readonly<Record<string, MachineState>>,
  name: string,
  input: MachineInput,
): GroupStepResult {
  const cur = members[name];
  if (!cur) return { group: g, members: {}, effects: [] };
  if (g.started && g.state === 'INIT') {
    // the group waits for its members' first script results (keepalived num_member_init)
    const r0 = step(cur, input, contextFor(g, members, name));
    const all = { ...members, [name]: r0.state };
    const ms = g.members.filter((m) => all[m]).map((m) => all[m]!);
    if (ms.some((m) => hasOwnFault(m)) || !ms.some((m) => isOutOfService(m))) {
      const r1 = startGroup(g, all, input.nowMs);
      return { group: r1.group, members: { [name]: r0.state, ...r1.members }, effects: [...r0.effects.map((e) => ({ instance: name, effect: e })), ...r1.effects] };
    }
    return { group: g, members: { [name]: r0.state }, effects: r0.effects.map((e) => ({ instance: name, effect: e })) };
  }
  const out: GroupEffect[] = [];
  const changed: Record<string, MachineState> = {};
  const r = step(cur, input, contextFor(g, members, name));
  for (const e of r.effects) out.push({ instance: name, effect: e });
  changed[name] = r.state;
  let group = g;
  const move = groupMove(cur.state, r.state);
  if (move && g.state !== move) {
    const all = { ...members, ...changed };
    for (const m of g.members) {
      if (m === name || !all[m]) continue;
      const s = all[m]!;
      // keepalived vrrp_sync_master / _backup / _fault skip members already there
      if (s.state === move) continue;
      const rr = step(s, { kind: 'sync', nowMs: input.nowMs, to: move }, contextFor(g, all, m));
      for (const e of rr.effects) out.push({ instance: m, effect: e });
      changed[m] = rr.state;
      all[m] = rr.state;
    }
    out.push({ instance: null, effect: { kind: 'group_transition', from: g.state, to: move, reason: reasonOf(r.effects), trigger: name } });
    out.push({ instance: null, effect: { kind: 'group_notify', state: move } });
    group = { ...g, state: move };
  }
  return { group, members: changed, effects: out };
}

/**
 * Starts every member (keepalived vrrp_sync_set_group + vrrp_init_state): the group is
 * FAULT when any member is out of service, MASTER when every member is the address owner,
 * BACKUP otherwise; members of a FAULT group start in FAULT.
 */
export function startGroup(g: SyncGroupState, members: Readonly<Record<string, MachineState>>, nowMs: number): GroupStepResult {
  const ms = g.members.filter((m) => members[m]).map((m) => members[m]!);
  if (!ms.some(hasOwnFault) && ms.some(isOutOfService)) {
    // a member's weight-0 script has not reported yet: the whole group waits in INIT
    return { group: { ...g, started: true }, members: {}, effects: [] };
  }
  const state: 'MASTER' | 'BACKUP' | 'FAULT' = ms.some(hasOwnFault) ? 'FAULT' : ms.every((m) => m.basePriority === PRIORITY_OWNER) ? 'MASTER' : 'BACKUP';
  const group: SyncGroupState = { ...g, state, started: true };
  const out: GroupEffect[] = [];
  const changed: Record<string, MachineState> = {};
  for (const m of g.members) {
    const s = members[m];
    if (!s || s.state !== 'INIT') continue;
    const ctx: StepContext = { syncCanGoMaster: state === 'MASTER', syncOthersFaulted: state === 'FAULT' };
    const r = step(s, { kind: 'start', nowMs }, ctx);
    for (const e of r.effects) out.push({ instance: m, effect: e });
    changed[m] = r.state;
  }
  out.push({ instance: null, effect: { kind: 'group_transition', from: 'INIT', to: state, reason: 'startup', trigger: g.name } });
  out.push({ instance: null, effect: { kind: 'group_notify', state } });
  return { group, members: changed, effects: out };
}

/** Stops every member and the group (keepalived notify_shutdown). */
export function stopGroup(g: SyncGroupState, members: Readonly<Record<string, MachineState>>, nowMs: number): GroupStepResult {
  const out: GroupEffect[] = [];
  const changed: Record<string, MachineState> = {};
  for (const m of g.members) {
    const s = members[m];
    if (!s) continue;
    const r = step(s, { kind: 'shutdown', nowMs });
    for (const e of r.effects) out.push({ instance: m, effect: e });
    changed[m] = r.state;
  }
  if (g.state !== 'STOP') {
    out.push({ instance: null, effect: { kind: 'group_transition', from: g.state, to: 'STOP', reason: 'shutdown', trigger: g.name } });
    out.push({ instance: null, effect: { kind: 'group_notify', state: 'STOP' } });
  }
  return { group: { ...g, state: 'STOP', started: true }, members: changed, effects: out };
}
