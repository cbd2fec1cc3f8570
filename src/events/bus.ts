import type { EventOf, LvsdEvent, LvsdEventType } from './types.js';

/** A listener for one event type. */
export type Listener<T extends LvsdEventType> = (ev: EventOf<T>) => void;

/**
 * A synchronous event bus: `emit` calls every listener before it returns, in subscription
 * order. A listener that throws is reported through `onListenerError` and never stops the
 * others or the emitter (a broken log sink must not take VRRP down).
 */
export class EventBus {
  private readonly byType = new Map<string, Array<(ev: LvsdEvent) => void>>();
  private readonly any: Array<(ev: LvsdEvent) => void> = [];
  onListenerError: (err: unknown, ev: LvsdEvent) => void = (err) => {
    process.emitWarning(`lvsd event listener failed: ${String(err)}`);
  };

  /** Subscribes to one type; returns the unsubscribe function. */
  on<T extends LvsdEventType>(type: T, fn: Listener<T>): () => void {
    const list = this.byType.get(type) ?? [];
    const wrapped = fn as (ev: LvsdEvent) => void;
    list.push(wrapped);
    this.byType.set(type, list);
    return () => {
      const i = list.indexOf(wrapped);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Subscribes to every event; returns the unsubscribe function. */
  onAny(fn: (ev: LvsdEvent) => void): () => void {
    this.any.push(fn);
    return () => {
      const i = this.any.indexOf(fn);
      if (i >= 0) this.any.splice(i, 1);
    };
  }

  /** Delivers ev to its type's listeners, then to the catch-all ones. */
  emit(ev: LvsdEvent): void {
    const list = this.byType.get(ev.type);
    if (list) for (const fn of [...list]) this.call(fn, ev);
    for (const fn of [...this.any]) this.call(fn, ev);
  }

  private call(fn: (ev: LvsdEvent) => void, ev: LvsdEvent): void {
    try {
      fn(ev);
    } catch (err) {
      this.onListenerError(err, ev);
    }
  }
}

/** A bus that records everything, for tests. */
export function recordingBus(): { bus: EventBus; events: LvsdEvent[] } {
  const bus = new EventBus();
  const events: LvsdEvent[] = [];
  bus.onAny((ev) => events.push(ev));
  return { bus, events };
}
