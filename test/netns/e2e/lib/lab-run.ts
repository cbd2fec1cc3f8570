/**
 * Running `npm run lab` (bin/lab.js) from a test, as a person runs it, with a per-run
 * namespace prefix and state directory (LVSD_LAB_PREFIX, LVSD_LAB_DIR) so it never meets a
 * lab a person kept, and finding what a run left behind: its namespaces, and every process
 * that carries the run's LVSD_LAB_DIR in its environment (every process the lab starts
 * inherits it: the lvsd daemons, the real servers, the probing client), whatever its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { run } from '../../../../src/lab/topology.js';
import { PACKAGE_ROOT } from '../../../../src/lab/paths.js';
import type { LabState } from '../../../../src/lab/state.js';

/** One lab run's identity. */
export interface LabRunIds {
  readonly prefix: string;
  readonly stateDir: string;
  readonly env: NodeJS.ProcessEnv;
}

/** A fresh prefix and state directory. */
export function labRunIds(tag = 'e2elab'): LabRunIds {
  const id = randomBytes(3).toString('hex');
  const prefix = `lvt-${tag}-${id}-`;
  const stateDir = `/tmp/lvt-${tag}-${id}`;
  return { prefix, stateDir, env: { ...process.env, LVSD_LAB_PREFIX: prefix, LVSD_LAB_DIR: stateDir, NO_COLOR: '1' } };
}

/** A running `bin/lab.js`. */
export interface LabProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with its exit. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when its output contains text (rejects after timeoutMs or when it exits first). */
  waitOutput(text: string | RegExp, timeoutMs: number): Promise<void>;
  /** The last state file it wrote (read while it runs: the lab removes it at the end). */
  lastState(): LabState | null;
}

/**
 * Starts bin/lab.js with args. `group`: in its own process group, so a test can signal the
 * whole group as a terminal's Ctrl-C does (process.kill(-pid, 'SIGINT')).
 */
export function startLab(ids: LabRunIds, args: string[], opts: { group?: boolean; root?: string } = {}): LabProcess {
  const root = opts.root ?? PACKAGE_ROOT;
  const child = spawn(process.execPath, [join(root, 'bin', 'lab.js'), ...args], {
    cwd: root, env: ids.env, stdio: ['ignore', 'pipe', 'pipe'], detached: !!opts.group,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let state: LabState | null = null;
  const stateFile = join(ids.stateDir, 'state.json');
  const poll = setInterval(() => {
    try {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as LabState;
    } catch {
      /* not there (yet, or any more) */
    }
  }, 50);
  void exited.then(() => clearInterval(poll));
  return {
    child,
    output: () => out,
    exited,
    lastState: () => state,
    waitOutput: (text, timeoutMs) => new Promise((resolve, reject) => {
      const has = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      const end = Date.now() + timeoutMs;
      const tick = setInterval(() => {
        if (has()) {
          clearInterval(tick);
          resolve();
        } else if (child.exitCode !== null || child.signalCode !== null || Date.now() > end) {
          clearInterval(tick);
          reject(new Error(`lab ${child.exitCode !== null || child.signalCode !== null ? 'exited' : `did not print ${String(text)} within ${timeoutMs} ms`}:\n${out}`));
        }
      }, 50);
    }),
  };
}

/** The run's namespaces that exist now. */
export async function namespacesOf(ids: LabRunIds): Promise<string[]> {
  return (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(ids.prefix));
}

/** Processes alive now whose environment carries the run's LVSD_LAB_DIR: pid and command line. */
export function processesOf(ids: LabRunIds): Array<{ pid: number; cmdline: string }> {
  const marker = `LVSD_LAB_DIR=${ids.stateDir}\0`;
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'latin1');
      if (!(env + '\0').includes(marker)) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (cmdline) out.push({ pid: Number(name), cmdline }); // a zombie has no command line: it is gone
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** True while a PID runs the program (a word of its command line), as `--down` checks it. */
export function runs(pid: number, program: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(program);
  } catch {
    return false;
  }
}

/** What a finished run left behind: namespaces, processes, the state directory. */
export async function leftovers(ids: LabRunIds): Promise<{ namespaces: string[]; processes: Array<{ pid: number; cmdline: string }>; stateDir: boolean }> {
  return { namespaces: await namespacesOf(ids), processes: processesOf(ids), stateDir: existsSync(ids.stateDir) };
}

/** Removes whatever a failed test left (by the run's own recorded PIDs and prefix). */
export async function scrub(ids: LabRunIds): Promise<void> {
  for (const p of processesOf(ids)) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  for (const n of await namespacesOf(ids)) await run('ip', ['netns', 'del', n], 10_000, false);
  await run('rm', ['-rf', ids.stateDir], 10_000, false);
}
