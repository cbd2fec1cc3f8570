/**
 * The one place where events become log lines (ARCHITECTURE D9). Every line carries
 * `event` (the event type) and the event's fields in snake_case at every depth (the
 * config.applied summary is `real_servers: {added, removed, changed}`); those names are
 * stable — operators grep and alert on them. Levels: transitions and health changes are info/warn,
 * per-check results are debug.
 */
import { pino, type Logger, type DestinationStream, type Level } from 'pino';
import pretty from 'pino-pretty';
import type { EventBus } from './bus.js';
import type { LvsdEvent } from './types.js';

/** Output format: JSON lines (default, for machines) or pino-pretty (for people). */
export type LogFormat = 'json' | 'pretty';

/** camelCase → snake_case (`masterAddress` → `master_address`). */
export function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The pino level of an event. */
export function levelOf(ev: LvsdEvent): Level {
  switch (ev.type) {
    case 'config.rejected':
    case 'config.apply_failed':
    case 'forward.error':
    case 'forward.worker_crashed':
    case 'sync.error':
      return 'error';
    case 'real.down':
    case 'vrrp.packet_dropped':
      return ev.type === 'vrrp.packet_dropped' ? 'debug' : 'warn';
    case 'vrrp.transition':
      return ev.to === 'FAULT' ? 'warn' : 'info';
    case 'service.quorum':
      return ev.up || ev.initial ? 'info' : 'warn';
    case 'script.result':
      return ev.exitCode === 0 && !ev.timedOut ? 'debug' : 'warn';
    case 'check.result':
    case 'control.request':
      return 'debug';
    case 'log':
      return ev.level;
    default:
      return 'info';
  }
}

/** A one-line human summary of an event (pino's `msg`). */
export function messageOf(ev: LvsdEvent): string {
  switch (ev.type) {
    case 'daemon.started': return `lvsd ${ev.version} started (pid ${ev.pid})`;
    case 'daemon.stopping': return `lvsd stopping: ${ev.reason}`;
    case 'daemon.stopped': return 'lvsd stopped';
    case 'config.applied': return `config applied (${ev.trigger})`;
    case 'config.rejected': return `config rejected (${ev.trigger}), running config kept: ${ev.errors.length} error(s)`;
    case 'config.apply_failed':
      return `config not applied (${ev.trigger}): subsystem ${ev.subsystem} failed (${ev.error}); ${ev.rollbackErrors.length ? `${ev.rollbackErrors.length} subsystem(s) could not be restored` : 'running config restored'}`;
    case 'vrrp.transition': return `${ev.instance}: ${ev.from} -> ${ev.to} (${ev.reason}, priority ${ev.priority})`;
    case 'vrrp.priority': return `${ev.instance}: priority ${ev.from} -> ${ev.to} (${ev.reason})`;
    case 'vrrp.tracker': return `tracker ${ev.kind} ${ev.tracker} ${ev.up ? 'up' : 'down'}`;
    case 'vrrp.sync_group': return `sync group ${ev.group} -> ${ev.to} (${ev.reason})`;
    case 'vrrp.packet_dropped': return `VRRP packet from ${ev.source} dropped: ${ev.reason}`;
    case 'vip.added': return `VIP ${ev.address} added on ${ev.dev} (${ev.owner})`;
    case 'vip.removed': return `VIP ${ev.address} removed from ${ev.dev} (${ev.owner})`;
    case 'script.result': return `${ev.purpose} script ${ev.timedOut ? 'timed out' : `exited ${ev.exitCode ?? ev.signal}`}`;
    case 'check.result': return `${ev.service} ${ev.real} ${ev.checker}: ${ev.ok ? 'ok' : ev.reason}`;
    case 'real.up': return `${ev.service} real ${ev.real} UP (${ev.checker}: ${ev.reason})`;
    case 'real.down': return `${ev.service} real ${ev.real} DOWN (${ev.checker}: ${ev.detail.startsWith(ev.reason) ? ev.detail : `${ev.reason}${ev.detail ? ` ${ev.detail}` : ''}`})`;
    case 'real.weight':
      return `${ev.service} real ${ev.real} weight ${ev.from} -> ${ev.to} (${ev.reason}: ${ev.checker}${ev.detail ? ` ${ev.detail}` : ''})`;
    case 'service.quorum': {
      if (ev.initial && !ev.up) return `${ev.service} quorum not reached yet (alive weight ${ev.aliveWeight}, quorum ${ev.quorum}): waiting for the first checks`;
      const by = ev.real === null ? ev.reason : `real ${ev.real}${ev.checker ? ` ${ev.checker}` : ''}: ${ev.reason}`;
      return `${ev.service} quorum ${ev.up ? 'gained' : 'lost'} (alive weight ${ev.aliveWeight}, quorum ${ev.quorum}; ${by})`;
    }
    case 'forward.started': return `forwarding core started: ${ev.workers} worker(s) on ${ev.interfaces.join(',')}`;
    case 'forward.stopped': return `forwarding core stopped: ${ev.reason}`;
    case 'forward.error': return `forwarding core error: ${ev.message}`;
    case 'forward.worker_crashed': return `forwarding worker ${ev.worker} exited (${ev.reason}); restarting worker(s) ${ev.restarting.join(',')} in ${ev.restartInMs} ms: their connections are lost`;
    case 'forward.worker_restarted': return `forwarding worker(s) ${ev.workers.join(',')} restarted (attempt ${ev.attempt})`;
    case 'sync.role':
      return `connection sync ${ev.from} -> ${ev.to} (${ev.reason}${ev.instance ? `, ${ev.instance} ${ev.vrrpState ?? '?'}` : ''}) on ${ev.interface} ${ev.group}:${ev.port} syncid ${ev.syncId}${ev.discarded ? `; ${ev.discarded} unsent entries dropped` : ''}`;
    case 'sync.error': return `connection sync (${ev.role}) error: ${ev.message}`;
    case 'control.request': return `control ${ev.cmd} ${ev.ok ? 'ok' : ev.code}`;
    case 'log': return ev.msg;
  }
}

