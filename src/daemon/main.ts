/**
 * The composition root: builds the real adapters (netlink, AF_PACKET, raw sockets, script
 * runner), the subsystems, the control socket and the metrics endpoint, and wires them:
 * VRRP → forwarding core (VIP claims), health events → forwarding core (real server
 * weights), everything → event bus → log sink.
 */
import { readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Level } from 'pino';
import { EventBus } from '../events/bus.js';
import { attachLogSink, createLogger, type LogFormat } from '../events/log-sink.js';
import { CommandRegistry } from '../control/registry.js';
import { ControlServer } from '../control/server.js';
import { DEFAULT_CONTROL_PATH } from '../control/client.js';
import { createMetricsRegistry, serveMetrics } from '../control/metrics.js';
import { loadConfigFile } from '../config/load.js';
import { diff, summarizeChanges } from '../model/diff.js';
import { sdNotify } from '../io/sd-notify.js';
import { Supervisor, StartupConfigError } from './supervisor.js';
import { buildSubsystems } from './wiring.js';
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

/** The package version. */
export function lvsdVersion(): string {
  try {
    // src/daemon/main.ts and dist/daemon/main.js are both two levels below the package root.
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs the daemon until SIGTERM/SIGINT; resolves with the exit status. */
export async function runDaemon(o: DaemonOptions): Promise<number> {
  const bus = new EventBus();
  const logger = createLogger({ format: o.logFormat, level: o.logLevel });
  attachLogSink(bus, logger);
  bus.onListenerError = (err, ev) => logger.error({ event: ev.type, err: String(err) }, 'event listener failed');
  const registry = new CommandRegistry();
  const version = lvsdVersion();

  process.on('uncaughtException', (err) => {
    logger.fatal({ err: { message: err.message, stack: err.stack } }, 'uncaught exception: lvsd exits');
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    logger.error({ err: String(err) }, 'unhandled promise rejection');
  });

  // VRRP's thread first, before the worker threads exist (they start at normal priority).
  const rt = await raiseMainThreadPriority(rtPriorityFromEnv());
  bus.emit({
    type: 'log', level: rt.ok ? 'info' : 'warn',
    msg: rt.ok ? `main thread (VRRP): ${rt.detail}` : `main thread (VRRP) not made real-time, adverts may be late on saturated CPUs: ${rt.detail}`,
    fields: { rt_ok: rt.ok },
  });

  const { subsystems, registerMetrics, close: closeWiring } = await buildSubsystems({ bus, registry });
  const supervisor = new Supervisor({
    configFile: o.configFile,
    load: (file) => loadConfigFile(file, o.configId ? { configId: o.configId } : {}),
    diff,
    summarize: summarizeChanges,
    bus,
    registry,
    subsystems,
    notify: sdNotify,
    version,
  });

  bus.emit({ type: 'daemon.started', version, pid: process.pid, configFile: o.configFile });
  try {
    await supervisor.start();
  } catch (err) {
    await closeWiring();
    if (err instanceof StartupConfigError) return 4; // keepalived's KEEPALIVED_EXIT_CONFIG
    logger.fatal({ err: String(err) }, 'lvsd could not start');
    return 1;
  }
  const model = supervisor.current!;

  const controlPath = o.controlPath ?? model.global.controlSocket ?? DEFAULT_CONTROL_PATH;
  const control = new ControlServer({
    path: controlPath,
    registry,
    bus,
    onRequest: (cmd, ok, code) => bus.emit({ type: 'control.request', cmd, ok, code }),
  });
  try {
    await control.listen();
  } catch (err) {
    bus.emit({ type: 'log', level: 'error', msg: `control socket ${controlPath}: ${(err as Error).message}`, fields: { path: controlPath } });
  }

  const metrics = createMetricsRegistry(bus);
  const detachAreaMetrics = registerMetrics(metrics.registry);
  let metricsServer: Server | null = null;
  if (model.global.metricsListen) {
    const { address, port } = model.global.metricsListen;
    try {
      metricsServer = await serveMetrics(metrics.registry, address, port);
    } catch (err) {
      bus.emit({ type: 'log', level: 'error', msg: `metrics on ${address}:${port}: ${(err as Error).message}`, fields: { address, port } });
    }
  }

  if (o.pidFile) writeFileSync(o.pidFile, `${process.pid}\n`);

  // systemd watchdog: ping from the event loop at half the interval; a blocked loop misses it.
  const watchdogUsec = Number(process.env.WATCHDOG_USEC ?? 0);
  const watchdog = watchdogUsec > 0 ? setInterval(() => sdNotify('WATCHDOG=1'), Math.max(100, watchdogUsec / 2000)) : null;

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (reason: string) => {
      if (stopping) return;
      stopping = true;
      if (watchdog) clearInterval(watchdog);
      await supervisor.stop(reason);
      await control.close();
      if (metricsServer) await new Promise((r) => metricsServer!.close(r));
      metrics.detach();
      detachAreaMetrics();
      await closeWiring();
      if (o.pidFile) {
        try { unlinkSync(o.pidFile); } catch { /* gone */ }
      }
      bus.emit({ type: 'daemon.stopped' });
      logger.flush();
      resolve(0);
    };
    process.on('SIGHUP', () => { void supervisor.reload('sighup'); });
    process.on('SIGTERM', () => { void stop('SIGTERM'); });
    process.on('SIGINT', () => { void stop('SIGINT'); });
    registry.register('stop', { describe: 'stop the daemon cleanly (like SIGTERM)', handler: () => { setImmediate(() => void stop('control')); return { stopping: true }; } });
  });
}
