/**
 * A hashed timer wheel for connection expiry over typed arrays (no setTimeout per
 * connection, no allocation). Items are small integers (connection table entries); each
 * has a deadline tick kept by the caller. Model: undici lib/util/timers.js (coarse ticks,
 * lazy re-arming).
 *
 * Lazy re-arming: refreshing a connection on every packet only moves its deadline later,
 * which costs one store in the caller's deadline array; the wheel notices when the item's
 * slot comes round and re-slots it then. Moving a deadline *earlier* (a state change from
 * ESTABLISHED's 900 s to CLOSE's 10 s) must re-slot at once: `reschedule()` does that.
 */
export class ExpiryWheel {
  /** Slot count (power of two) and mask. */
  readonly slots: number;
  private readonly mask: number;
  private readonly head: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  /** Tick each item is filed under (≤ its deadline); -1 = not filed. Ticks stay below 2^31. */
  private readonly filed: Int32Array;
  /** Last tick processed by advance(). */
  private current: number;

  constructor(capacity: number, slots = 16384, startTick = 0) {
    if ((slots & (slots - 1)) !== 0) throw new RangeError('slots must be a power of two');
    this.slots = slots;
    this.mask = slots - 1;
    this.head = new Int32Array(slots).fill(-1);
    this.next = new Int32Array(capacity).fill(-1);
    this.prev = new Int32Array(capacity).fill(-1);
    this.filed = new Int32Array(capacity).fill(-1);
    this.current = startTick;
  }

  /** The last tick advance() processed. */
  get tick(): number {
    return this.current;
  }

  /** Bytes of typed arrays held per item (for memory accounting). */
  static readonly bytesPerItem = 4 + 4 + 4;

  /** Files item i under tick `at` (at least the next tick). The item must not be filed. */
  schedule(i: number, at: number): void {
    if (at <= this.current) at = this.current + 1;
    this.filed[i] = at;
    const s = at & this.mask;
    const h = this.head[s]!;
    this.next[i] = h;
    this.prev[i] = -1;
    if (h >= 0) this.prev[h] = i;
    this.head[s] = i;
  }

  /** Removes item i from the wheel (no-op when not filed). */
  unlink(i: number): void {
    const at = this.filed[i]!;
    if (at < 0) return;
    const n = this.next[i]!;
    const p = this.prev[i]!;
    if (p >= 0) this.next[p] = n;
    else this.head[at & this.mask] = n;
    if (n >= 0) this.prev[n] = p;
    this.filed[i] = -1;
  }

  /** Makes sure item i is filed no later than `deadline` (re-files only when it moved earlier). */
  reschedule(i: number, deadline: number): void {
    const at = this.filed[i]!;
    if (at >= 0 && at <= deadline) return;
    this.unlink(i);
    this.schedule(i, deadline);
  }

  /** True when item i is filed. */
  isFiled(i: number): boolean {
    return this.filed[i]! >= 0;
  }

  /**
   * Processes every tick up to `now`. For each item filed under a processed tick,
   * `deadlineOf(i)` gives its current deadline: when it is ≤ now, the item is unlinked and
   * `expire(i)` is called (which may schedule it again); otherwise it is re-filed under its
   * deadline. Returns the number of items expired. At most `maxTicks` ticks are processed per
   * call (the rest on the next call), bounding the work after a long pause.
   */
  advance(now: number, deadlineOf: (i: number) => number, expire: (i: number) => void, maxTicks = 1 << 20): number {
    let expired = 0;
    let t = this.current;
    const stop = Math.min(now, t + maxTicks);
    // A jump of more than a full turn visits every slot once.
    if (stop - t > this.slots) t = stop - this.slots;
    while (t < stop) {
      t++;
      const s = t & this.mask;
      let i = this.head[s]!;
      while (i >= 0) {
        const n = this.next[i]!;
        const at = this.filed[i]!;
        if (at <= stop) {
          this.unlink(i);
          const dl = deadlineOf(i);
          if (dl <= stop) {
            expired++;
            expire(i);
          } else {
            this.current = t;
            this.schedule(i, dl);
          }
        }
        i = n;
      }
    }
    this.current = stop;
    return expired;
  }
}
