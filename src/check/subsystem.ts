/**
 * The check subsystem: one runner per checker, real-server verdicts (up only when every
 * checker is up), weights, quorum with hysteresis and the sorry server, notify and quorum
 * scripts, ha_suspend, reload by migration, the `checks` control command, and the health
 * query the forwarding core reads.
 *
 * Events (src/events/types.ts), all on the bus, synchronously:
 *  - `check.result` when a checker's verdict changes, and when its outcome changes without
 *    a verdict change (first failed attempt before the retries, another failure reason,
 *    recovery of a retry): steady state emits nothing, so 1,000 healthy servers checked
 *    every second log nothing. With `verboseResults` every attempt is emitted.
 *  - `real.up` / `real.down` when a real server's verdict changes, naming the checker and
 *    reason that decided; `real.weight` when misc_dynamic changes a weight (with the
 *    checker and the exit status) or an inhibit_on_failure server is set to weight 0 /
 *    restored (with the checker and outcome that decided).
 *  - `service.quorum` when quorum is lost or gained (and at start when it starts lost),
 *    with the sorry server that stands in and what moved it (real server, checker, reason).
 *  - `script.result` for every notify/quorum script run.
 */
import type { EventBus } from '../events/bus.js';
import type { CheckReason, QuorumCause, VrrpState } from '../events/types.js';
import type { Clock } from '../lib/clock.js';
import type { ScriptPort } from '../io/ports.js';
import type { CommandRegistry } from '../control/registry.js';
import { ControlError, argString } from '../control/registry.js';
import type { Checker, Model, RealServer, ScriptCommand, VirtualServer } from '../model/types.js';
import type { ChangeSet } from '../model/changes.js';
import type { Subsystem } from '../daemon/subsystem.js';
import { isIPv6 } from 'node:net';
import { CheckerRunner, type RunnerHooks } from './runner.js';
import { sameTarget } from './identity.js';
import { createProbe, type ProbeFactory } from './probe.js';
import { ProbeGate } from './probe-gate.js';
import { effectiveWeight, initialQuorum, nextQuorum, realAlive } from './quorum.js';
import type { CheckOutcome } from './outcome.js';
import type { ChecksReport, RealHealth, ServiceHealth, ServiceReport } from './report.js';

/** Timeout of notify_up/notify_down/quorum_up/quorum_down scripts while running. */
export const NOTIFY_TIMEOUT_MS = 30_000;
/** Timeout of the omega scripts run while stopping (keepalived: TIMER_HZ, one second). */
export const STOP_SCRIPT_TIMEOUT_MS = 1_000;

/** What the check subsystem needs. */
export interface CheckSubsystemDeps {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly scripts: ScriptPort;
  readonly registry: CommandRegistry;
  /** Probe factory; default the real TCP/HTTP/script probes. Tests inject doubles. */
  readonly probes?: ProbeFactory;
  /** Uniform [0,1) for warmup jitter; default Math.random. */
  readonly random?: () => number;
  /** Emit `check.result` for every attempt, not only for changes (debugging). */
  readonly verboseResults?: boolean;
  /** Probe starts per event-loop turn (default PROBES_PER_TURN; see probe-gate.ts). */
  readonly probesPerTurn?: number;
}

interface RealRt {
  rs: RealServer;
  readonly runners: Map<string, CheckerRunner>;
  alive: boolean;
  dynamicWeight: number | null;
  changedAt: number;
  /** keepalived: an alpha server whose first check fails still gets notify_down once. */
  firstNotifyPending: boolean;
}

interface ServiceRt {
  vs: VirtualServer;
  readonly reals: Map<string, RealRt>;
  quorumUp: boolean;
  sorryActive: boolean;
  suspended: boolean;
}

/** What moved quorum: the change's real server, checker and reason (`service.quorum`). */
interface QuorumTrigger {
  readonly real: string | null;
  readonly checker: string | null;
  readonly reason: QuorumCause;
}

/** A reload's own change (a real server or sorry server added or removed, a weight edited). */
const BY_RELOAD: QuorumTrigger = { real: null, checker: null, reason: 'config' };

/** `alpha` of a checker: its own, else its real server's (which inherits the virtual server's). */
function alphaOf(rs: RealServer, c: Checker): boolean {
  return c.alpha ?? rs.alpha;
}

function hostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The health-check subsystem (ARCHITECTURE: check/). */
export class CheckSubsystem implements Subsystem {
  readonly name = 'checks';
  private readonly d: CheckSubsystemDeps;
  private readonly probes: ProbeFactory;
  private readonly random: () => number;
  private readonly services = new Map<string, ServiceRt>();
  private readonly vrrpStates = new Map<string, VrrpState>();
  private readonly pendingScripts = new Set<Promise<unknown>>();
  private readonly hooks: RunnerHooks;
  private readonly runnerOwner = new WeakMap<CheckerRunner, { svc: ServiceRt; rt: RealRt }>();
  private readonly gate: ProbeGate;
  private unsubscribe: (() => void) | null = null;
  private running = false;

  constructor(deps: CheckSubsystemDeps) {
    this.d = deps;
    this.probes = deps.probes ?? createProbe;
    this.random = deps.random ?? Math.random;
    this.gate = new ProbeGate(deps.probesPerTurn);
    this.hooks = {
      onChange: (runner, e) => this.onChange(runner, e),
      onResult: (runner, o) => this.onResult(runner, o),
    };
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  async start(model: Model): Promise<void> {
    if (this.running) throw new Error('check subsystem already started');
    this.running = true;
    this.unsubscribe = this.d.bus.on('vrrp.transition', (ev) => {
      this.vrrpStates.set(ev.instance, ev.to);
      for (const svc of this.services.values()) if (svc.vs.ownerInstance === ev.instance) this.updateSuspension(svc);
    });
    this.d.registry.register('checks', {
      describe: 'every real server with its checkers: state, last result, reason, latency, consecutive counts',
      handler: (args) => this.report(argString(args, 'service')),
    });
    for (const vs of Object.values(model.virtualServers)) this.addService(vs, true);
  }

  async apply(next: Model, _changes: ChangeSet): Promise<void> {
    // Reconciled by key and structural equality (the change set names the same things);
    // unchanged services, real servers and checkers keep their runners untouched.
    for (const [key, svc] of [...this.services]) {
      if (!Object.prototype.hasOwnProperty.call(next.virtualServers, key)) this.removeService(svc);
    }
    for (const vs of Object.values(next.virtualServers)) {
      const svc = this.services.get(vs.key);
      if (!svc) this.addService(vs, false);
      else if (svc.vs !== vs) this.migrateService(svc, vs);
    }
  }

  async stop(_reason: string): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.d.registry.unregister('checks');
    for (const svc of this.services.values()) {
      for (const rt of svc.reals.values()) for (const r of rt.runners.values()) r.stop();
      // keepalived ipwrapper.c clear_service_rs / update_vs_notifies: scripts at exit only with omega.
      if (svc.vs.omega) {
        for (const rt of svc.reals.values()) {
          if (rt.alive && rt.rs.notifyDown) this.runScript('notify_down', rt.rs.notifyDown, STOP_SCRIPT_TIMEOUT_MS);
        }
        if (svc.vs.quorumDown) this.runScript('quorum_down', svc.vs.quorumDown, STOP_SCRIPT_TIMEOUT_MS);
      }
    }
    this.services.clear();
    await Promise.allSettled([...this.pendingScripts]);
  }

  // ───────────────────────────── queries ─────────────────────────────

  /** Every real server's health, for the forwarding core (changes also arrive as events). */
  health(): RealHealth[] {
    const out: RealHealth[] = [];
    for (const svc of this.services.values()) {
      for (const rt of svc.reals.values()) out.push(this.realHealth(svc, rt));
    }
    return out;
  }

  /** Every service's quorum and sorry-server state. */
  quorum(): ServiceHealth[] {
    return [...this.services.values()].map((svc) => this.serviceHealth(svc));
  }

