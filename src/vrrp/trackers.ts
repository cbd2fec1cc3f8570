/**
 * The tracker runtime: runs `vrrp_script`s on their interval, follows links through
 * netlink events (`track_interface`, the instance's own interface, VIP interfaces) and
 * watches `vrrp_track_file`s. It knows tracker states only; what a state means for an
 * instance (its weight) is src/vrrp/track.ts, applied by the manager.
 */
import type { EventBus } from '../events/bus.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { LinkInfo, NetlinkPort, ScriptPort } from '../io/ports.js';
import type { ScriptUser, VrrpScript, VrrpTrackFile } from '../model/types.js';
import type { TrackFilePort } from './file-source.js';
import { initialScriptCounter, parseTrackFileValue, scriptOutcome, type ScriptCounter } from './track.js';

/** What the hub needs. */
export interface TrackerHubDeps {
  readonly clock: Clock;
  readonly netlink: NetlinkPort;
  readonly scripts: ScriptPort;
  readonly files: TrackFilePort;
  readonly bus: EventBus;
}

interface ScriptEntry {
  script: VrrpScript;
  counter: ScriptCounter;
  running: boolean;
  timer: TimerHandle | null;
  lastExit: number | null;
  skipped: number;
}

interface FileEntry {
  file: VrrpTrackFile;
  value: number;
  unwatch: (() => void) | null;
}

/** Up when administratively and operationally up (keepalived IF_FLAGS_UP: IFF_UP && IFF_RUNNING). */
export function linkUp(l: LinkInfo | null): boolean {
  return !!l && l.adminUp && l.operUp;
}

/** Tracker states, with one callback when any of them changes. */
export class TrackerHub {
  private readonly d: TrackerHubDeps;
  private readonly scripts = new Map<string, ScriptEntry>();
  private readonly links = new Map<string, boolean>();
  private readonly files = new Map<string, FileEntry>();
  private unsubscribeLinks: (() => void) | null = null;
  private scriptUser: ScriptUser | null = null;
  private running = false;
  /** Called after any tracker state changed (kind, name). */
  onChange: (kind: 'script' | 'interface' | 'file', name: string) => void = () => {};
  /** Called on every link event (the manager re-resolves source addresses and channels). */
  onLink: (link: LinkInfo) => void = () => {};

  constructor(deps: TrackerHubDeps) {
    this.d = deps;
  }

  /** Current state of a script: true up, false down, null not yet known. */
  scriptUp(name: string): boolean | null {
    return this.scripts.get(name)?.counter.up ?? null;
  }

  /** Current state of a link (false when unknown or absent). */
  linkUp(name: string): boolean {
    return this.links.get(name) ?? false;
  }

  /** Current value of a track file (0 when unreadable). */
  fileValue(name: string): number {
    return this.files.get(name)?.value ?? 0;
  }

  /** Snapshot for `lvsadm vrrp`. */
  describe(): Array<{ kind: 'script' | 'interface' | 'file'; name: string; up: boolean | null; value?: number; detail: string }> {
    const out: Array<{ kind: 'script' | 'interface' | 'file'; name: string; up: boolean | null; value?: number; detail: string }> = [];
    for (const [n, e] of this.scripts) out.push({ kind: 'script', name: n, up: e.counter.up, detail: `result ${e.counter.result}/${e.script.rise + e.script.fall - 1}, last exit ${e.lastExit ?? '-'}` });
    for (const [n, up] of this.links) out.push({ kind: 'interface', name: n, up, detail: up ? 'up' : 'down' });
    for (const [n, e] of this.files) out.push({ kind: 'file', name: n, up: e.value === 0, value: e.value, detail: `${e.file.file} = ${e.value}` });
    return out;
  }

