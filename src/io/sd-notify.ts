/**
 * systemd notifications (sd_notify(3)) through the addon's sdNotify. Every function is a
 * no-op returning false when the process was not started by systemd with Type=notify
 * (no NOTIFY_SOCKET), and then the addon is not even loaded.
 */
import { loadNative } from './native.js';

/** Sends one notification (newline-separated VAR=value lines). False when not under systemd or on failure. */
export function sdNotify(state: string): boolean {
  if (!process.env['NOTIFY_SOCKET']) return false;
  try {
    return loadNative().sdNotify(state);
  } catch {
    return false;
  }
}

/** READY=1 (config applied, services running), with an optional STATUS= line. */
export function sdReady(status?: string): boolean {
  return sdNotify(status ? `READY=1\nSTATUS=${status}` : 'READY=1');
}

/**
 * RELOADING=1 with MONOTONIC_USEC (required by Type=notify-reload, harmless otherwise).
 * process.hrtime reads CLOCK_MONOTONIC on Linux, the clock systemd expects.
 */
export function sdReloading(): boolean {
  return sdNotify(`RELOADING=1\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`);
}

/** STOPPING=1 at the start of a shutdown. */
export function sdStopping(): boolean {
  return sdNotify('STOPPING=1');
}

/** WATCHDOG=1: the event loop is alive. */
export function sdWatchdog(): boolean {
  return sdNotify('WATCHDOG=1');
}

/** STATUS=text shown by `systemctl status`. */
export function sdStatus(text: string): boolean {
  return sdNotify(`STATUS=${text.replace(/\n/g, ' ')}`);
}

/**
 * The watchdog timeout systemd set for this process (WatchdogSec=), in ms, or null when
 * there is none or it is meant for another PID. Ping with sdWatchdog() at half of it.
 */
export function sdWatchdogTimeoutMs(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number | null {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  const wpid = env['WATCHDOG_PID'];
  if (wpid !== undefined && wpid !== '' && Number(wpid) !== pid) return null;
  return usec / 1000;
}