  /** The `checks` control command's result; `service` filters to one virtual server. */
  report(service?: string): ChecksReport {
    const now = this.d.clock.now();
    let list: ServiceRt[];
    if (service === undefined) list = [...this.services.values()];
    else {
      const one = this.services.get(service);
      if (!one) throw new ControlError('ERR_CHECK_UNKNOWN_SERVICE', `no virtual server ${service}`);
      list = [one];
    }
    const services: ServiceReport[] = list.map((svc) => ({
      ...this.serviceHealth(svc),
      reals: [...svc.reals.values()].map((rt) => {
        const h = this.realHealth(svc, rt);
        return {
          real: rt.rs.key,
          up: h.up,
          weight: h.weight,
          configuredWeight: rt.rs.weight,
          inPool: h.inPool,
          inhibitOnFailure: rt.rs.inhibitOnFailure,
          sinceMs: now - rt.changedAt,
          checkers: [...rt.runners.values()].map((r) => {
            const s = r.state;
            const c = r.checker;
            return {
              checker: c.key,
              kind: c.kind,
              target: hostPort(c.connectIp, c.connectPort),
              up: s.up,
              pending: !s.hasRun,
              suspended: s.suspended,
              lastOk: s.last ? s.last.ok : null,
              reason: s.last ? s.last.reason : null,
              detail: s.last ? s.last.detail : '',
              latencyMs: s.last ? Math.round(s.last.latencyMs * 10) / 10 : null,
              lastAgoMs: s.lastAt === null ? null : now - s.lastAt,
              sinceMs: now - s.changedAt,
              consecutiveOk: s.okStreak,
              consecutiveFail: s.failStreak,
              retries: s.retrying ? s.retryIt : 0,
              attempts: s.attempts,
              failures: s.failures,
            };
          }),
        };
      }),
    }));
    return { services };
  }

  private realHealth(svc: ServiceRt, rt: RealRt): RealHealth {
    const w = effectiveWeight(rt.rs.weight, rt.dynamicWeight);
    return {
      service: svc.vs.key,
      real: rt.rs.key,
      up: rt.alive,
      weight: rt.alive ? w : 0,
      inPool: rt.alive || rt.rs.inhibitOnFailure,
    };
  }

  private serviceHealth(svc: ServiceRt): ServiceHealth {
    const ss = svc.vs.sorryServer;
    return {
      service: svc.vs.key,
      quorumUp: svc.quorumUp,
      aliveWeight: this.aliveWeight(svc),
      quorum: svc.vs.quorum,
      hysteresis: svc.vs.hysteresis,
      sorryServer: svc.sorryActive && ss ? hostPort(ss.address, ss.port) : null,
      suspended: svc.suspended,
    };
  }

  // ───────────────────────────── building ─────────────────────────────

  /** `initial`: created by the daemon's start (not by a reload); see newReal. */
  private addService(vs: VirtualServer, initial: boolean): void {
    const svc: ServiceRt = { vs, reals: new Map(), quorumUp: true, sorryActive: false, suspended: this.shouldSuspend(vs) };
    this.services.set(vs.key, svc);
    for (const rs of Object.values(vs.realServers)) svc.reals.set(rs.key, this.newReal(svc, rs, initial));
    // ipwrapper.c set_quorum_states + update_quorum_state(init): start lost → sorry server in
    // and quorum_down run only when there is a sorry server.
    const w = this.aliveWeight(svc);
    svc.quorumUp = initialQuorum(w, vs.quorum, vs.hysteresis);
    if (!svc.quorumUp) {
      svc.sorryActive = vs.sorryServer !== null;
      this.emitQuorum(svc, w, { real: null, checker: null, reason: initial ? 'startup' : 'config' }, true);
      if (svc.sorryActive && vs.quorumDown) this.runScript('quorum_down', vs.quorumDown);
    }
    for (const rt of svc.reals.values()) for (const r of rt.runners.values()) this.startRunner(svc, r);
  }

  /**
   * A real server and its checkers. Each checker starts down when its own `alpha` (checker →
   * real server → virtual server) says so, else up; the server is up only when every
   * checker is (check_data.c validate_check_config marks each alpha checker failed and its
   * real server not alive; on a reload, ipwrapper.c check_new_rs_state does the same for
   * new real servers). At the daemon's start (`initial`) every checker also gets "one
   * failure is enough initially" (validate_check_config presets `retry_it = retry`).
   */
  private newReal(svc: ServiceRt, rs: RealServer, initial: boolean): RealRt {
    const rt: RealRt = { rs, runners: new Map(), alive: true, dynamicWeight: null, changedAt: this.d.clock.now(), firstNotifyPending: false };
    for (const c of rs.checkers) rt.runners.set(c.key, this.newRunner(svc, rt, c, { startUp: !alphaOf(rs, c), oneFailureDecides: initial }));
    rt.alive = realAlive([...rt.runners.values()].map((r) => r.state.up));
    rt.firstNotifyPending = !rt.alive;
    return rt;
  }

