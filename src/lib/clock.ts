/**
 * Time as a port. Protocol logic never reads the clock: the driver passes `now` in.
 * Drivers take a Clock so tests can run them on a ManualClock.
 */

/** A handle for a scheduled callback. */
export interface TimerHandle {
  cancel(): void;
}

/** Monotonic time in milliseconds plus one-shot timers. */
export interface Clock {
  /** Monotonic milliseconds (fractional allowed); never goes backwards. */
  now(): number;
  /** Calls fn after delayMs (>= 0). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/** The real clock: performance.now() and setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to; timers fire in deadline order, ties in arming order. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private pending: Pending[] = [];
  constructor(startMs = 0) {
    this.t = startMs;
  }
  now(): number {
    return this.t;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.pending.push(p);
    return { cancel: () => { p.cancelled = true; } };
  }
  /** Advances time by ms, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      let next: Pending | undefined;
      for (const p of this.pending) {
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      next.cancelled = true;
      next.fn();
    }
    this.t = end;
  }
  /** Number of armed, uncancelled timers. */
  get armed(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }
}

/**
 * The real clock, but a due timer runs only after the event loop's next I/O poll
 * (setTimeout, then setImmediate). libuv runs expired timers before it polls sockets, so
 * after a stall (a starved CPU, a GC pause) a VRRP BACKUP's Master_Down timer would fire
 * while the MASTER's adverts still wait unread in the socket buffer, and the BACKUP would
 * take over from a live MASTER. With this clock the adverts are read first; the machine
 * re-arms the timer, and cancel() stops the pending run. Costs at most one loop turn.
 */
export const ioFirstClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs, fn) {
    let immediate: NodeJS.Immediate | null = null;
    const t = setTimeout(() => {
      immediate = setImmediate(fn);
    }, Math.max(0, delayMs));
    return {
      cancel: () => {
        clearTimeout(t);
        if (immediate) clearImmediate(immediate);
      },
    };
  },
};
