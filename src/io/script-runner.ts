import { spawn } from 'node:child_process';
import type { ScriptCommand, ScriptUser } from '../model/types.js';
import type { ScriptPort, ScriptResult } from './ports.js';
import { SCRIPT_SEARCH_PATH } from '../config/script-host.js';
import { Accounts } from '../lib/accounts.js';

const OUTPUT_LIMIT = 4096;
/** Grace between SIGTERM and SIGKILL for a script that overran its timeout. */
export const KILL_GRACE_MS = 1000;
/**
 * After SIGKILL, how long to wait for the exit report before settling anyway (a process
 * stuck in uninterruptible sleep): a caller (a checker, a track script) must never wait
 * for ever.
 */
export const GIVE_UP_MS = 1000;
/**
 * After the script exits, how long its stdout/stderr may still deliver bytes already
 * written. A background child that inherited the pipes can hold them open for as long as
 * it lives; we stop reading then instead of waiting for it.
 */
export const OUTPUT_DRAIN_MS = 20;

/**
 * Runs scripts as child processes (no shell, as keepalived execs them), never blocking the
 * event loop. The promise settles when the script *process* exits, as keepalived waits on
 * the script's pid (scheduler.c thread_add_child / waitpid), not when its output pipes
 * close: a script that leaves a background child holding stdout (`sleep 3 & exit 0`, a
 * `setsid` daemon) has still finished. Output is what arrived by then (and within
 * OUTPUT_DRAIN_MS). A script that overruns its timeout gets SIGTERM on its process group,
 * SIGKILL KILL_GRACE_MS later, and the promise settles at the latest GIVE_UP_MS after that;
 * once a timed-out script is gone its group is sent SIGKILL at once, as keepalived's
 * misc_check_child_thread does, so no child it started lives on.
 */
export class ChildScriptRunner implements ScriptPort {
  private defaultUser: ScriptUser | null;
  private readonly users: Accounts;
  /** `users`: the passwd/group lookup, read once until a (re)load (setDefaultUser) clears it. */
  constructor(defaultUser: ScriptUser | null = null, users: Accounts = new Accounts()) {
    this.defaultUser = defaultUser;
    this.users = users;
  }

  /** Sets the user scripts run as when they name none (`global_defs { script_user }`); a (re)load also forgets what was read of passwd and group. */
  setDefaultUser(user: ScriptUser | null): void {
    this.defaultUser = user;
    this.users.clear();
  }

  run(
    cmd: ScriptCommand,
    opts: { timeoutMs: number; user?: ScriptUser | null; extraArgs?: readonly string[]; env?: Readonly<Record<string, string>> },
  ): Promise<ScriptResult> {
    const started = performance.now();
    const user = opts.user ?? this.defaultUser;
    const ids = user ? this.users.resolve(user) : null;
    const fail = (spawnError: string): Promise<ScriptResult> =>
      Promise.resolve({ exitCode: null, signal: null, timedOut: false, durationMs: 0, output: '', spawnError });
    if (user && !ids) return fail(`unknown user ${user.user}${user.group ? `:${user.group}` : ''}`);
    if (cmd.argv.length === 0) return fail('empty command');
    return new Promise((resolve) => {
      let output = '';
      let timedOut = false;
      let settled = false;
      let endedAt: number | null = null;
      const timers: NodeJS.Timeout[] = [];
      const later = (ms: number, fn: () => void) => {
        const t = setTimeout(fn, ms);
        t.unref();
        timers.push(t);
      };
      const child = spawn(cmd.argv[0]!, [...cmd.argv.slice(1), ...(opts.extraArgs ?? [])], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: SCRIPT_SEARCH_PATH.join(':'), ...(opts.env ?? {}) },
        ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
        detached: true, // own process group, so a timeout kills the script's children too
      });
      const collect = (b: Buffer) => {
        if (output.length < OUTPUT_LIMIT) output += b.toString('utf8', 0, Math.min(b.length, OUTPUT_LIMIT - output.length));
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      const killGroup = (sig: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          /* already gone */
        }
      };
      const finish = (r: Omit<ScriptResult, 'durationMs' | 'output' | 'timedOut'>) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        // stop reading pipes a background child may hold open; their fds must not leak
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({ ...r, timedOut, durationMs: (endedAt ?? performance.now()) - started, output });
      };
      later(Math.max(1, opts.timeoutMs), () => {
        timedOut = true;
        killGroup('SIGTERM');
        later(KILL_GRACE_MS, () => {
          killGroup('SIGKILL');
          later(GIVE_UP_MS, () => finish({ exitCode: null, signal: null, spawnError: null }));
        });
      });
      child.on('error', (err) => finish({ exitCode: null, signal: null, spawnError: (err as NodeJS.ErrnoException).code ?? err.message }));
      child.on('exit', (code, signal) => {
        endedAt = performance.now();
        // the timeout (and its kill sequence) ends with the process
        for (const t of timers) clearTimeout(t);
        timers.length = 0;
        if (timedOut) killGroup('SIGKILL');
        const done = () => finish({ exitCode: code, signal, spawnError: null });
        const pipesDone = (!child.stdout || child.stdout.readableEnded || child.stdout.destroyed) && (!child.stderr || child.stderr.readableEnded || child.stderr.destroyed);
        if (pipesDone) return done();
        child.once('close', done);
        later(OUTPUT_DRAIN_MS, done);
      });
    });
  }
}