  private newRunner(svc: ServiceRt, rt: RealRt, c: Checker, start: { startUp: boolean; oneFailureDecides: boolean }): CheckerRunner {
    const probe = this.probes(c, {
      clock: this.d.clock,
      scripts: this.d.scripts,
      warn: (msg, fields) => this.d.bus.emit({ type: 'log', level: 'warn', msg, fields: { service: svc.vs.key, real: rt.rs.key, ...fields } }),
    });
    const r = new CheckerRunner({ checker: c, clock: this.d.clock, probe, hooks: this.hooks, ...start, gate: this.gate });
    this.runnerOwner.set(r, { svc, rt });
    return r;
  }

  private startRunner(svc: ServiceRt, r: CheckerRunner): void {
    if (svc.suspended) r.suspend();
    r.start(this.jitter(r.checker));
  }

  /** keepalived warmup: the first check at a random point in [0, warmup]. */
  private jitter(c: Checker): number {
    return c.timing.warmupMs > 0 ? Math.floor(this.random() * (c.timing.warmupMs + 1)) : 0;
  }

  private removeService(svc: ServiceRt): void {
    this.services.delete(svc.vs.key);
    // ipwrapper.c clear_service_vs (not stopping): alive servers get notify_down, and the
    // quorum, now 0, is lost.
    for (const rt of svc.reals.values()) this.dropReal(rt);
    if (svc.quorumUp && svc.vs.quorumDown) this.runScript('quorum_down', svc.vs.quorumDown);
  }

  private dropReal(rt: RealRt): void {
    for (const r of rt.runners.values()) r.stop();
    if (rt.alive && rt.rs.notifyDown) this.runScript('notify_down', rt.rs.notifyDown);
  }

  private migrateService(svc: ServiceRt, vs: VirtualServer): void {
    svc.vs = vs;
    for (const [key, rt] of [...svc.reals]) {
      if (!Object.prototype.hasOwnProperty.call(vs.realServers, key)) {
        svc.reals.delete(key);
        this.dropReal(rt);
      }
    }
    for (const rs of Object.values(vs.realServers)) {
      const rt = svc.reals.get(rs.key);
      if (!rt) {
        const n = this.newReal(svc, rs, false);
        svc.reals.set(rs.key, n);
        for (const r of n.runners.values()) this.startRunner(svc, r);
      } else if (rt.rs !== rs) {
        this.migrateReal(svc, rt, rs);
      }
    }
    this.updateSuspension(svc);
    this.evaluateQuorum(svc, BY_RELOAD);
    // A new or removed sorry server while quorum is lost.
    const sorry = !svc.quorumUp && vs.sorryServer !== null;
    if (sorry !== svc.sorryActive) {
      svc.sorryActive = sorry;
      this.emitQuorum(svc, this.aliveWeight(svc), BY_RELOAD);
    }
  }

