/**
 * The per-checker state machine, pure: `stepChecker(timing, rule, state, input) → {state, effects}`.
 * Time comes in as `input.now`; the single timer a checker needs is armed and disarmed as
 * effects; a probe is started as an effect. The driver (src/check/runner.ts) executes them.
 *
 * keepalived's meaning (check_tcp.c tcp_epilog, check_http.c epilog/timeout_epilog,
 * check_misc.c misc_check_child_thread):
 *  - a *check* runs every `delay_loop`;
 *  - a failed *attempt* is retried while `retryIt < retry`, each retry `delay_before_retry`
 *    after the failed attempt ended; only when no retry is left has the check failed.
 *    Whether a failed attempt may be retried at all depends on the checker kind
 *    (`RetryRule`): TCP_CHECK retries in any state (tcp_epilog tests only
 *    `retry_it >= retry`); HTTP_GET/SSL_GET and MISC_CHECK retry only while the checker is
 *    up or has never run (`is_up || !has_run` in timeout_epilog and
 *    misc_check_child_thread), so a down checker fails a check at once ("do not retry if
 *    server is already known as dead");
 *  - "one failure is enough initially" (check_data.c validate_check_config): checkers
 *    created at daemon start begin with `retryIt = retry`, so their first failed attempt
 *    decides; so do checkers a reload adds to a real server that has a failed checker
 *    (ipwrapper.c migrate_checkers). The driver chooses this through `initialCheckerState`;
 *  - `alpha`: start down until the first success, else start up.
 * lvsd extension: `rise`/`fall` — consecutive passed / failed *checks* (each after its
 * retries) needed to change state; both default to 1, which is keepalived's behaviour.
 *
 * Scheduling: the next check starts `delay_loop` after the *start* of the current check
 * (as check_misc.c does with `last_ran`), or at once when the check took longer; so a
 * recovered server is seen within one `delay_loop`. A failing check is detected within
 * `A + retry × (delay_before_retry + A)` of its first attempt, A being the longest one
 * attempt can take (see attemptBoundMs in runner.ts: connect_timeout for TCP_CHECK, one
 * connect_timeout per url for HTTP_GET/SSL_GET, misc_timeout for MISC_CHECK).
 *
 * Transitions (U = up, D = down; ok/fail = the attempt's outcome; "retry allowed" =
 * `retryIt < retry` and, for the `up_or_unrun` rule, U or no attempt ended yet):
 *
 *   state | attempt | retry allowed | → effect
 *   ------+---------+---------------+------------------------------------------------------
 *   U     | ok      | —             | okStreak+1, failStreak 0, retryIt 0, next check
 *   U     | fail    | yes           | retryIt+1, arm delay_before_retry
 *   U     | fail    | no            | check failed: failStreak+1; ≥ fall → D; next check
 *   D     | ok      | —             | okStreak+1; ≥ rise → U; retryIt 0, next check
 *   D     | fail    | yes           | retryIt+1, arm delay_before_retry (TCP_CHECK; others only before their first attempt ended)
 *   D     | fail    | no            | check failed: failStreak+1, okStreak 0; next check
 */
import type { CheckTiming } from '../model/types.js';
import type { CheckOutcome } from './outcome.js';

/**
 * Whether a failed attempt may be retried (keepalived, per checker kind):
 *  - `any_state`: while retries are left, up or down (check_tcp.c tcp_epilog);
 *  - `up_or_unrun`: only while the checker is up or before its first attempt ended
 *    (check_http.c timeout_epilog, check_misc.c misc_check_child_thread: `is_up || !has_run`).
 */
export type RetryRule = 'any_state' | 'up_or_unrun';

/** The retry rule of a checker kind (see RetryRule). */
export function retryRuleOf(kind: 'tcp' | 'http' | 'ssl' | 'misc'): RetryRule {
  return kind === 'tcp' ? 'any_state' : 'up_or_unrun';
}

