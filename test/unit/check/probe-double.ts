/**
 * A probe double for subsystem tests: outcomes scripted per checker key, resolved at once
 * (the ManualClock is the only time there is), every run recorded.
 */
import type { ProbeFactory } from '../../../src/check/probe.js';
import type { CheckOutcome } from '../../../src/check/outcome.js';
import type { ManualClock } from '../../../src/lib/clock.js';
import type { Checker } from '../../../src/model/types.js';

export const OK: CheckOutcome = { ok: true, reason: 'ok', detail: '', latencyMs: 2 };
export const REFUSED: CheckOutcome = { ok: false, reason: 'refused', detail: 'ECONNREFUSED', latencyMs: 1 };
export const S503: CheckOutcome = { ok: false, reason: 'status', detail: 'status 503', latencyMs: 3 };

type Source = CheckOutcome | ((n: number, now: number) => CheckOutcome);

export class FakeProbes {
  readonly runs: Array<{ key: string; at: number; retry: boolean }> = [];
  readonly closed: string[] = [];
  /** Definitions handed to `update` (a reload retimed the checker), by key. */
  readonly updated: Checker[] = [];
  private readonly sources = new Map<string, Source>();
  private readonly counts = new Map<string, number>();
  private readonly clock: ManualClock;

  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  /** Sets what a checker's probe returns from now on (default OK). */
  set(key: string, s: Source): void {
    this.sources.set(key, s);
  }

  runsOf(key: string): number[] {
    return this.runs.filter((r) => r.key === key).map((r) => r.at);
  }

  readonly factory: ProbeFactory = (c) => ({
    run: async (attempt) => {
      const n = this.counts.get(c.key) ?? 0;
      this.counts.set(c.key, n + 1);
      const now = this.clock.now();
      this.runs.push({ key: c.key, at: now, retry: attempt?.retry ?? false });
      const s = this.sources.get(c.key) ?? OK;
      return typeof s === 'function' ? s(n, now) : s;
    },
    update: (next) => {
      this.updated.push(next);
    },
    close: () => {
      this.closed.push(c.key);
    },
  });
}

/** Advances a ManualClock in small steps, letting promise callbacks run between them. */
export async function advance(clock: ManualClock, ms: number, stepMs = 5): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    clock.advance(Math.min(stepMs, ms - done));
    await new Promise<void>((r) => setImmediate(r));
  }
}
