import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ScriptCommand, ScriptUser } from '../model/types.js';
import type { ScriptPort, ScriptResult } from './ports.js';
import { SCRIPT_SEARCH_PATH } from '../config/script-host.js';

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

/** Reads a whole text file, or throws (the lookup treats a throw as "no such user"). */
export type ReadText = (file: string) => string;

/** Looks a user (and optional group) up in /etc/passwd and /etc/group; null when unknown. */
export function resolveUser(u: ScriptUser, read: ReadText = (f) => readFileSync(f, 'utf8')): { uid: number; gid: number } | null {
  const field = (file: string, name: string): string[] | null => {
    let text: string;
    try {
      text = read(file);
    } catch {
      return null;
    }
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f[0] === name) return f;
    }
    return null;
  };
  const pw = /^\d+$/.test(u.user) ? null : field('/etc/passwd', u.user);
  const uid = pw ? Number(pw[2]) : /^\d+$/.test(u.user) ? Number(u.user) : NaN;
  let gid = pw ? Number(pw[3]) : uid;
  if (u.group) {
    const gr = /^\d+$/.test(u.group) ? null : field('/etc/group', u.group);
    gid = gr ? Number(gr[2]) : /^\d+$/.test(u.group) ? Number(u.group) : NaN;
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  return { uid, gid };
}

/**
 * resolveUser once per user and group, until clear(): scripts run every few seconds and the
 * passwd/group files are read synchronously, so they are read again only when the config is
 * (re)loaded (ChildScriptRunner.setDefaultUser is called at start and on every reload).
 */
export class UserCache {
  private readonly cache = new Map<string, { uid: number; gid: number } | null>();
  private readonly read: ReadText | undefined;
  constructor(read?: ReadText) {
    this.read = read;
  }
  resolve(u: ScriptUser): { uid: number; gid: number } | null {
    const key = `${u.user}\u0000${u.group ?? ''}`;
    if (this.cache.has(key)) return this.cache.get(key)!;
    const ids = resolveUser(u, this.read);
    this.cache.set(key, ids);
    return ids;
  }
  clear(): void {
    this.cache.clear();
  }
}

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
  private readonly users: UserCache;
  constructor(defaultUser: ScriptUser | null = null, users: UserCache = new UserCache()) {
    this.defaultUser = defaultUser;
    this.users = users;
  }

  /** Sets the user scripts run as when they name none (`global_defs { script_user }`); a (re)load also forgets the cached user ids. */
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
