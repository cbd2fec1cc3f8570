/**
 * Notifications as keepalived sends them (keepalived/vrrp/vrrp_notify.c): the
 * notify_master / _backup / _fault / _stop script of the new state, the generic `notify`
 * script with four arguments (`INSTANCE|GROUP NAME STATE PRIORITY`, priority 0 for a
 * group), and one line per change on the notify FIFOs (`INSTANCE "NAME" STATE PRIORITY`).
 * Scripts run through the ScriptPort, never blocking the event loop.
 */
import type { EventBus } from '../events/bus.js';
import type { ScriptPort } from '../io/ports.js';
import type { NotifyScripts, ScriptCommand, ScriptUser } from '../model/types.js';

/** Writes notify FIFO lines (src/vrrp/notify-fifo.ts is the real one). */
export interface NotifyFifoPort {
  /** Writes one line; false when it could not (no reader with a full pipe, bad path). Never throws. */
  write(path: string, line: string): boolean;
  /** Creates the FIFOs that are missing; called at start and reload, never during a transition. */
  prepare?(paths: readonly string[]): Promise<void>;
  close(): void;
}

/** States and events that have a FIFO word in keepalived. */
export type NotifyWord = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'MASTER_RX_LOWER_PRI';

/** keepalived notify_fifo(): `TYPE "NAME" STATE PRIORITY\n`. */
export function fifoLine(type: 'INSTANCE' | 'GROUP', name: string, word: NotifyWord, priority: number): string {
  return `${type} "${name}" ${word} ${priority}\n`;
}

/** keepalived notify_script_exec(): the generic notify script's extra arguments. */
export function notifyArgs(type: 'INSTANCE' | 'GROUP', name: string, state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP', priority: number): string[] {
  return [type, name, state, String(priority)];
}

/** Longest a notify script may run (keepalived lets them run; lvsd bounds them). */
export const NOTIFY_TIMEOUT_MS = 30_000;
/** notify_stop scripts are killed after 1 s, as keepalived does (child_killed_thread, TIMER_HZ). */
export const NOTIFY_STOP_TIMEOUT_MS = 1_000;

/** Where notifications go. */
export interface NotifierSettings {
  /** notify_fifo and vrrp_notify_fifo paths (null entries dropped). */
  readonly fifoPaths: readonly string[];
  readonly scriptUser: ScriptUser | null;
}

/** Runs notify scripts and writes FIFO lines; tracks running scripts so stop() can wait. */
export class Notifier {
  private settings: NotifierSettings;
  private readonly scripts: ScriptPort;
  private readonly fifo: NotifyFifoPort;
  private readonly bus: EventBus;
  private readonly running = new Set<Promise<void>>();
  /** FIFO lines not written. */
  fifoFailures = 0;

  constructor(deps: { scripts: ScriptPort; fifo: NotifyFifoPort; bus: EventBus }, settings: NotifierSettings) {
    this.scripts = deps.scripts;
    this.fifo = deps.fifo;
    this.bus = deps.bus;
    this.settings = settings;
  }

  /** Applies new settings (reload). */
  configure(settings: NotifierSettings): void {
    this.settings = settings;
  }

  /** An instance entered `state` (keepalived send_instance_notifies). */
  instance(name: string, notify: NotifyScripts, state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP', priority: number): void {
    this.changed('INSTANCE', name, notify, state, priority);
  }

  /** A sync group entered `state` (keepalived send_group_notifies); the priority is 0. */
  group(name: string, notify: NotifyScripts, state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'): void {
    this.changed('GROUP', name, notify, state, 0);
  }

  /** A MASTER heard a lower-priority advert (keepalived send_event_notify). */
  masterRxLowerPri(name: string, notify: NotifyScripts, priority: number): void {
    if (notify.masterRxLowerPri) this.run(notify.masterRxLowerPri, 'notify_master_rx_lower_pri', [], NOTIFY_TIMEOUT_MS);
    this.writeFifo(fifoLine('INSTANCE', name, 'MASTER_RX_LOWER_PRI', priority));
  }

  /** Resolves when every script started so far has ended (or after `maxMs`). */
  async settle(maxMs: number): Promise<void> {
    if (this.running.size === 0) return;
    await Promise.race([Promise.allSettled([...this.running]), new Promise<void>((r) => setTimeout(r, maxMs).unref())]);
  }

  private changed(type: 'INSTANCE' | 'GROUP', name: string, notify: NotifyScripts, state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP', priority: number): void {
    const timeout = state === 'STOP' ? NOTIFY_STOP_TIMEOUT_MS : NOTIFY_TIMEOUT_MS;
    const specific = state === 'MASTER' ? notify.master : state === 'BACKUP' ? notify.backup : state === 'FAULT' ? notify.fault : notify.stop;
    if (specific) this.run(specific, `notify_${state.toLowerCase()}`, [], timeout);
    if (notify.generic) this.run(notify.generic, 'notify', notifyArgs(type, name, state, priority), timeout);
    this.writeFifo(fifoLine(type, name, state, priority));
  }

  private writeFifo(line: string): void {
    for (const p of this.settings.fifoPaths) if (!this.fifo.write(p, line)) this.fifoFailures++;
  }

  private run(cmd: ScriptCommand, purpose: string, extraArgs: readonly string[], timeoutMs: number): void {
    const p = this.scripts
      .run(cmd, { timeoutMs, user: cmd.user ?? this.settings.scriptUser, extraArgs })
      .then((r) => {
        this.bus.emit({
          type: 'script.result', purpose, command: [cmd.line, ...extraArgs].join(' '),
          exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, durationMs: r.durationMs,
        });
      })
      .catch((err: unknown) => {
        this.bus.emit({ type: 'log', level: 'error', msg: `${purpose} script failed to run: ${String(err)}`, fields: { command: cmd.line } });
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }
}
