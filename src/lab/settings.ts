/**
 * The lab's timing and roles, read from the shipped config/lab/*.conf with lvsd's own loader
 * (file → raw tree → convict → compile(), src/config/load.ts), so the story's narration, the
 * end-to-end tests' bounds and the files a user copies can never disagree: change
 * `advert_int`, a priority or a check setting in config/lab/ and every figure follows.
 *
 * It also checks what the lab and the tests take for granted about the pair (the same VRRP
 * timing on both directors, one check timing for every real server) and says so clearly
 * when an edit breaks it.
 */
import { join } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import { formatDiagnostic } from '../lib/errors.js';
import type { CheckTiming, Model, VirtualServer, VrrpInstance } from '../model/types.js';
import { masterDownIntervalMs, skewMs } from '../vrrp/machine.js';
import { LAB } from './network.js';
import { LAB_CONFIG_DIR } from './paths.js';

/** One director of the lab as its config file makes it. */
export interface LabDirectorSettings {
  readonly name: string;
  readonly configFile: string;
  readonly routerId: string;
  /** Priority of its instances (the same on both of its instances). */
  readonly priority: number;
  /** Master_Down_Interval as this director computes it while BACKUP (RFC 5798 §6.1). */
  readonly masterDownIntervalMs: number;
  /** Skew_Time: how long this director waits after a priority-0 advert (RFC 5798 §6.4.2). */
  readonly skewMs: number;
}

/** The lab's settings. */
export interface LabSettings {
  readonly vrrpVersion: 2 | 3;
  /** `advert_int` (ms), the same on every instance of both directors. */
  readonly advertIntMs: number;
  readonly preempt: boolean;
  readonly preemptDelayMs: number;
  /** The instance holding the client-facing VIP, and the one holding the real servers' gateway VIP. */
  readonly frontInstance: string;
  readonly backInstance: string;
  /** Every instance name (both directors have the same). */
  readonly instances: readonly string[];
  /** The sync group of the two instances, if any. */
  readonly syncGroup: string | null;
  /** dir1, dir2 (LAB.directors order). */
  readonly directors: Readonly<Record<string, LabDirectorSettings>>;
  /** The virtual service of LAB.vip:LAB.port. */
  readonly service: { readonly key: string; readonly scheduler: string; readonly method: string; readonly alpha: boolean };
  /** The check timing every real server of the service shares. */
  readonly check: CheckTiming;
  /**
   * Worst-case time from a real server's failure to its `real.down` (src/check/machine.ts
   * semantics): when every attempt fails at once (a 503, a refused connection), and when
   * every attempt waits for connect_timeout (a dead host: no answer at all).
   */
  readonly detection: { readonly failingAnswerMs: number; readonly noAnswerMs: number };
}

/**
 * Worst-case detection time of a failure by a checker with timing t, when each failed
 * attempt takes attemptMs (≈0 for a 503 or a refused connection, connect_timeout when the
 * host does not answer). As src/check/machine.ts runs checks (keepalived check_http.c /
 * check_tcp.c timing):
 *  - the next check starts delay_loop after the start of the last one, which passed just
 *    before the failure: the first failed attempt starts at most delay_loop after it;
 *  - a check of an up server fails only after `retry` retries, each delay_before_retry after
 *    the failed attempt ended: (retry + 1) attempts and retry pauses;
 *  - `fall` consecutive failed checks are needed (default 1), each starting delay_loop after
 *    the previous one started, or at once when it took longer.
 */
export function detectionBoundMs(t: CheckTiming, attemptMs: number): number {
  const checkMs = (t.retry + 1) * attemptMs + t.retry * t.delayBeforeRetryMs;
  return t.delayLoopMs + (t.fall - 1) * Math.max(t.delayLoopMs, checkMs) + checkMs;
}