  /**
   * ipwrapper.c migrate_checkers: a checker that checks the same thing (identity.ts) keeps
   * its runner, verdict and history and adopts the new timing; any other is new. How a new
   * checker starts:
   *  - keepalived: when the real server has a failed checker (one that has run and is
   *    down), or is down with no checker that has run, new alpha checkers start down and
   *    every new checker gets "one failure is enough" (`retry_it = retry`); otherwise a new
   *    checker starts up, so a reload never pulls a healthy server;
   *  - lvsd, stricter: a checker that replaces a down one (same key, changed definition)
   *    starts down, with one failure enough, whatever its alpha. keepalived would start it
   *    up and, with no other failed checker, bring the real server up on the reload alone
   *    (docs/health-checks.md, "Differences from keepalived").
   */
  private migrateReal(svc: ServiceRt, rt: RealRt, rs: RealServer): void {
    const old = rt.runners;
    const kept = new Map<string, CheckerRunner>();
    const replaced = new Map<string, CheckerRunner>();
    const fresh: Checker[] = [];
    for (const c of rs.checkers) {
      const r = old.get(c.key);
      if (r && sameTarget(r.checker, c)) {
        r.retime(c);
        kept.set(c.key, r);
      } else {
        fresh.push(c);
        if (r) replaced.set(c.key, r);
      }
    }
    for (const [key, r] of old) if (kept.get(key) !== r) r.stop();
    // keepalived's has_run: an attempt has ended.
    const keptStates = [...kept.values()].map((r) => r.state);
    const hasFailed = keptStates.some((st) => st.attempts > 0 && !st.up);
    const anyRun = keptStates.some((st) => st.attempts > 0);
    const wary = hasFailed || (!rt.alive && !anyRun);
    rt.runners.clear();
    const started: CheckerRunner[] = [];
    for (const c of rs.checkers) {
      const k = kept.get(c.key);
      if (k) {
        rt.runners.set(c.key, k);
        continue;
      }
      const predecessorDown = replaced.has(c.key) && !replaced.get(c.key)!.state.up;
      const n = this.newRunner(svc, rt, c, {
        startUp: !predecessorDown && !(wary && alphaOf(rs, c)),
        oneFailureDecides: wary || predecessorDown,
      });
      rt.runners.set(c.key, n);
      started.push(n);
    }
    const prevWeight = effectiveWeight(rt.rs.weight, rt.dynamicWeight);
    rt.rs = rs;
    if (!rs.checkers.some((c) => c.kind === 'misc' && c.dynamic)) rt.dynamicWeight = null;
    for (const n of started) this.startRunner(svc, n);
    const alive = realAlive([...rt.runners.values()].map((r) => r.state.up));
    if (alive !== rt.alive) {
      const cause = fresh[0]?.key ?? '';
      this.setAlive(svc, rt, alive, cause, { ok: alive, reason: 'config', detail: 'checkers changed by reload', latencyMs: 0 });
    } else if (rt.alive && effectiveWeight(rs.weight, rt.dynamicWeight) !== prevWeight) {
      this.evaluateQuorum(svc, { real: rt.rs.key, checker: null, reason: 'config' });
    }
  }

  // ───────────────────────────── runtime ─────────────────────────────

  private onResult(runner: CheckerRunner, o: CheckOutcome): void {
    const own = this.runnerOwner.get(runner);
    if (!own) return;
    const { svc, rt } = own;
    if (this.d.verboseResults) this.emitResult(svc, rt, runner, o);
    // check_misc.c: misc_dynamic exit 2..255 sets the weight (exit − 2); exit 0 keeps it.
    if (o.ok && o.weight !== undefined && o.weight !== rt.dynamicWeight) {
      const from = effectiveWeight(rt.rs.weight, rt.dynamicWeight);
      rt.dynamicWeight = o.weight;
      if (from !== o.weight) {
        this.d.bus.emit({
          type: 'real.weight', service: svc.vs.key, real: rt.rs.key, from, to: o.weight, reason: 'misc_dynamic',
          checker: runner.checker.key, detail: o.detail, latencyMs: o.latencyMs, exitCode: o.exitCode ?? null,
        });
        if (rt.alive) this.evaluateQuorum(svc, { real: rt.rs.key, checker: runner.checker.key, reason: 'misc_dynamic' });
      }
    }
    if (rt.firstNotifyPending && runner.state.hasRun) {
      rt.firstNotifyPending = false;
      // ipwrapper.c update_svr_checker_state: an alpha checker whose first check confirms
      // "down" still runs notify_down.
      if (!rt.alive && !runner.state.up && rt.rs.notifyDown) this.runScript('notify_down', rt.rs.notifyDown);
    }
  }

  private onChange(runner: CheckerRunner, e: { kind: 'result-changed' | 'transition'; outcome: CheckOutcome; up?: boolean }): void {
    const own = this.runnerOwner.get(runner);
    if (!own) return;
    const { svc, rt } = own;
    if (!this.d.verboseResults) this.emitResult(svc, rt, runner, e.outcome);
    if (e.kind !== 'transition') return;
    const alive = realAlive([...rt.runners.values()].map((r) => r.state.up));
    if (alive !== rt.alive) this.setAlive(svc, rt, alive, runner.checker.key, e.outcome);
  }