/** A field name: a camelCase identifier. Anything else (a name, an address) is data. */
const FIELD_NAME = /^[a-z][a-zA-Z0-9]*$/;

/**
 * A value with the field names of every nested plain object in snake_case. Keys that are not
 * camelCase identifiers are data (an instance `VI_1`, a service `tcp:198.18.0.10:80`) and
 * stay as they are.
 */
export function snakeDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeDeep);
  if (v === null || typeof v !== 'object') return v;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[FIELD_NAME.test(k) ? snake(k) : k] = snakeDeep(x);
  return out;
}

/** The event's fields for the log line: `event` plus every field in snake_case, at every depth. */
export function fieldsOf(ev: LvsdEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { event: ev.type };
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'type') continue;
    if (k === 'pid' && v === process.pid) continue; // every line carries the daemon's pid already
    if (ev.type === 'log' && (k === 'msg' || k === 'level')) continue;
    if (ev.type === 'log' && k === 'fields' && v && typeof v === 'object') {
      for (const [fk, fv] of Object.entries(v)) out[snake(fk)] = snakeDeep(fv);
      continue;
    }
    out[snake(k)] = snakeDeep(v);
  }
  return out;
}

/** Creates the daemon's pino logger writing to dest (default stdout). */
export function createLogger(opts: { format: LogFormat; level: Level; destination?: DestinationStream }): Logger {
  const base = { level: opts.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (opts.format === 'pretty') {
    const stream = pretty({
      colorize: opts.destination ? false : process.stdout.isTTY,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      singleLine: true,
      destination: opts.destination ?? 1,
    });
    return pino(base, stream);
  }
  return pino(base, opts.destination ?? pino.destination({ dest: 1, sync: true }));
}

/** Subscribes the logger to every event on the bus; returns the unsubscribe function. */
export function attachLogSink(bus: EventBus, logger: Logger): () => void {
  return bus.onAny((ev) => {
    const level = levelOf(ev);
    if (!logger.isLevelEnabled(level)) return; // no field building for disabled levels
    logger[level](fieldsOf(ev), messageOf(ev));
  });
}