function load(file: string): Model {
  const r = loadConfigFile(file);
  if (!r.ok) throw new Error(`${file}: the lab's config does not load:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
  return r.model;
}

function instanceWithVip(m: Model, file: string, vip: string): VrrpInstance {
  const inst = Object.values(m.instances).find((i) => i.vips.some((v) => v.address === vip));
  if (!inst) throw new Error(`${file}: no vrrp_instance holds ${vip}, the lab's ${vip === LAB.vip ? 'VIP' : 'gateway VIP'}`);
  return inst;
}

function labService(m: Model, file: string): VirtualServer {
  const vs = Object.values(m.virtualServers).find((v) => v.match.kind === 'addr' && v.match.address === LAB.vip && v.match.port === LAB.port);
  if (!vs) throw new Error(`${file}: no virtual_server ${LAB.vip} ${LAB.port}`);
  return vs;
}

const timingKey = (t: CheckTiming) => JSON.stringify([t.delayLoopMs, t.connectTimeoutMs, t.retry, t.delayBeforeRetryMs, t.rise, t.fall]);

/** Reads config/lab/dir1.conf and dir2.conf (or the files of another directory) and derives the lab's settings. */
export function loadLabSettings(dir = LAB_CONFIG_DIR): LabSettings {
  const directors: Record<string, LabDirectorSettings> = {};
  let first: { file: string; front: VrrpInstance; model: Model } | null = null;
  let check: CheckTiming | null = null;
  let service: LabSettings['service'] | null = null;
  const mismatch = (file: string, what: string) => new Error(`${file}: ${what} differs from ${first!.file}: the lab and its tests expect the pair to agree`);
  for (const d of LAB.directors) {
    const file = join(dir, `${d.name}.conf`);
    const m = load(file);
    const front = instanceWithVip(m, file, LAB.vip);
    const back = instanceWithVip(m, file, LAB.gatewayVip);
    const insts = Object.values(m.instances);
    for (const i of insts) {
      if (i.advertIntervalMs !== front.advertIntervalMs || i.version !== front.version) throw new Error(`${file}: ${i.name} has another advert_int or VRRP version than ${front.name}`);
      if (i.priority !== front.priority) throw new Error(`${file}: ${i.name} has another priority than ${front.name}`);
    }
    if (first) {
      if (front.advertIntervalMs !== first.front.advertIntervalMs || front.version !== first.front.version) throw mismatch(file, 'advert_int or vrrp_version');
      if (front.name !== first.front.name || Object.keys(m.instances).sort().join() !== Object.keys(first.model.instances).sort().join()) throw mismatch(file, 'the instance names');
      if (front.preempt !== first.front.preempt || front.preemptDelayMs !== first.front.preemptDelayMs) throw mismatch(file, 'preempt / preempt_delay');
    } else {
      first = { file, front, model: m };
    }
    const vs = labService(m, file);
    for (const rs of Object.values(vs.realServers)) {
      for (const c of rs.checkers) {
        if (!check) check = c.timing;
        else if (timingKey(c.timing) !== timingKey(check)) throw new Error(`${file}: real_server ${rs.key} has another check timing than the others`);
      }
    }
    const alpha = Object.values(vs.realServers).every((r) => r.alpha);
    service ??= { key: vs.key, scheduler: vs.scheduler, method: vs.method, alpha };
    directors[d.name] = {
      name: d.name,
      configFile: file,
      routerId: m.global.routerId,
      priority: front.priority,
      masterDownIntervalMs: masterDownIntervalMs(front.version, front.priority, front.advertIntervalMs),
      skewMs: skewMs(front.version, front.priority, front.advertIntervalMs),
    };
    if (back.name === front.name) throw new Error(`${file}: the VIP and the gateway VIP must be in two instances (front and back segments)`);
  }
  if (!first || !check || !service) throw new Error(`${dir}: no lab director config, or no health check`);
  const f = first.front;
  return {
    vrrpVersion: f.version,
    advertIntMs: f.advertIntervalMs,
    preempt: f.preempt,
    preemptDelayMs: f.preemptDelayMs,
    frontInstance: f.name,
    backInstance: instanceWithVip(first.model, first.file, LAB.gatewayVip).name,
    instances: Object.keys(first.model.instances),
    syncGroup: f.syncGroup,
    directors,
    service,
    check,
    detection: { failingAnswerMs: detectionBoundMs(check, 0), noAnswerMs: detectionBoundMs(check, check.connectTimeoutMs) },
  };
}

let cached: LabSettings | null = null;

/** The shipped lab settings (read once). */
export function labSettings(): LabSettings {
  cached ??= loadLabSettings();
  return cached;
}

/** 1500 → "1.5 s", 200 → "200 ms". */
export function duration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms)} ms`;
}
