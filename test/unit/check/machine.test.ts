import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialCheckerState,
  retryRuleOf,
  stepChecker,
  type CheckerEffect,
  type CheckerState,
  type RetryRule,
} from '../../../src/check/machine.js';
import type { CheckOutcome } from '../../../src/check/outcome.js';
import type { CheckTiming } from '../../../src/model/types.js';
import { timing } from './fixtures.js';

const OK: CheckOutcome = { ok: true, reason: 'ok', detail: '', latencyMs: 1 };
const REFUSED: CheckOutcome = { ok: false, reason: 'refused', detail: 'ECONNREFUSED', latencyMs: 1 };
const TIMEOUT: CheckOutcome = { ok: false, reason: 'timeout', detail: 'no connection within 500 ms', latencyMs: 500 };

/**
 * Simulates a checker against an outcome source, executing the machine's effects on a
 * virtual timeline (the pure machine only; no clock object). `outcomeAt(n, t)` gives the
 * n-th attempt's outcome starting at time t; the attempt takes `o.latencyMs`.
 */
function simulate(
  t: CheckTiming,
  opts: {
    startUp: boolean; untilMs: number; outcomeAt: (n: number, startMs: number) => CheckOutcome; warmupDelayMs?: number;
    /** default the TCP rule; the HTTP/MISC rule differs only while down */
    rule?: RetryRule;
    /** preset retryIt (keepalived's "one failure is enough": retry) */
    retryIt?: number;
  },
) {
  const rule = opts.rule ?? 'any_state';
  let s: CheckerState = initialCheckerState(opts.startUp, 0, opts.retryIt ?? 0);
  const transitions: Array<{ at: number; up: boolean; reason: string }> = [];
  const changes: Array<{ at: number; reason: string }> = [];
  const attemptStarts: number[] = [];
  const retries: boolean[] = [];
  let timerAt: number | null = null;
  let now = 0;
  let n = 0;
  const apply = (effects: readonly CheckerEffect[]): CheckOutcome | null => {
    let probe = false;
    for (const e of effects) {
      if (e.kind === 'arm') timerAt = now + e.delayMs;
      else if (e.kind === 'disarm') timerAt = null;
      else if (e.kind === 'probe') {
        probe = true;
        retries.push(e.retry);
      }
      else if (e.kind === 'transition') transitions.push({ at: now, up: e.up, reason: e.outcome.reason });
      else if (e.kind === 'result-changed') changes.push({ at: now, reason: e.outcome.reason });
    }
    return probe ? opts.outcomeAt(n++, now) : null;
  };
  let r = stepChecker(t, rule, s, { kind: 'start', now, delayMs: opts.warmupDelayMs ?? 0 });
  s = r.state;
  apply(r.effects);
  for (let guard = 0; guard < 100_000; guard++) {
    if (timerAt === null || timerAt > opts.untilMs) break;
    now = timerAt;
    timerAt = null;
    r = stepChecker(t, rule, s, { kind: 'due', now });
    s = r.state;
    attemptStarts.push(now);
    const o = apply(r.effects);
    assert.ok(o, 'a due timer must start an attempt');
    now += o.latencyMs;
    r = stepChecker(t, rule, s, { kind: 'result', now, outcome: o });
    s = r.state;
    apply(r.effects);
  }
  return { state: s, transitions, changes, attemptStarts, retries };
}

test('checks run every delay_loop, measured from the start of the previous check', () => {
  const t = timing({ delayLoopMs: 1000 });
  const { attemptStarts, transitions } = simulate(t, { startUp: true, untilMs: 5000, outcomeAt: () => ({ ...OK, latencyMs: 30 }) });
  assert.deepEqual(attemptStarts, [0, 1000, 2000, 3000, 4000, 5000]);
  assert.deepEqual(transitions, []);
});

test('warmup delay postpones only the first check', () => {
  const t = timing({ delayLoopMs: 1000, warmupMs: 800 });
  const { attemptStarts } = simulate(t, { startUp: true, untilMs: 3000, warmupDelayMs: 640, outcomeAt: () => OK });
  assert.deepEqual(attemptStarts, [640, 1640, 2640]);
});

