/**
 * The supervisor: loads the config, starts the subsystems in order, reloads on request
 * (compile → diff → apply; a bad file is rejected and the running model stays in force),
 * and stops them in reverse order. It owns the `status`, `reload` and `config` control
 * commands and the systemd notifications around them.
 *
 * A reload never half-applies (ARCHITECTURE D10): when a subsystem's apply() fails, the
 * subsystems already moved to the new model (and the one that failed) are moved back to the
 * old one, in reverse order, the old model stays in force and `config.apply_failed` says so.
 */
import type { EventBus } from '../events/bus.js';
import type { ConfigDiagnostic } from '../lib/errors.js';
import type { Model } from '../model/types.js';
import type { ChangeSet } from '../model/changes.js';
import { isEmptyChangeSet } from '../model/changes.js';
import { formatConfigDiagnostic } from '../config/diagnostics.js';
import { ControlError, type CommandRegistry } from '../control/registry.js';
import type { Subsystem } from './subsystem.js';

/** What the config loader returns (src/config/load.ts LoadResult, structurally). */
export type SupervisorLoadResult =
  | { ok: true; model: Model; warnings: ConfigDiagnostic[]; files: string[] }
  | { ok: false; diagnostics: ConfigDiagnostic[]; files: string[] };

/** Counts per kind of a change set (model/diff.ts summarizeChanges). */
export type ChangeCounts = Record<string, { added: number; removed: number; changed: number }>;

/** What the supervisor needs from the outside world. */
export interface SupervisorDeps {
  readonly configFile: string;
  readonly load: (file: string) => SupervisorLoadResult;
  readonly diff: (prev: Model, next: Model) => ChangeSet;
  readonly summarize: (c: ChangeSet) => ChangeCounts;
  readonly bus: EventBus;
  readonly registry: CommandRegistry;
  /** Subsystems in start order; stopped in reverse. */
  readonly subsystems: readonly Subsystem[];
  /** sd_notify (no-op off systemd). */
  readonly notify: (msg: string) => void;
  readonly version: string;
  /**
   * Settings a reload cannot change in a running daemon (the control socket, the metrics
   * endpoint): one warning per setting that differs, reported with the reload's warnings.
   */
  readonly restartNeeded?: (prev: Model, next: Model) => string[];
}

/** Result of a reload, as the `reload` control command returns it. */
export type ReloadOutcome =
  | { applied: true; changed: boolean; summary: ChangeCounts; warnings: string[] }
  | { applied: false; code: 'ERR_CONFIG_INVALID' | 'ERR_CONFIG_APPLY' | 'ERR_DAEMON_STOPPING'; errors: string[] };

/** Options of the first start. */
export interface StartOptions {
  /**
   * Runs after the config has loaded and before any subsystem starts (the composition root
   * opens the control socket here); a throw aborts the start before anything is claimed.
   */
  readonly beforeSubsystems?: (model: Model) => Promise<void>;
}

/** Supervises the daemon's subsystems. */
export class Supervisor {
  private readonly d: SupervisorDeps;
  private model: Model | null = null;
  private started: Subsystem[] = [];
  private readonly startedAt = Date.now();
  private lastReload: { at: string; trigger: string; outcome: 'applied' | 'rejected' | 'failed' } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;

  constructor(deps: SupervisorDeps) {
    this.d = deps;
    deps.registry.register('status', { describe: 'daemon status', handler: () => this.status() });
    deps.registry.register('config', { describe: 'the running config as lvsd understood it (compiled model)', handler: () => this.model });
    deps.registry.register('reload', {
      describe: 'reload the config file (like SIGHUP); a bad file is rejected and the running config kept',
      handler: async () => {
        const r = await this.reload('control');
        if (!r.applied) {
          const why = r.code === 'ERR_CONFIG_APPLY' ? 'config could not be applied, running config restored'
            : r.code === 'ERR_DAEMON_STOPPING' ? 'not reloaded' : 'config rejected, running config kept';
          throw new ControlError(r.code, `${why}:\n${r.errors.join('\n')}`);
        }
        return r;
      },
    });
  }

