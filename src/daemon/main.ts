/**
 * The composition root: builds the real adapters (netlink, AF_PACKET, raw sockets, script
 * runner), the subsystems, the control socket and the metrics endpoint, and wires them:
 * VRRP → forwarding core (VIP claims), health events → forwarding core (real server
 * weights), health events → the checker notify FIFO, everything → event bus → log sink.
 *
 * Start order: signal handlers first (a SIGHUP during start is a reload queued behind it,
 * never Node's default "terminate"), then the config, then the control socket (a daemon
 * nobody can talk to is a start failure, before anything is claimed on the network), then
 * the subsystems, then READY=1.
 */
import { readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Level } from 'pino';
import type { Registry as PromRegistry } from 'prom-client';
import { EventBus } from '../events/bus.js';
import { attachLogSink, createLogger, type LogFormat } from '../events/log-sink.js';
import { CommandRegistry } from '../control/registry.js';
import { ControlServer } from '../control/server.js';
import { DEFAULT_CONTROL_PATH } from '../control/client.js';
import { createMetricsRegistry, serveMetrics } from '../control/metrics.js';
import { EXIT_CODES, loadConfigFile } from '../config/load.js';
import { diff, summarizeChanges } from '../model/diff.js';
import type { Model } from '../model/types.js';
import { sdNotify, sdWatchdogTimeoutMs } from '../io/sd-notify.js';
import { NodeNotifyFifo } from '../vrrp/notify-fifo.js';
import { Supervisor, StartupConfigError } from './supervisor.js';
import type { Subsystem } from './subsystem.js';
import { buildSubsystems } from './wiring.js';
import { CheckerNotifyFifo } from './checker-fifo.js';
import { raiseMainThreadPriority, rtPriorityFromEnv } from './realtime.js';

/** Options of a daemon run (from the command line). */
export interface DaemonOptions {
  readonly configFile: string;
  readonly controlPath: string | null;
  readonly logFormat: LogFormat;
  readonly logLevel: Level;
  readonly pidFile: string | null;
  /** keepalived's `-i` config id for `@ID` lines; null = the short host name. */
  readonly configId?: string | null;
}

/** The signals the daemon handles, and where they come from (the process; a fake in tests). */
export interface SignalSource {
  on(signal: 'SIGHUP' | 'SIGTERM' | 'SIGINT', fn: () => void): void;
  off(signal: 'SIGHUP' | 'SIGTERM' | 'SIGINT', fn: () => void): void;
}

/** What the composition root builds; tests replace the parts that need the network. */
export interface DaemonDeps {
  /** The subsystems and their adapters (default: the real ones, src/daemon/wiring.ts). */
  readonly buildSubsystems?: (deps: { bus: EventBus; registry: CommandRegistry }) => Promise<{
    subsystems: Subsystem[];
    registerMetrics: (registry: PromRegistry) => () => void;
    close: () => Promise<void>;
  }>;
  /** sd_notify (default: the addon's, a no-op off systemd). */
  readonly notify?: (msg: string) => void;
  readonly signals?: SignalSource;
  /** SCHED_RR priority of the main thread (default $LVSD_VRRP_RT_PRIORITY or 10; 0 = leave alone). */
  readonly rtPriority?: number;
  /** Where log lines go (default stdout). */
  readonly logDestination?: Parameters<typeof createLogger>[0]['destination'];
  readonly env?: NodeJS.ProcessEnv;
}