test('a failing server is retried `retry` times, each after delay_before_retry, then declared down (check_tcp.c tcp_epilog)', () => {
  const t = timing({ delayLoopMs: 1000, connectTimeoutMs: 500, retry: 2, delayBeforeRetryMs: 200 });
  // healthy for the first check, then every attempt times out (takes connect_timeout).
  const { attemptStarts, transitions } = simulate(t, {
    startUp: true,
    untilMs: 3000,
    outcomeAt: (n) => (n === 0 ? OK : TIMEOUT),
  });
  // check 2 starts at 1000: attempt 1000 (ends 1500), retry at 1700 (ends 2200), retry at 2400 (ends 2900).
  assert.deepEqual(attemptStarts.slice(0, 4), [0, 1000, 1700, 2400]);
  assert.equal(transitions.length, 1);
  assert.deepEqual(transitions[0], { at: 2900, up: false, reason: 'timeout' });
  // The bound: connect_timeout + retry × (delay_before_retry + connect_timeout) after the first failing attempt.
  const bound = t.connectTimeoutMs + t.retry * (t.delayBeforeRetryMs + t.connectTimeoutMs);
  assert.ok(transitions[0]!.at - 1000 <= bound, `${transitions[0]!.at - 1000} > ${bound}`);
});

test('a retry that passes cancels the failure: no state change', () => {
  const t = timing({ retry: 1, delayBeforeRetryMs: 100 });
  const seq = [OK, REFUSED, OK, OK];
  const { transitions, changes } = simulate(t, { startUp: true, untilMs: 3000, outcomeAt: (n) => seq[n] ?? OK });
  assert.deepEqual(transitions, []);
  // The operator still sees the blip: refused, then ok again.
  assert.deepEqual(changes.map((c) => c.reason), ['ok', 'refused', 'ok']);
});

test('check_http.c timeout_epilog: while down, HTTP_GET/SSL_GET fail a check at once; only a checker that never ran retries', () => {
  const t = timing({ delayLoopMs: 1000, retry: 3, delayBeforeRetryMs: 100 });
  assert.equal(retryRuleOf('http'), 'up_or_unrun');
  assert.equal(retryRuleOf('ssl'), 'up_or_unrun');
  // alpha (down), never run: the first failed attempt is retried (`is_up || !has_run`), the
  // retry ends has_run, so the check fails then; later checks get no retry.
  const { attemptStarts, state, retries } = simulate(t, { rule: 'up_or_unrun', startUp: false, untilMs: 3500, outcomeAt: () => REFUSED });
  assert.deepEqual(attemptStarts, [0, 101, 1000, 2000, 3000]);
  assert.deepEqual(retries, [false, true, false, false, false]);
  assert.equal(state.up, false);
  assert.equal(state.failStreak, 4);
  // up: the usual `retry` retries, each delay_before_retry after the failed attempt.
  const up = simulate(t, { rule: 'up_or_unrun', startUp: true, untilMs: 900, outcomeAt: () => REFUSED });
  assert.deepEqual(up.attemptStarts, [0, 101, 202, 303]);
  assert.deepEqual(up.transitions, [{ at: 304, up: false, reason: 'refused' }]);
});

test('check_misc.c misc_check_child_thread: MISC_CHECK retries only while up or before its first attempt, like HTTP', () => {
  assert.equal(retryRuleOf('misc'), 'up_or_unrun');
  const t = timing({ delayLoopMs: 1000, retry: 1, delayBeforeRetryMs: 100 });
  // up, then the script fails from the second check on: retried once, then down; then no retries.
  const r = simulate(t, { rule: retryRuleOf('misc'), startUp: true, untilMs: 3500, outcomeAt: (n) => (n === 0 ? OK : REFUSED) });
  assert.deepEqual(r.attemptStarts, [0, 1000, 1101, 2000, 3000]);
  assert.deepEqual(r.transitions, [{ at: 1102, up: false, reason: 'refused' }]);
});