  /** The model in force. */
  get current(): Model | null {
    return this.model;
  }

  /**
   * Loads the config and starts every subsystem, then tells systemd READY=1. Throws (with
   * the diagnostics logged as config.rejected) when the first config is bad; on a subsystem
   * failure, stops what started. Reloads asked for meanwhile wait for the start.
   */
  start(opts: StartOptions = {}): Promise<void> {
    const run = this.queue.then(() => this.doStart(opts));
    this.queue = run.catch(() => {});
    return run;
  }

  private async doStart(opts: StartOptions): Promise<void> {
    const r = this.d.load(this.d.configFile);
    if (!r.ok) {
      const errors = r.diagnostics.filter((x) => x.severity === 'error').map(formatConfigDiagnostic);
      this.d.bus.emit({ type: 'config.rejected', configFile: this.d.configFile, trigger: 'startup', errors });
      throw new StartupConfigError(errors);
    }
    if (opts.beforeSubsystems) await opts.beforeSubsystems(r.model);
    this.model = r.model;
    for (const s of this.d.subsystems) {
      if (this.stopping) return; // a stop came during the start: stop() stops what started
      try {
        await s.start(r.model);
        this.started.push(s);
      } catch (err) {
        this.d.bus.emit({ type: 'log', level: 'error', msg: `subsystem ${s.name} failed to start: ${errMsg(err)}`, fields: { subsystem: s.name } });
        await this.stopStarted(`startup failure in ${s.name}`);
        throw err;
      }
    }
    if (this.stopping) return;
    const summary = this.d.summarize(this.d.diff(emptyLike(r.model), r.model));
    this.d.bus.emit({ type: 'config.applied', configFile: this.d.configFile, trigger: 'startup', summary, warnings: r.warnings.map(formatConfigDiagnostic) });
    this.lastReload = { at: new Date().toISOString(), trigger: 'startup', outcome: 'applied' };
    this.d.notify('READY=1\nSTATUS=running');
  }

