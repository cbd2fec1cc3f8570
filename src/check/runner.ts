/**
 * The thin driver of one checker: feeds inputs to the pure machine (src/check/machine.ts)
 * and executes its effects on a Clock (one timer per checker) and a Probe. Everything it
 * decides comes from stepChecker; it only does the I/O.
 */
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { Checker } from '../model/types.js';
import type { CheckOutcome } from './outcome.js';
import type { Probe } from './probe.js';
import type { ProbeGate } from './probe-gate.js';
import { failed } from './outcome.js';
import {
  initialCheckerState,
  migrateCheckerState,
  retryRuleOf,
  stepChecker,
  type CheckerEffect,
  type CheckerInput,
  type CheckerState,
} from './machine.js';

/**
 * The longest one attempt of a checker can take when its probe keeps its own deadlines:
 * connect_timeout for TCP_CHECK; one connect_timeout per url for HTTP_GET/SSL_GET (each url
 * is fetched under its own deadline, keepalived's per-url timeout); misc_timeout for
 * MISC_CHECK (the ScriptPort then kills the script).
 */
export function attemptBoundMs(c: Checker): number {
  switch (c.kind) {
    case 'tcp':
      return c.timing.connectTimeoutMs;
    case 'http':
    case 'ssl':
      return Math.max(1, c.urls.length) * c.timing.connectTimeoutMs;
    case 'misc':
      return c.timeoutMs;
  }
}

/**
 * Backstop over attemptBoundMs: an attempt still unsettled this long after its bound (a
 * script whose process never reports its exit, a probe bug) is ended by the runner with a
 * timeout, so a checker can never freeze. It covers the ScriptPort's SIGTERM → SIGKILL
 * grace and its own give-up wait (src/io/script-runner.ts, 2 s together).
 */
export const WATCHDOG_SLACK_MS = 5000;

/** What a runner reports to its owner. */
export interface RunnerHooks {
  /** A `result-changed` or `transition` effect of the machine. */
  onChange(runner: CheckerRunner, effect: Extract<CheckerEffect, { kind: 'result-changed' | 'transition' }>): void;
  /** Every attempt's outcome, before the step's effects (misc_dynamic weight, verbose results); `state` is already the new one. */
  onResult(runner: CheckerRunner, outcome: CheckOutcome): void;
}

/** Drives one checker. */
export class CheckerRunner {
  private _checker: Checker;
  private _state: CheckerState;
  private readonly clock: Clock;
  private readonly probe: Probe;
  private readonly hooks: RunnerHooks;
  private readonly gate: ProbeGate | null;
  private timer: TimerHandle | null = null;
  private watchdog: TimerHandle | null = null;
  /** Numbers attempts; a result for an attempt that is no longer current is dropped. */
  private attemptSeq = 0;
  private stopped = false;

  /**
   * `gate`: probes start through it (batched per event-loop turn); null = at once.
   * `oneFailureDecides`: keepalived's "one failure is enough" — the first failed attempt
   * ends the check without retries (machine.ts file comment).
   */
  constructor(opts: {
    checker: Checker; clock: Clock; probe: Probe; hooks: RunnerHooks; startUp: boolean;
    oneFailureDecides?: boolean; state?: CheckerState; gate?: ProbeGate | null;
  }) {
    this._checker = opts.checker;
    this.gate = opts.gate ?? null;
    this.clock = opts.clock;
    this.probe = opts.probe;
    this.hooks = opts.hooks;
    this._state = opts.state ?? initialCheckerState(opts.startUp, opts.clock.now(), opts.oneFailureDecides ? opts.checker.timing.retry : 0);
  }

  get checker(): Checker {
    return this._checker;
  }

  get state(): CheckerState {
    return this._state;
  }

  /** Starts checking; the first attempt after delayMs (warmup jitter). */
  start(delayMs: number): void {
    this.feed({ kind: 'start', now: this.clock.now(), delayMs });
  }

  suspend(): void {
    this.feed({ kind: 'suspend', now: this.clock.now() });
  }

  resume(delayMs: number): void {
    this.feed({ kind: 'resume', now: this.clock.now(), delayMs });
  }

  /**
   * Adopts a new definition that checks the same thing (reload): keeps state and history,
   * applies the new timing from the next scheduling decision on.
   */
  retime(next: Checker): void {
    const timingChanged = JSON.stringify(next.timing) !== JSON.stringify(this._checker.timing);
    this._checker = next;
    // The probe reads its deadlines (connect_timeout, misc_timeout) from the definition.
    this.probe.update(next);
    if (!timingChanged) return;
    this._state = migrateCheckerState(this._state, next.timing);
    this.feed({ kind: 'retime', now: this.clock.now() });
  }

  /** Stops for good: cancels the timer, closes the probe; a result in flight is ignored. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.watchdog?.cancel();
    this.watchdog = null;
    this.probe.close();
  }

  private feed(input: CheckerInput): void {
    if (this.stopped) return;
    const { state, effects } = stepChecker(this._checker.timing, retryRuleOf(this._checker.kind), this._state, input);
    this._state = state;
    if (input.kind === 'result') this.hooks.onResult(this, input.outcome);
    for (const e of effects) this.execute(e);
  }

  private execute(e: CheckerEffect): void {
    switch (e.kind) {
      case 'arm':
        this.timer?.cancel();
        this.timer = this.clock.setTimer(e.delayMs, () => {
          this.timer = null;
          this.feed({ kind: 'due', now: this.clock.now() });
        });
        return;
      case 'disarm':
        this.timer?.cancel();
        this.timer = null;
        return;
      case 'probe': {
        const retry = e.retry;
        if (this.gate) this.gate.enqueue(() => this.startProbe(retry));
        else this.startProbe(retry);
        return;
      }
      case 'result-changed':
      case 'transition':
        this.hooks.onChange(this, e);
        return;
    }
  }

  private startProbe(retry: boolean): void {
    if (this.stopped) return;
    const seq = ++this.attemptSeq;
    const started = this.clock.now();
    const settle = (outcome: CheckOutcome) => {
      if (seq !== this.attemptSeq || this.stopped) return; // ended by the watchdog, or stopped
      this.attemptSeq++;
      this.watchdog?.cancel();
      this.watchdog = null;
      this.feed({ kind: 'result', now: this.clock.now(), outcome });
    };
    const bound = attemptBoundMs(this._checker);
    this.watchdog = this.clock.setTimer(bound + WATCHDOG_SLACK_MS, () => {
      this.watchdog = null;
      const reason = this._checker.kind === 'misc' ? 'script_timeout' : 'timeout';
      settle(failed(reason, `attempt still running ${bound + WATCHDOG_SLACK_MS} ms after it started (watchdog)`, this.clock.now() - started));
    });
    this.probe.run({ retry }).then(
      (outcome) => settle(outcome),
      (err: unknown) => settle(failed('error', String(err), this.clock.now() - started)),
    );
  }
}