test('check_tcp.c tcp_epilog: TCP_CHECK retries a failed attempt in any state, down included', () => {
  assert.equal(retryRuleOf('tcp'), 'any_state');
  const t = timing({ delayLoopMs: 1000, retry: 2, delayBeforeRetryMs: 100 });
  const { attemptStarts, state, transitions, retries } = simulate(t, { rule: 'any_state', startUp: false, untilMs: 2500, outcomeAt: () => REFUSED });
  // every check: the attempt and two retries, down or not
  assert.deepEqual(attemptStarts, [0, 101, 202, 1000, 1101, 1202, 2000, 2101, 2202]);
  assert.deepEqual(retries, [false, true, true, false, true, true, false, true, true]);
  assert.deepEqual(transitions, []);
  assert.equal(state.failStreak, 3);
  // and a retry that passes brings a down TCP checker up within the same check
  const back = simulate(t, { rule: 'any_state', startUp: false, untilMs: 1500, outcomeAt: (n) => (n === 4 ? OK : REFUSED) });
  assert.deepEqual(back.transitions, [{ at: 1102, up: true, reason: 'ok' }]);
});

test('check_data.c validate_check_config: "one failure is enough initially" (retry_it = retry at start)', () => {
  const t = timing({ delayLoopMs: 1000, retry: 2, delayBeforeRetryMs: 100 });
  for (const rule of ['any_state', 'up_or_unrun'] as const) {
    // starts up with retryIt preset: the very first failure decides, no retry
    const r = simulate(t, { rule, startUp: true, retryIt: t.retry, untilMs: 500, outcomeAt: () => REFUSED });
    assert.deepEqual(r.attemptStarts, [0], rule);
    assert.deepEqual(r.transitions, [{ at: 1, up: false, reason: 'refused' }], rule);
    // a first success clears the preset: later failures get their retries again
    const q = simulate(t, { rule, startUp: true, retryIt: t.retry, untilMs: 1500, outcomeAt: (n) => (n === 0 ? OK : REFUSED) });
    assert.deepEqual(q.attemptStarts, [0, 1000, 1101, 1202], rule);
    assert.deepEqual(q.transitions, [{ at: 1203, up: false, reason: 'refused' }], rule);
  }
});

test('recovery is seen within one delay_loop', () => {
  const t = timing({ delayLoopMs: 1000, retry: 2, delayBeforeRetryMs: 300 });
  // down from the start (alpha); the server comes back at t=2300.
  const back = 2300;
  const { transitions } = simulate(t, { startUp: false, untilMs: 6000, outcomeAt: (_n, at) => (at >= back ? OK : REFUSED) });
  assert.equal(transitions.length, 1);
  assert.equal(transitions[0]!.up, true);
  assert.ok(transitions[0]!.at - back <= t.delayLoopMs, `recovered ${transitions[0]!.at - back} ms after`);
});

test('alpha: starts down until the first success; non-alpha starts up', () => {
  const t = timing();
  const a = simulate(t, { startUp: false, untilMs: 0, outcomeAt: () => OK });
  assert.deepEqual(a.transitions, [{ at: 1, up: true, reason: 'ok' }]);
  const b = simulate(t, { startUp: true, untilMs: 0, outcomeAt: () => OK });
  assert.deepEqual(b.transitions, []);
  assert.equal(b.state.up, true);
  assert.equal(b.state.hasRun, true);
});

test('rise/fall count whole checks (after retries), not attempts', () => {
  const t = timing({ rise: 3, fall: 2, retry: 1, delayBeforeRetryMs: 100, delayLoopMs: 1000 });
  // up; then every attempt fails: check 1 (attempt+retry) fails, check 2 fails → down after the 2nd check.
  const r = simulate(t, { startUp: true, untilMs: 1999, outcomeAt: () => REFUSED });
  assert.deepEqual(r.attemptStarts, [0, 101, 1000, 1101]);
  assert.deepEqual(r.transitions, [{ at: 1102, up: false, reason: 'refused' }]);
  // down; three passed checks needed.
  const u = simulate(t, { startUp: false, untilMs: 5000, outcomeAt: () => OK });
  assert.deepEqual(u.transitions, [{ at: 2001, up: true, reason: 'ok' }]);
});

