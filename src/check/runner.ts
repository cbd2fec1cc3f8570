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
import {
  initialCheckerState,
  migrateCheckerState,
  stepChecker,
  type CheckerEffect,
  type CheckerInput,
  type CheckerState,
} from './machine.js';

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
  private stopped = false;

  /** `gate`: probes start through it (batched per event-loop turn); null = at once. */
  constructor(opts: { checker: Checker; clock: Clock; probe: Probe; hooks: RunnerHooks; startUp: boolean; state?: CheckerState; gate?: ProbeGate | null }) {
    this._checker = opts.checker;
    this.gate = opts.gate ?? null;
    this.clock = opts.clock;
    this.probe = opts.probe;
    this.hooks = opts.hooks;
    this._state = opts.state ?? initialCheckerState(opts.startUp, opts.clock.now());
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
    if (!timingChanged) return;
    this._state = migrateCheckerState(this._state, next.timing);
    this.feed({ kind: 'retime', now: this.clock.now() });
  }

  /** Stops for good: cancels the timer, closes the probe; a result in flight is ignored. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.probe.close();
  }

  private feed(input: CheckerInput): void {
    if (this.stopped) return;
    const { state, effects } = stepChecker(this._checker.timing, this._state, input);
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
      case 'probe':
        if (this.gate) this.gate.enqueue(() => this.startProbe());
        else this.startProbe();
        return;
      case 'result-changed':
      case 'transition':
        this.hooks.onChange(this, e);
        return;
    }
  }

  private startProbe(): void {
    if (this.stopped) return;
    this.probe.run().then(
      (outcome) => this.feed({ kind: 'result', now: this.clock.now(), outcome }),
      (err: unknown) =>
        this.feed({ kind: 'result', now: this.clock.now(), outcome: { ok: false, reason: 'error', detail: String(err), latencyMs: 0 } }),
    );
  }
}
