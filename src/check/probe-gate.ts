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

/** A FIFO of probe starts drained `perTurn` at a time. */
export class ProbeGate {
  private readonly queue: Array<() => void> = [];
  private head = 0;
  private scheduled = false;
  private readonly perTurn: number;
  private readonly defer: (fn: () => void) => void;

  /** `defer` runs fn on a later turn (default setImmediate: after pending I/O and timers). */
  constructor(perTurn = PROBES_PER_TURN, defer: (fn: () => void) => void = (fn) => void setImmediate(fn)) {
    this.perTurn = Math.max(1, perTurn);
    this.defer = defer;
  }

  /** Queues a start; it runs on a later turn, in order. */
  enqueue(start: () => void): void {
    this.queue.push(start);
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(() => this.drain());
    }
  }

  /** Starts waiting to run. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  private drain(): void {
    this.scheduled = false;
    const end = Math.min(this.queue.length, this.head + this.perTurn);
    while (this.head < end) {
      const fn = this.queue[this.head]!;
      this.queue[this.head++] = noop;
      try {
        fn();
      } catch {
        // a start never throws (probes report failures as outcomes); never let one stall the queue
      }
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (!this.scheduled) {
      this.scheduled = true;
      this.defer(() => this.drain());
    }
  }
}

const noop = (): void => undefined;
