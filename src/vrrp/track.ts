/**
 * Trackers as keepalived counts them (keepalived/vrrp/vrrp_track.c, vrrp_scheduler.c):
 * the rise/fall counter of a `vrrp_script`, the value of a `track_file`, and how a
 * tracker's state becomes a {@link TrackerStatus} for one instance given its weight.
 * Pure functions; the runtime that runs scripts and watches links and files is
 * src/vrrp/trackers.ts.
 */
import type { TrackerStatus } from './machine.js';

/** How an instance refers to a tracker (the model's TrackRef, structurally). */
export interface WeightRef {
  readonly weight: number;
  readonly weightReverse: boolean;
}

/**
 * A vrrp_script's counter: keepalived's `result` (0 .. rise+fall-1) and init state.
 * `up` is null until the first result when the script did not start as failed.
 */
export interface ScriptCounter {
  readonly result: number;
  readonly init: 'init' | 'failed' | 'done';
  readonly up: boolean | null;
}

/** The counter before the first run (keepalived vrrp_init_script: one success is enough; init_fail starts failed). */
export function initialScriptCounter(rise: number, initFail: boolean): ScriptCounter {
  return initFail ? { result: 0, init: 'failed', up: false } : { result: rise - 1, init: 'init', up: null };
}

/**
 * Applies one run's outcome (keepalived vrrp_script_child_thread): `rise` consecutive
 * successes bring a failed script up, `fall` consecutive failures bring an up script down;
 * a first failure from the init state counts at once. `changed` is true when `up` flipped
 * (or was first set).
 */
export function scriptOutcome(c: ScriptCounter, ok: boolean, rise: number, fall: number): { counter: ScriptCounter; changed: boolean } {
  let result = c.result;
  let up = c.up;
  let changed = false;
  if (ok) {
    if (result < rise - 1) result++;
    else if (result !== rise + fall - 1) {
      if (result < rise) {
        changed = up !== true;
        up = true;
      }
      result = rise + fall - 1;
    }
  } else if (result > rise) {
    result--;
  } else {
    if (result === rise || c.init === 'init') {
      changed = up !== false;
      up = false;
    }
    result = 0;
  }
  return { counter: { result, init: 'done', up }, changed };
}

/**
 * What an up/down tracker (script, interface) means for one instance: weight 0 puts the
 * instance in FAULT when down (or when up, with `reverse`) and holds it out of service
 * while unknown; a positive weight is added while up, a negative one while down, both
 * negated by `reverse` (keepalived initialise_track_script_state / process_script_update_priority).
 */
export function upDownStatus(ref: WeightRef, up: boolean | null): TrackerStatus {
  if (ref.weight === 0) {
    if (up === null) return { fault: false, pending: true, delta: 0 };
    return { fault: up === ref.weightReverse, pending: false, delta: 0 };
  }
  if (up === null) return { fault: false, pending: false, delta: 0 };
  const m = ref.weightReverse ? -1 : 1;
  if (up) return { fault: false, pending: false, delta: ref.weight > 0 ? ref.weight * m : 0 };
  return { fault: false, pending: false, delta: ref.weight < 0 ? ref.weight * m : 0 };
}

/**
 * Parses a track file's content as keepalived does: `strtol(buf, NULL, 0)` on the first
 * 127 bytes (leading spaces, sign, 0x hex, leading-0 octal, stops at the first bad
 * character, 0 when nothing parses), clamped to -254..254 (vrrp_track.c process_track_file).
 */
export function parseTrackFileValue(text: string | null): number {
  if (text === null) return 0;
  const s = text.slice(0, 127);
  const m = /^[\t\n\v\f\r ]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return 0;
  const digits = m[2]!;
  let v: number;
  if (/^0[xX]/.test(digits)) v = parseInt(digits.slice(2), 16);
  else if (digits.startsWith('0')) v = digits.length > 1 ? parseInt(digits.slice(1), 8) : 0;
  else v = parseInt(digits, 10);
  if (m[1] === '-') v = -v;
  return v > 254 ? 254 : v < -254 ? -254 : v;
}

/**
 * What a track file's value means for one instance (keepalived process_update_track_file_status):
 * weight 0 faults on any non-zero value (on zero with `reverse`); otherwise value × weight
 * (negated by `reverse`), clamped to -254..253, is added, and -254 means FAULT.
 */
export function fileStatus(ref: WeightRef, value: number): TrackerStatus {
  const m = ref.weightReverse ? -1 : 1;
  if (ref.weight === 0) return { fault: (value !== 0) === (m === 1), pending: false, delta: 0 };
  let status = value * ref.weight * m;
  if (status < -254) status = -254;
  else if (status > 253) status = 253;
  if (status === -254) return { fault: true, pending: false, delta: 0 };
  return { fault: false, pending: false, delta: status };
}