// No flapping (issue 4): a server failing one check in ten with rise/fall 3 never changes state.
// Each row: a failure pattern over 1,000 checks, the starting state, and whether a change is expected.
const flapRows: Array<{ name: string; startUp: boolean; fails: (n: number) => boolean; changes: number }> = [
  { name: 'every 10th check fails, up', startUp: true, fails: (n) => n % 10 === 9, changes: 0 },
  { name: 'every 10th check fails, offset 3, up', startUp: true, fails: (n) => n % 10 === 3, changes: 0 },
  { name: 'one in ten at pseudo-random positions, up', startUp: true, fails: (n) => (n * 7919 + 13) % 10 === 0, changes: 0 },
  { name: 'two failures in a row every 10 checks, up', startUp: true, fails: (n) => n % 10 === 4 || n % 10 === 5, changes: 0 },
  { name: 'nine in ten fail (one success in ten), down', startUp: false, fails: (n) => n % 10 !== 0, changes: 0 },
  // Control rows: the same harness does see real changes.
  { name: 'three failures in a row once, up', startUp: true, fails: (n) => n >= 500 && n < 503, changes: 2 },
  { name: 'outage from check 100 on, up', startUp: true, fails: (n) => n >= 100, changes: 1 },
];

for (const row of flapRows) {
  test(`no flapping with rise/fall 3: ${row.name} → ${row.changes} change(s)`, () => {
    const t = timing({ rise: 3, fall: 3, retry: 0, delayLoopMs: 1000 });
    const { transitions, attemptStarts } = simulate(t, {
      startUp: row.startUp,
      untilMs: 999_000,
      outcomeAt: (n) => (row.fails(n) ? REFUSED : OK),
    });
    assert.equal(attemptStarts.length, 1000);
    assert.equal(transitions.length, row.changes, JSON.stringify(transitions.slice(0, 5)));
  });
}

test('one failure in ten with retry 1 and rise/fall 1 never changes state either (the retry absorbs it)', () => {
  const t = timing({ retry: 1, delayBeforeRetryMs: 50, delayLoopMs: 1000 });
  const { transitions } = simulate(t, { startUp: true, untilMs: 500_000, outcomeAt: (n) => (n % 10 === 9 ? REFUSED : OK) });
  assert.deepEqual(transitions, []);
});

test('suspend stops new attempts; a result in flight still counts; resume re-arms', () => {
  const t = timing();
  let s = initialCheckerState(true, 0);
  let r = stepChecker(t, 'any_state', s, { kind: 'start', now: 0, delayMs: 0 });
  s = r.state;
  r = stepChecker(t, 'any_state', s, { kind: 'due', now: 0 });
  s = r.state;
  assert.deepEqual(r.effects, [{ kind: 'probe', retry: false }]);
  r = stepChecker(t, 'any_state', s, { kind: 'suspend', now: 5 });
  s = r.state;
  assert.deepEqual(r.effects, [{ kind: 'disarm' }]);
  r = stepChecker(t, 'any_state', s, { kind: 'result', now: 10, outcome: REFUSED });
  s = r.state;
  assert.equal(s.up, false);
  assert.ok(!r.effects.some((e) => e.kind === 'arm'), 'nothing armed while suspended');
  r = stepChecker(t, 'any_state', s, { kind: 'due', now: 2000 });
  assert.deepEqual(r.effects, [], 'a stray timer does not probe while suspended');
  r = stepChecker(t, 'any_state', s, { kind: 'resume', now: 3000, delayMs: 7 });
  s = r.state;
  assert.deepEqual(r.effects, [{ kind: 'arm', delayMs: 7 }]);
  assert.equal(s.suspended, false);
});

test('a result without an attempt in flight is ignored', () => {
  const s = initialCheckerState(true, 0);
  const r = stepChecker(timing(), 'any_state', s, { kind: 'result', now: 1, outcome: REFUSED });
  assert.equal(r.state, s);
  assert.deepEqual(r.effects, []);
});