/** The package version. */
export function lvsdVersion(): string {
  try {
    // src/daemon/main.ts and dist/daemon/main.js are both two levels below the package root.
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Settings a running daemon does not move: the control socket (unless the command line
 * fixes it) and the metrics endpoint. A reload that changes one says it needs a restart.
 */
export function restartNeeded(prev: Model, next: Model, cliControlPath: string | null): string[] {
  const out: string[] = [];
  if (cliControlPath === null && prev.global.controlSocket !== next.global.controlSocket) {
    out.push(`control_socket changed to ${next.global.controlSocket ?? DEFAULT_CONTROL_PATH}: the daemon keeps listening on ${prev.global.controlSocket ?? DEFAULT_CONTROL_PATH} until it is restarted [WARN_RESTART_NEEDED]`);
  }
  const ml = (m: Model) => (m.global.metricsListen ? `${m.global.metricsListen.address}:${m.global.metricsListen.port}` : 'off');
  if (ml(prev) !== ml(next)) {
    out.push(`metrics_listen changed to ${ml(next)}: the metrics endpoint stays ${ml(prev)} until the daemon is restarted [WARN_RESTART_NEEDED]`);
  }
  return out;
}

/** Runs the daemon until SIGTERM/SIGINT (or the `stop` command); resolves with the exit status. */
export async function runDaemon(o: DaemonOptions, deps: DaemonDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const notify = deps.notify ?? ((m: string) => void sdNotify(m));
  const signals: SignalSource = deps.signals ?? process;

  // Signals first: until a handler exists, Node's default for SIGHUP terminates the process.
  let supervisor: Supervisor | null = null;
  let hupPending = false;
  let stopRequested: string | null = null;
  let requestStop: (reason: string) => void = (reason) => { stopRequested ??= reason; };
  const onHup = () => {
    if (supervisor) void supervisor.reload('sighup');
    else hupPending = true;
  };
  const onTerm = () => requestStop('SIGTERM');
  const onInt = () => requestStop('SIGINT');
  signals.on('SIGHUP', onHup);
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);

  const bus = new EventBus();
  const logger = createLogger({ format: o.logFormat, level: o.logLevel, ...(deps.logDestination ? { destination: deps.logDestination } : {}) });
  attachLogSink(bus, logger);
  bus.onListenerError = (err, ev) => logger.error({ event: ev.type, err: String(err) }, 'event listener failed');
  const registry = new CommandRegistry();
  const version = lvsdVersion();

  const onUncaught = (err: Error) => {
    logger.fatal({ err: { message: err.message, stack: err.stack } }, 'uncaught exception: lvsd exits');
    process.exit(70);
  };
  const onRejection = (err: unknown) => logger.error({ err: String(err) }, 'unhandled promise rejection');
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);

  // systemd watchdog (WatchdogSec=): ping from the event loop at half the interval, from the
  // start on (starting the forwarding workers may take seconds); a blocked loop misses it.
  // Only when WATCHDOG_PID, if set, names this process (sd_watchdog_enabled(3)).
  const watchdogMs = sdWatchdogTimeoutMs(env, process.pid);
  const watchdog = watchdogMs !== null ? setInterval(() => notify('WATCHDOG=1'), Math.max(100, watchdogMs / 2)) : null;

  const cleanupProcess = () => {
    if (watchdog) clearInterval(watchdog);
    signals.off('SIGHUP', onHup);
    signals.off('SIGTERM', onTerm);
    signals.off('SIGINT', onInt);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    logger.flush();
  };

  // VRRP's thread first, before the worker threads exist (they start at normal priority).
  const rt = await raiseMainThreadPriority(deps.rtPriority ?? rtPriorityFromEnv(env));
  bus.emit({
    type: 'log', level: rt.ok ? 'info' : 'warn',
    msg: rt.ok ? `main thread (VRRP): ${rt.detail}` : `main thread (VRRP) not made real-time, adverts may be late on saturated CPUs: ${rt.detail}`,
    fields: { rt_ok: rt.ok },
  });

  const built = await (deps.buildSubsystems ?? buildSubsystems)({ bus, registry });
  const { registerMetrics, close: closeWiring } = built;
  // The checker FIFO first: it must see the first health events.
  const checkerFifo = new CheckerNotifyFifo(bus, new NodeNotifyFifo());
  supervisor = new Supervisor({
    configFile: o.configFile,
    load: (file) => loadConfigFile(file, o.configId ? { configId: o.configId } : {}),
    diff,
    summarize: summarizeChanges,
    bus,
    registry,
    subsystems: [checkerFifo, ...built.subsystems],
    notify,
    version,
    restartNeeded: (prev, next) => restartNeeded(prev, next, o.controlPath),
  });
  const sup = supervisor;

  let control: ControlServer | null = null;
  bus.emit({ type: 'daemon.started', version, pid: process.pid, configFile: o.configFile });
  const starting = sup.start({
    beforeSubsystems: async (model) => {
      const controlPath = o.controlPath ?? model.global.controlSocket ?? DEFAULT_CONTROL_PATH;
      const server = new ControlServer({
        path: controlPath,
        registry,
        bus,
        onRequest: (cmd, ok, code) => bus.emit({ type: 'control.request', cmd, ok, code }),
      });
      await server.listen();
      control = server;
    },
  });
  if (hupPending) void sup.reload('sighup'); // queued behind the start
  // From here on a stop waits for the start (or a reload) in progress, then stops in reverse.
  let stopping: Promise<void> | null = null;
  let metricsServer: Server | null = null;
  let detachMetrics: (() => void) | null = null;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      await sup.stop(reason);
      if (control) await control.close();
      if (metricsServer) await new Promise((r) => metricsServer!.close(r));
      detachMetrics?.();
      await closeWiring();
      if (o.pidFile) {
        try { unlinkSync(o.pidFile); } catch { /* gone */ }
      }
      bus.emit({ type: 'daemon.stopped' });
    })();
    return stopping;
  };
  let exitWith: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => { exitWith = resolve; });
  requestStop = (reason) => {
    void shutdown(reason).then(() => exitWith(0));
  };
  registry.register('stop', { describe: 'stop the daemon cleanly (like SIGTERM)', handler: () => { setImmediate(() => requestStop('control')); return { stopping: true }; } });
  if (stopRequested) requestStop(stopRequested);

  try {
    await starting;
  } catch (err) {
    if (!(err instanceof StartupConfigError)) {
      const code = (err as { code?: unknown }).code;
      const message = err instanceof Error ? err.message : String(err);
      logger.fatal({ err: message, code: typeof code === 'string' ? code : null }, `lvsd could not start: ${message}`);
    }
    await shutdown('startup failure');
    cleanupProcess();
    // keepalived exits KEEPALIVED_EXIT_NO_CONFIG when it has no usable config at start
    // (keepalived/core/main.c, check_conf_file), KEEPALIVED_EXIT_FATAL for other failures.
    return err instanceof StartupConfigError ? EXIT_CODES.NO_CONFIG : EXIT_CODES.FATAL;
  }

  if (!stopping) {
    const model = sup.current!;
    const metrics = createMetricsRegistry(bus);
    const detachArea = registerMetrics(metrics.registry);
    detachMetrics = () => { metrics.detach(); detachArea(); };
    if (model.global.metricsListen) {
      const { address, port } = model.global.metricsListen;
      try {
        metricsServer = await serveMetrics(metrics.registry, address, port);
      } catch (err) {
        bus.emit({ type: 'log', level: 'error', msg: `metrics on ${address}:${port}: ${(err as Error).message}`, fields: { address, port } });
      }
    }
    if (o.pidFile) writeFileSync(o.pidFile, `${process.pid}\n`);
  }

  const code = await exited;
  cleanupProcess();
  return code;
}