/** Everything the machine remembers about one checker. */
export interface CheckerState {
  /** The checker's verdict (after rise/fall). */
  readonly up: boolean;
  /** At least one check completed (keepalived's `has_run`). */
  readonly hasRun: boolean;
  /** An attempt is in flight. */
  readonly running: boolean;
  /** ha_suspend: no attempts are started while true. */
  readonly suspended: boolean;
  /**
   * Failed attempts counted against `retry` in the current check (keepalived's `retry_it`);
   * preset to `retry` when one failure must decide (see the file comment).
   */
  readonly retryIt: number;
  /** The armed timer is a retry (`delay_before_retry`), not the next check. */
  readonly retrying: boolean;
  /** Consecutive passed checks. */
  readonly okStreak: number;
  /** Consecutive failed checks. */
  readonly failStreak: number;
  /** When the first attempt of the current check started; null before the first. */
  readonly checkStartedAt: number | null;
  /** Attempts run and attempts failed since the checker was created. */
  readonly attempts: number;
  readonly failures: number;
  /** The last attempt's outcome and when it ended. */
  readonly last: CheckOutcome | null;
  readonly lastAt: number | null;
  /** When `up` last changed (creation time at first). */
  readonly changedAt: number;
}

/** What can happen to a checker. */
export type CheckerInput =
  /** Begin checking; the first attempt starts after `delayMs` (warmup jitter, chosen by the driver). */
  | { readonly kind: 'start'; readonly now: number; readonly delayMs: number }
  /** The armed timer fired. */
  | { readonly kind: 'due'; readonly now: number }
  /** The attempt started by the last `probe` effect ended. */
  | { readonly kind: 'result'; readonly now: number; readonly outcome: CheckOutcome }
  /** ha_suspend: the owning VRRP instance left MASTER. */
  | { readonly kind: 'suspend'; readonly now: number }
  /** ha_suspend: the owning instance is MASTER again; the next check starts after `delayMs`. */
  | { readonly kind: 'resume'; readonly now: number; readonly delayMs: number }
  /** Reload migrated the checker to new timing: re-arm within the new delay_loop. */
  | { readonly kind: 'retime'; readonly now: number };

/** What the driver must do. */
export type CheckerEffect =
  /** (Re)arm the checker's one timer; it fires a `due` input. */
  | { readonly kind: 'arm'; readonly delayMs: number }
  | { readonly kind: 'disarm' }
  /** Start one attempt (`retry`: it repeats a failed attempt of the same check); its outcome comes back as a `result` input. */
  | { readonly kind: 'probe'; readonly retry: boolean }
  /** The outcome differs from the previous attempt's (ok↔fail, or another reason) and the verdict did not change. */
  | { readonly kind: 'result-changed'; readonly outcome: CheckOutcome }
  /** The checker's verdict changed. */
  | { readonly kind: 'transition'; readonly up: boolean; readonly outcome: CheckOutcome };

/** The result of one step. */
export interface CheckerStep {
  readonly state: CheckerState;
  readonly effects: readonly CheckerEffect[];
}

/**
 * A fresh checker: up unless `startUp` is false (alpha). `retryIt` presets keepalived's
 * `retry_it`: pass the checker's `retry` for "one failure is enough" (file comment).
 */
export function initialCheckerState(startUp: boolean, now: number, retryIt = 0): CheckerState {
  return {
    up: startUp,
    hasRun: false,
    running: false,
    suspended: false,
    retryIt,
    retrying: false,
    okStreak: 0,
    failStreak: 0,
    checkStartedAt: null,
    attempts: 0,
    failures: 0,
    last: null,
    lastAt: null,
    changedAt: now,
  };
}

/** Delay until the next check: `delay_loop` after the current check started, never negative. */
function nextCheckDelay(t: CheckTiming, s: CheckerState, now: number): number {
  if (s.checkStartedAt === null) return t.delayLoopMs;
  return Math.max(0, s.checkStartedAt + t.delayLoopMs - now);
}

function sameOutcome(a: CheckOutcome | null, b: CheckOutcome): boolean {
  return a !== null && a.ok === b.ok && a.reason === b.reason && a.detail === b.detail;
}

