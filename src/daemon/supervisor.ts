/**
 * The supervisor: loads the config, starts the subsystems in order, reloads on request
 * (compile → diff → apply; a bad file is rejected and the running model stays in force),
 * and stops them in reverse order. It owns the `status`, `reload` and `config` control
 * commands and the systemd notifications around them.
 */
import type { EventBus } from '../events/bus.js';
import type { ConfigDiagnostic } from '../lib/errors.js';
import { formatDiagnostic } from '../lib/errors.js';
import type { Model } from '../model/types.js';
import type { ChangeSet } from '../model/changes.js';
import { isEmptyChangeSet } from '../model/changes.js';
import { ControlError, type CommandRegistry } from '../control/registry.js';
import type { Subsystem } from './subsystem.js';

/** What the config loader returns (src/config/load.ts LoadResult, structurally). */
export type SupervisorLoadResult =
  | { ok: true; model: Model; warnings: ConfigDiagnostic[]; files: string[] }
  | { ok: false; diagnostics: ConfigDiagnostic[]; files: string[] };

/** What the supervisor needs from the outside world. */
export interface SupervisorDeps {
  readonly configFile: string;
  readonly load: (file: string) => SupervisorLoadResult;
  readonly diff: (prev: Model, next: Model) => ChangeSet;
  readonly summarize: (c: ChangeSet) => Record<string, { added: number; removed: number; changed: number }>;
  readonly bus: EventBus;
  readonly registry: CommandRegistry;
  /** Subsystems in start order; stopped in reverse. */
  readonly subsystems: readonly Subsystem[];
  /** sd_notify (no-op off systemd). */
  readonly notify: (msg: string) => void;
  readonly version: string;
}

/** Result of a reload, as the `reload` control command returns it. */
export type ReloadOutcome =
  | { applied: true; changed: boolean; summary: Record<string, { added: number; removed: number; changed: number }>; warnings: string[] }
  | { applied: false; errors: string[] };

/** Supervises the daemon's subsystems. */
export class Supervisor {
  private readonly d: SupervisorDeps;
  private model: Model | null = null;
  private started: Subsystem[] = [];
  private readonly startedAt = Date.now();
  private lastReload: { at: string; trigger: string; outcome: 'applied' | 'rejected' } | null = null;
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
        if (!r.applied) throw new ControlError('ERR_CONFIG_INVALID', `config rejected, running config kept:\n${r.errors.join('\n')}`);
        return r;
      },
    });
  }

  /** The model in force. */
  get current(): Model | null {
    return this.model;
  }

  /**
   * Loads the config and starts every subsystem. Throws (with the diagnostics logged as
   * config.rejected) when the first config is bad; on a subsystem failure, stops what started.
   */
  async start(): Promise<void> {
    const r = this.d.load(this.d.configFile);
    if (!r.ok) {
      const errors = r.diagnostics.filter((x) => x.severity === 'error').map(formatDiagnostic);
      this.d.bus.emit({ type: 'config.rejected', configFile: this.d.configFile, trigger: 'startup', errors });
      throw new StartupConfigError(errors);
    }
    this.model = r.model;
    for (const s of this.d.subsystems) {
      try {
        await s.start(r.model);
        this.started.push(s);
      } catch (err) {
        this.d.bus.emit({ type: 'log', level: 'error', msg: `subsystem ${s.name} failed to start: ${errMsg(err)}`, fields: { subsystem: s.name } });
        await this.stop(`startup failure in ${s.name}`);
        throw err;
      }
    }
    const summary = this.d.summarize(this.d.diff(emptyLike(r.model), r.model));
    this.d.bus.emit({ type: 'config.applied', configFile: this.d.configFile, trigger: 'startup', summary, warnings: r.warnings.map(formatDiagnostic) });
    this.lastReload = { at: new Date().toISOString(), trigger: 'startup', outcome: 'applied' };
    this.d.notify('READY=1\nSTATUS=running');
  }

  /** Reloads the config file; serialised with other reloads. Never throws for a bad file. */
  reload(trigger: string): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.doReload(trigger));
    this.queue = next.catch(() => {});
    return next;
  }

  private async doReload(trigger: string): Promise<ReloadOutcome> {
    if (this.stopping || !this.model) return { applied: false, errors: ['daemon is not running'] };
    this.d.notify(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}`);
    try {
      const r = this.d.load(this.d.configFile);
      if (!r.ok) {
        const errors = r.diagnostics.filter((x) => x.severity === 'error').map(formatDiagnostic);
        this.d.bus.emit({ type: 'config.rejected', configFile: this.d.configFile, trigger, errors });
        this.lastReload = { at: new Date().toISOString(), trigger, outcome: 'rejected' };
        return { applied: false, errors };
      }
      const changes = this.d.diff(this.model, r.model);
      const warnings = r.warnings.map(formatDiagnostic);
      const summary = this.d.summarize(changes);
      const changed = !isEmptyChangeSet(changes);
      if (changed) {
        for (const s of this.started) {
          try {
            await s.apply(r.model, changes);
          } catch (err) {
            this.d.bus.emit({ type: 'log', level: 'error', msg: `subsystem ${s.name} failed to apply the new config: ${errMsg(err)}`, fields: { subsystem: s.name } });
          }
        }
        this.model = r.model;
      }
      this.d.bus.emit({ type: 'config.applied', configFile: this.d.configFile, trigger, summary, warnings });
      this.lastReload = { at: new Date().toISOString(), trigger, outcome: 'applied' };
      return { applied: true, changed, summary, warnings };
    } finally {
      this.d.notify('READY=1\nSTATUS=running');
    }
  }

  /** Stops every started subsystem in reverse order (idempotent). */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.d.notify('STOPPING=1');
    this.d.bus.emit({ type: 'daemon.stopping', reason });
    await this.queue.catch(() => {});
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
      running: !this.stopping && m !== null,
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