  /**
   * Sets what to track (start and reload). Scripts whose definition did not change keep
   * their counter; new ones start in keepalived's init state and run at once.
   */
  async configure(wanted: { scripts: readonly VrrpScript[]; interfaces: readonly string[]; files: readonly VrrpTrackFile[]; scriptUser: ScriptUser | null }): Promise<void> {
    this.scriptUser = wanted.scriptUser;
    // scripts
    const keepScripts = new Set(wanted.scripts.map((s) => s.name));
    for (const [n, e] of this.scripts) {
      if (!keepScripts.has(n)) {
        e.timer?.cancel();
        this.scripts.delete(n);
      }
    }
    for (const s of wanted.scripts) {
      const have = this.scripts.get(s.name);
      if (have && JSON.stringify(have.script) === JSON.stringify(s)) continue;
      have?.timer?.cancel();
      const e: ScriptEntry = { script: s, counter: initialScriptCounter(s.rise, s.initFail), running: false, timer: null, lastExit: null, skipped: 0 };
      this.scripts.set(s.name, e);
      if (this.running) this.runScript(e);
    }
    // links
    if (!this.unsubscribeLinks) this.unsubscribeLinks = this.d.netlink.onLinkChange((l) => this.linkEvent(l));
    const keepLinks = new Set(wanted.interfaces);
    for (const n of [...this.links.keys()]) if (!keepLinks.has(n)) this.links.delete(n);
    for (const n of wanted.interfaces) {
      if (this.links.has(n)) continue;
      let l: LinkInfo | null = null;
      try {
        l = await this.d.netlink.getLink(n);
      } catch {
        l = null;
      }
      this.links.set(n, linkUp(l));
    }
    // files
    const keepFiles = new Set(wanted.files.map((f) => f.name));
    for (const [n, e] of this.files) {
      if (!keepFiles.has(n)) {
        e.unwatch?.();
        this.files.delete(n);
      }
    }
    for (const f of wanted.files) {
      const have = this.files.get(f.name);
      if (have && have.file.file === f.file) {
        have.file = f;
        continue;
      }
      have?.unwatch?.();
      if (f.initValue !== null && (f.initOverwrite || this.d.files.read(f.file) === null)) this.d.files.write(f.file, `${f.initValue}\n`);
      const e: FileEntry = { file: f, value: parseTrackFileValue(this.d.files.read(f.file)), unwatch: null };
      this.files.set(f.name, e);
      if (this.running) e.unwatch = this.d.files.watch(f.file, () => this.fileEvent(e));
    }
  }

  /** Starts running scripts and watching files. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const e of this.scripts.values()) this.runScript(e);
    for (const e of this.files.values()) e.unwatch = this.d.files.watch(e.file.file, () => this.fileEvent(e));
  }

  /** Stops everything (scripts already running finish on their own). */
  stop(): void {
    this.running = false;
    for (const e of this.scripts.values()) {
      e.timer?.cancel();
      e.timer = null;
    }
    for (const e of this.files.values()) {
      e.unwatch?.();
      e.unwatch = null;
    }
    this.unsubscribeLinks?.();
    this.unsubscribeLinks = null;
  }

  private runScript(e: ScriptEntry): void {
    if (!this.running || this.scripts.get(e.script.name) !== e) return;
    // keepalived vrrp_script_thread: the next run is scheduled from the start of this one
    e.timer = this.d.clock.setTimer(e.script.intervalMs, () => this.runScript(e));
    if (e.running) {
      e.skipped++;
      this.d.bus.emit({ type: 'log', level: 'warn', msg: `Track script ${e.script.name} is already running, expect idle - skipping run`, fields: { script: e.script.name } });
      return;
    }
    e.running = true;
    this.d.scripts
      .run(e.script.script, { timeoutMs: e.script.timeoutMs, user: e.script.user ?? this.scriptUser })
      .then((r) => {
        e.running = false;
        if (this.scripts.get(e.script.name) !== e) return;
        e.lastExit = r.exitCode;
        const ok = r.exitCode === 0 && !r.timedOut && r.spawnError === null;
        const { counter, changed } = scriptOutcome(e.counter, ok, e.script.rise, e.script.fall);
        e.counter = counter;
        if (changed) {
          const detail = ok ? 'succeeded' : r.timedOut ? 'timed_out' : r.spawnError ? `failed (${r.spawnError})` : r.signal ? `failed (due to signal ${r.signal})` : `failed (exited with status ${r.exitCode})`;
          this.d.bus.emit({ type: 'vrrp.tracker', tracker: e.script.name, kind: 'script', up: counter.up === true, detail });
          this.onChange('script', e.script.name);
        }
      })
      .catch((err: unknown) => {
        e.running = false;
        this.d.bus.emit({ type: 'log', level: 'error', msg: `track script ${e.script.name} could not run: ${String(err)}` });
      });
  }

  private linkEvent(l: LinkInfo): void {
    this.onLink(l);
    if (!this.links.has(l.name)) return;
    const up = linkUp(l);
    if (this.links.get(l.name) === up) return;
    this.links.set(l.name, up);
    this.d.bus.emit({ type: 'vrrp.tracker', tracker: l.name, kind: 'interface', up, detail: `admin ${l.adminUp ? 'up' : 'down'}, carrier ${l.operUp ? 'up' : 'down'}` });
    this.onChange('interface', l.name);
  }

  private fileEvent(e: FileEntry): void {
    if (this.files.get(e.file.name) !== e) return;
    const v = parseTrackFileValue(this.d.files.read(e.file.file));
    if (v === e.value) return;
    e.value = v;
    this.d.bus.emit({ type: 'vrrp.tracker', tracker: e.file.name, kind: 'file', up: v === 0, detail: `${e.file.file} = ${v}` });
    this.onChange('file', e.file.name);
  }
}