  private setAlive(svc: ServiceRt, rt: RealRt, alive: boolean, checker: string, o: CheckOutcome): void {
    rt.alive = alive;
    rt.changedAt = this.d.clock.now();
    rt.firstNotifyPending = false;
    const base = { service: svc.vs.key, real: rt.rs.key, checker, reason: o.reason as CheckReason, detail: o.detail, latencyMs: o.latencyMs };
    this.d.bus.emit(alive ? { type: 'real.up', ...base } : { type: 'real.down', ...base });
    if (rt.rs.inhibitOnFailure) {
      const w = effectiveWeight(rt.rs.weight, rt.dynamicWeight);
      this.d.bus.emit({
        type: 'real.weight',
        service: svc.vs.key,
        real: rt.rs.key,
        from: alive ? 0 : w,
        to: alive ? w : 0,
        reason: alive ? 'recovered' : 'inhibit_on_failure',
        checker,
        detail: o.detail,
        latencyMs: o.latencyMs,
        exitCode: o.exitCode ?? null,
      });
    }
    const script = alive ? rt.rs.notifyUp : rt.rs.notifyDown;
    if (script) this.runScript(alive ? 'notify_up' : 'notify_down', script);
    this.evaluateQuorum(svc, { real: rt.rs.key, checker: checker || null, reason: o.reason });
  }

  private aliveWeight(svc: ServiceRt): number {
    let sum = 0;
    for (const rt of svc.reals.values()) if (rt.alive) sum += effectiveWeight(rt.rs.weight, rt.dynamicWeight);
    return sum;
  }

  private evaluateQuorum(svc: ServiceRt, trigger: QuorumTrigger): void {
    const w = this.aliveWeight(svc);
    const up = nextQuorum(svc.quorumUp, w, svc.vs.quorum, svc.vs.hysteresis);
    if (up === svc.quorumUp) return;
    svc.quorumUp = up;
    svc.sorryActive = !up && svc.vs.sorryServer !== null;
    this.emitQuorum(svc, w, trigger);
    const script = up ? svc.vs.quorumUp : svc.vs.quorumDown;
    if (script) this.runScript(up ? 'quorum_up' : 'quorum_down', script);
  }

  private emitQuorum(svc: ServiceRt, aliveWeight: number, trigger: QuorumTrigger, initial = false): void {
    const ss = svc.vs.sorryServer;
    this.d.bus.emit({
      ...(initial ? { initial: true } : {}),
      type: 'service.quorum',
      service: svc.vs.key,
      up: svc.quorumUp,
      aliveWeight,
      quorum: svc.vs.quorum,
      hysteresis: svc.vs.hysteresis,
      sorryServer: svc.sorryActive && ss ? hostPort(ss.address, ss.port) : null,
      real: trigger.real,
      checker: trigger.checker,
      reason: trigger.reason,
    });
  }

  private emitResult(svc: ServiceRt, rt: RealRt, runner: CheckerRunner, o: CheckOutcome): void {
    this.d.bus.emit({
      type: 'check.result',
      service: svc.vs.key,
      real: rt.rs.key,
      checker: runner.checker.key,
      ok: o.ok,
      reason: o.reason,
      detail: o.detail,
      latencyMs: o.latencyMs,
    });
  }

  // ───────────────────────────── ha_suspend ─────────────────────────────

  private shouldSuspend(vs: VirtualServer): boolean {
    return vs.haSuspend && vs.ownerInstance !== null && this.vrrpStates.get(vs.ownerInstance) !== 'MASTER';
  }

  private updateSuspension(svc: ServiceRt): void {
    const want = this.shouldSuspend(svc.vs);
    if (want === svc.suspended) return;
    svc.suspended = want;
    for (const rt of svc.reals.values()) {
      for (const r of rt.runners.values()) {
        if (want) r.suspend();
        else r.resume(this.jitter(r.checker));
      }
    }
  }

  // ───────────────────────────── scripts ─────────────────────────────

  private runScript(purpose: string, cmd: ScriptCommand, timeoutMs = NOTIFY_TIMEOUT_MS): void {
    const p = this.d.scripts
      .run(cmd, { timeoutMs })
      .then((r) => {
        this.d.bus.emit({
          type: 'script.result',
          purpose,
          command: cmd.line,
          exitCode: r.exitCode,
          signal: r.signal,
          timedOut: r.timedOut,
          durationMs: r.durationMs,
        });
      })
      .catch(() => undefined)
      .finally(() => this.pendingScripts.delete(p));
    this.pendingScripts.add(p);
  }
}
