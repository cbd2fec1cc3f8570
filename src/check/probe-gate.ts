/**
 * Starts probes in small batches, one batch per event-loop turn, so that many checks
 * falling due in the same millisecond (warmup 0, or a reload) cannot hold the event loop
 * for long: VRRP adverts and everything else run between batches.
 *
 * Measured (bench/checks.ts, 1,000 checks due at once each second, 2 vCPU): starting all
 * probes inside the timer callbacks held the loop up to 157 ms (a 100 ms timer fired
 * 150 ms late); with batches of PROBES_PER_TURN the same load stays in the single-digit
 * milliseconds (see docs/health-checks.md).
 */

/** Probes started per event-loop turn; one HTTP probe start costs ~0.1 ms of CPU. */
export const PROBES_PER_TURN = 16;

/**
 * Starts at most `perTurn` probes per event-loop turn: the first ones at once (no extra
 * hop when checks are spread out, the common case), the rest queued in order and drained
 * `perTurn` per later turn.
 */
export class ProbeGate {
  private readonly queue: Array<() => void> = [];
  private head = 0;
  private startedThisTurn = 0;
  private scheduled = false;
  private readonly perTurn: number;
  private readonly defer: (fn: () => void) => void;

  /** `defer` runs fn on a later turn (default setImmediate: after pending I/O and timers). */
  constructor(perTurn = PROBES_PER_TURN, defer: (fn: () => void) => void = (fn) => void setImmediate(fn)) {
    this.perTurn = Math.max(1, perTurn);
    this.defer = defer;
  }

  /** Starts now if this turn has room and nothing is waiting; else queues it. */
  enqueue(start: () => void): void {
    if (this.head === this.queue.length && this.startedThisTurn < this.perTurn) {
      this.startedThisTurn++;
      this.schedule();
      run(start);
      return;
    }
    this.queue.push(start);
    this.schedule();
  }

  /** Starts waiting to run. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => this.turn());
  }

  /** A new turn: the budget resets and queued starts run, `perTurn` of them. */
  private turn(): void {
    this.scheduled = false;
    this.startedThisTurn = 0;
    while (this.head < this.queue.length && this.startedThisTurn < this.perTurn) {
      const fn = this.queue[this.head]!;
      this.queue[this.head++] = noop;
      this.startedThisTurn++;
      run(fn);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    // another turn drains the rest, or just resets the budget spent here
    if (this.startedThisTurn > 0) this.schedule();
  }
}

function run(fn: () => void): void {
  try {
    fn();
  } catch {
    // a start never throws (probes report failures as outcomes); never let one stall the queue
  }
}

const noop = (): void => undefined;
