/**
 * Real-time scheduling for the daemon's main thread, where VRRP's timers and adverts run
 * (keepalived's `vrrp_rt_priority`). The forwarding core runs in worker threads (D5), but
 * that alone does not keep adverts on time when the CPUs are saturated: a SCHED_OTHER main
 * thread then waits its turn behind every busy thread of the machine.
 *
 * Measured with test/netns/e2e/saturation.test.ts (2 vCPUs, wrk saturating the data plane,
 * adverts every 100 ms, Master_Down_Interval 361 ms): with SCHED_OTHER the MASTER's adverts
 * paused up to 718 ms and the BACKUP falsely took over in 7 of 11 runs; with both main
 * threads at SCHED_RR 10, 604 adverts of 601 expected, worst gap 297 ms, no transition
 * (docs/decisions/vrrp-realtime-priority.md).
 *
 * Only the main thread (TID = PID) changes, with SCHED_RESET_ON_FORK, so threads and
 * processes started later (forwarding workers restarted by a reload, libuv's pool, notify
 * and check scripts) run at normal priority. Done through util-linux `chrt`; it needs
 * CAP_SYS_NICE (root has it; the systemd unit grants it). A failure is logged, not fatal.
 */
import { execFile } from 'node:child_process';

/** Default SCHED_RR priority of the main thread (1..99; 0 leaves the scheduling alone). */
export const DEFAULT_RT_PRIORITY = 10;

/** The priority to use: $LVSD_VRRP_RT_PRIORITY if set (0..99), else the default. */
export function rtPriorityFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.LVSD_VRRP_RT_PRIORITY;
  if (v === undefined || v === '') return DEFAULT_RT_PRIORITY;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 99 ? n : DEFAULT_RT_PRIORITY;
}

/** Puts thread `tid` (default: this process's main thread) in SCHED_RR at `priority`. */
export function raiseMainThreadPriority(priority: number, tid: number = process.pid): Promise<{ ok: boolean; detail: string }> {
  if (priority <= 0) return Promise.resolve({ ok: true, detail: 'left alone (LVSD_VRRP_RT_PRIORITY=0)' });
  return new Promise((resolve) => {
    execFile('chrt', ['--rr', '--reset-on-fork', '--pid', String(priority), String(tid)], { timeout: 5000 }, (err, _out, stderr) => {
      if (err) resolve({ ok: false, detail: (stderr || err.message).trim() });
      else resolve({ ok: true, detail: `SCHED_RR priority ${priority}` });
    });
  });
}