/** Advances one checker by one input. Pure: same inputs, same outputs. */
export function stepChecker(t: CheckTiming, rule: RetryRule, s: CheckerState, input: CheckerInput): CheckerStep {
  switch (input.kind) {
    case 'start':
      if (s.suspended) return { state: s, effects: [] };
      return { state: s, effects: [{ kind: 'arm', delayMs: Math.max(0, input.delayMs) }] };

    case 'due': {
      if (s.suspended || s.running) return { state: s, effects: [] };
      return {
        state: { ...s, running: true, checkStartedAt: s.retrying ? s.checkStartedAt : input.now },
        effects: [{ kind: 'probe', retry: s.retrying }],
      };
    }

    case 'result': {
      if (!s.running) return { state: s, effects: [] };
      const o = input.outcome;
      const effects: CheckerEffect[] = [];
      const base: CheckerState = {
        ...s,
        running: false,
        attempts: s.attempts + 1,
        failures: s.failures + (o.ok ? 0 : 1),
        last: o,
        lastAt: input.now,
      };
      let next: CheckerState;
      let delay: number;
      if (o.ok) {
        const okStreak = s.okStreak + 1;
        const goUp = !s.up && okStreak >= t.rise;
        next = { ...base, hasRun: true, retryIt: 0, retrying: false, okStreak, failStreak: 0, up: s.up || goUp, changedAt: goUp ? input.now : s.changedAt };
        if (goUp) effects.push({ kind: 'transition', up: true, outcome: o });
        delay = nextCheckDelay(t, next, input.now);
      } else if (s.retryIt < t.retry && (rule === 'any_state' || s.up || s.attempts === 0)) {
        // Retry the attempt after delay_before_retry; the check is not over yet.
        // `s.attempts === 0` is keepalived's `!has_run`: no attempt has ended before this one.
        next = { ...base, retryIt: s.retryIt + 1, retrying: true };
        delay = t.delayBeforeRetryMs;
      } else {
        const failStreak = s.failStreak + 1;
        const goDown = s.up && failStreak >= t.fall;
        next = { ...base, hasRun: true, retryIt: 0, retrying: false, okStreak: 0, failStreak, up: s.up && !goDown, changedAt: goDown ? input.now : s.changedAt };
        if (goDown) effects.push({ kind: 'transition', up: false, outcome: o });
        delay = nextCheckDelay(t, next, input.now);
      }
      // A transition already carries the outcome; otherwise say when the outcome changed.
      if (next.up === s.up && !sameOutcome(s.last, o)) effects.push({ kind: 'result-changed', outcome: o });
      if (!next.suspended) effects.push({ kind: 'arm', delayMs: delay });
      return { state: next, effects };
    }

    case 'suspend':
      if (s.suspended) return { state: s, effects: [] };
      // A running attempt finishes and its result counts; nothing new starts.
      // A retry in progress is abandoned (the next check starts afresh); a preset retryIt stays.
      return { state: { ...s, suspended: true, retryIt: s.retrying ? 0 : s.retryIt, retrying: false }, effects: [{ kind: 'disarm' }] };

    case 'resume':
      if (!s.suspended) return { state: s, effects: [] };
      return {
        state: { ...s, suspended: false, retryIt: s.retrying ? 0 : s.retryIt, retrying: false },
        effects: s.running ? [] : [{ kind: 'arm', delayMs: Math.max(0, input.delayMs) }],
      };

    case 'retime':
      if (s.suspended || s.running) return { state: s, effects: [] };
      return { state: s, effects: [{ kind: 'arm', delayMs: s.retrying ? t.delayBeforeRetryMs : nextCheckDelay(t, s, input.now) }] };
  }
}

/**
 * The state a checker keeps across a reload that changed its timing but not what it checks
 * (keepalived ipwrapper.c migrate_checkers): verdict, history and streaks stay; a retry
 * count already at or past the new `retry` is clamped so one more failure decides.
 */
export function migrateCheckerState(s: CheckerState, next: CheckTiming): CheckerState {
  return { ...s, retryIt: Math.min(s.retryIt, next.retry) };
}