  /** Reloads the config file; serialised with other reloads and the start. Never throws for a bad file. */
  reload(trigger: string): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.doReload(trigger));
    this.queue = next.catch(() => {});
    return next;
  }

  private async doReload(trigger: string): Promise<ReloadOutcome> {
    if (this.stopping || !this.model) return { applied: false, code: 'ERR_DAEMON_STOPPING', errors: ['the daemon is stopping (or has not started)'] };
    const old = this.model;
    this.d.notify(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}`);
    try {
      const r = this.d.load(this.d.configFile);
      if (!r.ok) {
        const errors = r.diagnostics.filter((x) => x.severity === 'error').map(formatConfigDiagnostic);
        this.d.bus.emit({ type: 'config.rejected', configFile: this.d.configFile, trigger, errors });
        this.lastReload = { at: new Date().toISOString(), trigger, outcome: 'rejected' };
        return { applied: false, code: 'ERR_CONFIG_INVALID', errors };
      }
      const changes = this.d.diff(old, r.model);
      const warnings = [...r.warnings.map(formatConfigDiagnostic), ...(this.d.restartNeeded?.(old, r.model) ?? [])];
      const summary = this.d.summarize(changes);
      const changed = !isEmptyChangeSet(changes);
      if (changed) {
        const failure = await this.applyAll(old, r.model, changes);
        if (failure) {
          this.d.bus.emit({
            type: 'config.apply_failed', configFile: this.d.configFile, trigger,
            subsystem: failure.subsystem, error: failure.error, rolledBack: failure.rolledBack, rollbackErrors: failure.rollbackErrors,
          });
          this.lastReload = { at: new Date().toISOString(), trigger, outcome: 'failed' };
          const errors = [`subsystem ${failure.subsystem} failed to apply the new config: ${failure.error}`, ...failure.rollbackErrors];
          return { applied: false, code: 'ERR_CONFIG_APPLY', errors };
        }
        this.model = r.model;
      }
      this.d.bus.emit({ type: 'config.applied', configFile: this.d.configFile, trigger, summary, warnings });
      this.lastReload = { at: new Date().toISOString(), trigger, outcome: 'applied' };
      return { applied: true, changed, summary, warnings };
    } finally {
      if (!this.stopping) this.d.notify('READY=1\nSTATUS=running');
    }
  }

  /**
   * Applies `next` to every started subsystem in order. On the first failure, moves the
   * subsystems already applied, and the one that failed (it may have changed part of its
   * state), back to `old` in reverse order; returns what happened, or null when all applied.
   */
  private async applyAll(old: Model, next: Model, changes: ChangeSet): Promise<null | {
    subsystem: string; error: string; rolledBack: string[]; rollbackErrors: string[];
  }> {
    const applied: Subsystem[] = [];
    for (const s of this.started) {
      try {
        await s.apply(next, changes);
        applied.push(s);
      } catch (err) {
        const back = this.d.diff(next, old);
        const rolledBack: string[] = [];
        const rollbackErrors: string[] = [];
        for (const b of [s, ...applied.reverse()]) {
          try {
            await b.apply(old, back);
            rolledBack.push(b.name);
          } catch (rbErr) {
            rollbackErrors.push(`subsystem ${b.name} could not be moved back to the running config: ${errMsg(rbErr)}`);
          }
        }
        return { subsystem: s.name, error: errMsg(err), rolledBack, rollbackErrors };
      }
    }
    return null;
  }

  /** Stops every started subsystem in reverse order (idempotent); waits for a reload or start in progress. */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.d.notify('STOPPING=1');
    this.d.bus.emit({ type: 'daemon.stopping', reason });
    await this.queue.catch(() => {});
    await this.stopStarted(reason);
  }

  private async stopStarted(reason: string): Promise<void> {
    for (const s of [...this.started].reverse()) {
      try {
        await s.stop(reason);
      } catch (err) {
        this.d.bus.emit({ type: 'log', level: 'error', msg: `subsystem ${s.name} failed to stop cleanly: ${errMsg(err)}`, fields: { subsystem: s.name } });
      }
    }
    this.started = [];
  }

  /** The `status` command's answer. */
  status(): Record<string, unknown> {
    const m = this.model;
    return {
      version: this.d.version,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      configFile: this.d.configFile,
      running: !this.stopping && m !== null && this.started.length === this.d.subsystems.length,
      lastReload: this.lastReload,
      subsystems: this.started.map((s) => s.name),
      counts: m
        ? {
            vrrpInstances: Object.keys(m.instances).length,
            syncGroups: Object.keys(m.syncGroups).length,
            virtualServers: Object.keys(m.virtualServers).length,
            realServers: Object.values(m.virtualServers).reduce((n, vs) => n + Object.keys(vs.realServers).length, 0),
          }
        : null,
    };
  }
}

/** The first config could not be loaded; carries the formatted errors. */
export class StartupConfigError extends Error {
  readonly code = 'ERR_CONFIG_INVALID';
  readonly errors: string[];
  constructor(errors: string[]) {
    super(`config rejected:\n${errors.join('\n')}`);
    this.errors = errors;
  }
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function monotonicUsec(): string {
  return String(process.hrtime.bigint() / 1000n); // uv_hrtime is CLOCK_MONOTONIC, as systemd wants
}

/** A model with the same global section and no objects, to summarise the first load as all-added. */
function emptyLike(m: Model): Model {
  return {
    global: m.global,
    vrrpScripts: {},
    vrrpTrackFiles: {},
    syncGroups: {},
    instances: {},
    virtualServerGroups: {},
    fwmarkRules: [],
    virtualServers: {},
    coreVips: {},
  };
}
