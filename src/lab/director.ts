/**
 * A handle on one lvsd daemon running in a director namespace, as an operator runs it:
 * `node bin/lvsd.js -f FILE --control PATH` with JSON log lines. The daemon writes its log to
 * a file (so it can outlive the lab with `--keep`); the handle tails that file and parses
 * every line into an event object (CONVENTIONS: capture log lines as parsed objects).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { ExecResult, Topology } from './topology.js';
import { PROGRAMS } from './paths.js';

/** One parsed log line of the daemon (pino JSON: level, time, msg, event, fields...). */
export interface LogEvent {
  readonly level: number;
  readonly time: string;
  readonly msg: string;
  readonly event?: string;
  /** `time` as epoch ms. */
  readonly t: number;
  readonly [field: string]: unknown;
}

/** Where a director keeps its files. */
export interface DirectorFiles {
  readonly configFile: string;
  readonly controlPath: string;
  readonly logFile: string;
}

/** A listener of a director's log: the parsed event, or null for a line that is not JSON. */
export type LogListener = (ev: LogEvent | null, line: string) => void;

/** One lvsd daemon in a namespace. */
export class LvsdDirector {
  readonly host: string;
  readonly files: DirectorFiles;
  /** Every parsed log line so far (all runs of this director). */
  readonly events: LogEvent[] = [];
  /** Lines that were not JSON (stderr: crashes, warnings of Node). */
  readonly otherLines: string[] = [];
  child: ChildProcess | null = null;
  private readonly topo: Topology;
  private readonly listeners = new Set<LogListener>();
  private offset = 0;
  private partial = '';
  private tail: NodeJS.Timeout | null = null;

  constructor(topo: Topology, host: string, files: DirectorFiles) {
    this.topo = topo;
    this.host = host;
    this.files = files;
  }

  /** Starts the daemon (detached from the terminal: the lab's own Ctrl-C handler stops it). */
  start(extraArgs: string[] = []): ChildProcess {
    const fd = openSync(this.files.logFile, 'a');
    try {
      this.child = this.topo.spawn(this.host, [
        process.execPath, PROGRAMS.lvsd, '-f', this.files.configFile, '--control', this.files.controlPath, ...extraArgs,
      ], { stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    this.startTail();
    return this.child;
  }

  /** True while the daemon process runs. */
  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for the daemon to have applied its startup config; throws with its log when it exits first. */
  async waitStarted(timeoutMs = 15_000): Promise<LogEvent> {
    const since = this.child?.pid;
    return this.waitEvent((e) => e.event === 'config.applied' && e.trigger === 'startup' && e.pid === since, timeoutMs, 'startup config applied');
  }

  /** Subscribes to every later log line. */
  onLog(fn: LogListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Events of one type (optionally at or after a time). */
  ofType(type: string, sinceMs = 0): LogEvent[] {
    return this.events.filter((e) => e.event === type && e.t >= sinceMs);
  }

  /** Resolves with the first event (past or future) matching pred; rejects after timeoutMs or when the daemon exits. */
  waitEvent(pred: (e: LogEvent) => boolean, timeoutMs: number, what: string): Promise<LogEvent> {
    this.pull();
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const child = this.child;
      const done = (err: Error | null, ev?: LogEvent) => {
        clearTimeout(timer);
        off();
        child?.off('exit', onExit);
        if (err) reject(err);
        else resolve(ev!);
      };
      const off = this.onLog((ev) => { if (ev && pred(ev)) done(null, ev); });
      const onExit = (code: number | null, sig: string | null) => {
        // the last lines may still be in the file
        setTimeout(() => {
          this.pull();
          const late = this.events.find(pred);
          if (late) done(null, late);
          else done(new Error(`${this.host}: lvsd exited (${sig ?? code}) while waiting for ${what}\n${this.lastLines(15)}`));
        }, 50);
      };
      child?.once('exit', onExit);
      const timer = setTimeout(() => done(new Error(`${this.host}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.lastLines(15)}`)), timeoutMs);
    });
  }

  /** The current VRRP state of an instance according to the log (last transition), or null. */
  stateOf(instance: string): string | null {
    const tr = this.events.filter((e) => e.event === 'vrrp.transition' && e.instance === instance);
    return tr.length ? String(tr[tr.length - 1]!.to) : null;
  }

  /** Sends a signal to the daemon (SIGHUP reloads). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child!.kill(sig);
  }

  /** Stops the daemon: SIGTERM (clean: priority-0 adverts) or SIGKILL (a crash). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child) await this.topo.kill(this.child, signal);
    setTimeout(() => this.pull(), 30).unref();
  }

  /** Runs `lvsadm --control PATH ARGS...` in the director's namespace. */
  lvsadm(args: string[], timeoutMs = 10_000): Promise<ExecResult> {
    return this.topo.exec(this.host, [process.execPath, PROGRAMS.lvsadm, '--control', this.files.controlPath, ...args], timeoutMs);
  }

  /** The last n log lines, for error messages. */
  lastLines(n: number): string {
    this.pull();
    const all = [...this.events.map((e) => `${e.time} ${e.msg}`), ...this.otherLines];
    return all.slice(-n).map((l) => `  ${this.host}| ${l}`).join('\n');
  }

  /** Stops following the log file. */
  close(): void {
    if (this.tail) clearInterval(this.tail);
    this.tail = null;
    this.pull();
  }

  private startTail(): void {
    if (this.tail) return;
    this.tail = setInterval(() => this.pull(), 20);
    this.tail.unref();
  }

  /** Reads what the daemon appended to its log since the last call. */
  private pull(): void {
    if (!existsSync(this.files.logFile)) return;
    const size = statSync(this.files.logFile).size;
    if (size <= this.offset) return;
    const fd = openSync(this.files.logFile, 'r');
    try {
      const buf = Buffer.alloc(size - this.offset);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      this.partial += buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
    for (let i = this.partial.indexOf('\n'); i >= 0; i = this.partial.indexOf('\n')) {
      const line = this.partial.slice(0, i);
      this.partial = this.partial.slice(i + 1);
      if (line.trim()) this.take(line);
    }
  }

  private take(line: string): void {
    let ev: LogEvent | null = null;
    if (line.startsWith('{')) {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if (typeof o.level === 'number' && typeof o.time === 'string') ev = { ...o, t: Date.parse(o.time) } as LogEvent;
      } catch {
        /* not a log line */
      }
    }
    if (ev) this.events.push(ev);
    else this.otherLines.push(line);
    for (const l of [...this.listeners]) l(ev, line);
  }
}
