/**
 * Scale bench of the check subsystem: 1,000 real servers (half TCP_CHECK, half HTTP_GET)
 * checked every second by one CheckSubsystem on one core, against local servers running
 * in another process (pinned to another core when taskset is there). Reports the event
 * loop delay (perf_hooks.monitorEventLoopDelay p50/p99/max), CPU used, checks done per
 * second, and a stand-in VRRP MASTER sending adverts at advert_int 100 ms, timed exactly as
 * the daemon times its adverts: each advert arms the next at `now + advert_int` (vrrp/
 * machine.ts) through `clock.setTimer(atMs - clock.now())` (vrrp/instance.ts) on the
 * daemon's VRRP clock, ioFirstClock (src/lib/clock.ts), while the checks run on the
 * systemClock as in daemon/wiring.ts. It reports how late each advert went out, the
 * longest gap between two adverts, how many were later than a BACKUP's Skew_Time and how
 * many gaps reached its Master_Down_Interval (RFC 5798 §6.1; a BACKUP of priority 100:
 * skew 61 ms, Master_Down_Interval 361 ms, so one advert 261 ms late makes it take over).
 *
 *   node --import tsx bench/checks.ts [--reals 1000] [--seconds 15] [--scenario idle|spread|burst|all]
 *                                     [--pin] [--probes-per-turn N] [--json]
 *
 * Scenarios: `spread` uses warmup = delay_loop (keepalived's warmup: checks start at random
 * points of the first second, so they stay spread); `burst` uses warmup 0, so every check
 * fires in the same millisecond each second (the worst case); `idle` runs the same
 * measurement with no real server at all, in the same process on the same core, to show
 * how much of the delay the machine itself adds (other processes, the scheduler).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CheckSubsystem } from '../src/check/subsystem.js';
import { EventBus } from '../src/events/bus.js';
import { ioFirstClock, systemClock } from '../src/lib/clock.js';
import { ChildScriptRunner } from '../src/io/script-runner.js';
import { CommandRegistry } from '../src/control/registry.js';
import type { Checker, Model, RealServer, VirtualServer } from '../src/model/types.js';
import { raiseMainThreadPriority, rtPriorityFromEnv } from '../src/daemon/realtime.js';

// tsx turns on source-mapped stack traces; the daemon runs compiled JS without them. undici
// builds an Error per closed connection (InformationalError 'reset'), and mapping its stack
// cost ~4 % of a check's CPU in a profile, so measure without it, as the daemon runs.
process.setSourceMapsEnabled(false);

interface Options {
  reals: number;
  seconds: number;
  scenario: 'idle' | 'spread' | 'burst' | 'all';
  json: boolean;
  /** Pin this process to CPU 0 and the servers to CPU 1 (taskset). */
  pin: boolean;
  /** CheckSubsystem probesPerTurn (default the subsystem's). */
  probesPerTurn: number | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { reals: 1000, seconds: 15, scenario: 'all', json: false, pin: false, probesPerTurn: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--reals') o.reals = Number(argv[++i]);
    else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--scenario') o.scenario = argv[++i] as Options['scenario'];
    else if (a === '--json') o.json = true;
    else if (a === '--pin') o.pin = true;
    else if (a === '--probes-per-turn') o.probesPerTurn = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/**
 * With --pin, re-runs this bench pinned to CPU 0 (once). Not the default: on a shared
 * machine other processes land on CPU 0 too and their preemption dominates the numbers
 * (measured: GC pauses of 50-68 ms pinned against 9 ms unpinned, same load). The checker
 * is one thread either way; "CPU % of one core" is what it uses of one core.
 */
function pinSelf(o: Options): boolean {
  if (!o.pin || process.env.LVSD_BENCH_PINNED || !hasTaskset) return false;
  const r = spawnSync('taskset', ['-c', '0', process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, LVSD_BENCH_PINNED: '1' },
  });
  process.exit(r.status ?? 1);
}

async function startServers(nTcp: number, nHttp: number): Promise<{ child: ChildProcess; tcp: number[]; http: number[] }> {
  const script = fileURLToPath(new URL('./checks-servers.ts', import.meta.url));
  // the loader flags only (--import tsx), not diagnostics such as --trace-gc meant for this process
  const execArgv = process.execArgv.filter((a) => !/^--(trace|cpu-prof|heap-prof|prof)/.test(a));
  const args = [...execArgv, script, String(nTcp), String(nHttp)];
  const child = hasTaskset && process.env.LVSD_BENCH_PINNED ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.once('error', reject);
    child.stdout!.on('data', (d: Buffer) => {
      buf += String(d);
      const line = buf.split('\n').find((l) => l.startsWith('{"tcp"'));
      if (line) resolve(line);
    });
  });
  const ports = JSON.parse(line) as { tcp: number[]; http: number[] };
  return { child, ...ports };
}

function buildModel(tcp: number[], http: number[], warmupMs: number): Model {
  const timing = { delayLoopMs: 1000, connectTimeoutMs: 3000, retry: 1, delayBeforeRetryMs: 1000, warmupMs, rise: 1, fall: 1 };
  const reals: RealServer[] = [];
  const mk = (port: number, checker: Checker): RealServer => ({
    key: `127.0.0.1:${port}`, address: '127.0.0.1', family: 'ipv4', port, weight: 1, method: 'NAT', inhibitOnFailure: false,
    notifyUp: null, notifyDown: null, upperThreshold: 0, lowerThreshold: 0, alpha: false, checkers: [checker],
  });
  const common = (kind: string, port: number) => ({
    key: `${kind}:127.0.0.1:${port}#0`, timing, connectIp: '127.0.0.1', connectPort: port, bindTo: null, bindPort: null, bindIf: null,
  });
  for (const p of tcp) reals.push(mk(p, { ...common('tcp', p), kind: 'tcp' }));
  for (const p of http) {
    reals.push(mk(p, {
      ...common('http', p), kind: 'http', urls: [{ path: '/health', statusCodes: [{ min: 200, max: 299 }], digest: null, virtualhost: null }],
      virtualhost: null, sni: false, maxBodyBytes: 65536, httpVersion: '1.0',
    }));
  }
  // 100 real servers per virtual service
  const vss: Record<string, VirtualServer> = {};
  for (let i = 0; i < reals.length; i += 100) {
    const key = `tcp:198.18.0.${10 + i / 100}:80`;
    vss[key] = {
      key, match: { kind: 'addr', address: `198.18.0.${10 + i / 100}`, port: 80 }, protocol: 'tcp', family: 'ipv4', scheduler: 'wrr',
      schedulerFlags: { shFallback: false, shPort: false, mhFallback: false, mhPort: false }, method: 'NAT', persistenceTimeoutS: 0,
      persistenceGranularity: 32, quorum: 1, hysteresis: 0, quorumUp: null, quorumDown: null, sorryServer: null, omega: false,
      haSuspend: false, ops: false, virtualhost: null, ownerInstance: null, interface: 'lo',
      realServers: Object.fromEntries(reals.slice(i, i + 100).map((r) => [r.key, r])),
    };
  }
  return {
    global: {} as Model['global'], vrrpScripts: {}, vrrpTrackFiles: {}, syncGroups: {}, instances: {}, virtualServerGroups: {},
    fwmarkRules: [], virtualServers: vss, coreVips: {},
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The advert stand-in's VRRP figures: advert_int 100 ms, a BACKUP of priority 100 (RFC 5798 §6.1). */
const ADVERT_MS = 100;
const BACKUP_PRIORITY = 100;
const SKEW_MS = ((256 - BACKUP_PRIORITY) * ADVERT_MS) / 256;
const MASTER_DOWN_MS = 3 * ADVERT_MS + SKEW_MS;
/** A p99 from fewer samples is the second-largest value, not a percentile: ≥ 10 beyond it. */
const P99_MIN_SAMPLES = 1000;

interface Result {
  scenario: string;
  reals: number;
  seconds: number;
  checksPerS: number;
  failedAttempts: number;
  downEvents: number;
  cpuPctOfOneCore: number;
  cpuUsPerCheck: number | null;
  /** p99 is null below P99_MIN_SAMPLES samples. */
  eventLoopDelayMs: { p50: number; p99: number | null; max: number; samples: number };
  /**
   * The advert stand-in: lateness of each advert against its armed time, the longest gap
   * between two adverts, adverts later than Skew_Time, gaps reaching Master_Down_Interval.
   */
  adverts: {
    sent: number;
    lateMs: { p50: number; p99: number | null; max: number };
    maxGapMs: number;
    laterThanSkew: number;
    gapsAtMasterDown: number;
    skewMs: number;
    masterDownMs: number;
  };
  /** performance.eventLoopUtilization(): share of the window the loop spent running callbacks. */
  eventLoopUtilization: number;
  /** V8 GC pauses on the main thread during the window. */
  gcPauseMs: { count: number; total: number; max: number };
  rssMiB: number;
}

async function runScenario(name: 'idle' | 'spread' | 'burst', o: Options, tcp: number[], http: number[]): Promise<Result> {
  const bus = new EventBus();
  let downEvents = 0;
  bus.on('real.down', () => downEvents++);
  const sub = new CheckSubsystem({
    bus, clock: systemClock, scripts: new ChildScriptRunner(), registry: new CommandRegistry(), probesPerTurn: o.probesPerTurn,
  });
  await sub.start(name === 'idle' ? buildModel([], [], 0) : buildModel(tcp, http, name === 'spread' ? 1000 : 0));
  const totals = () => {
    let attempts = 0;
    let failures = 0;
    for (const s of sub.report().services) for (const r of s.reals) for (const c of r.checkers) {
      attempts += c.attempts;
      failures += c.failures;
    }
    return { attempts, failures };
  };
  await new Promise((r) => setTimeout(r, 3000)); // connections, JIT, first round
  const a0 = totals();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  // The VRRP MASTER's advert timer as the daemon runs it: on each expiry the machine arms
  // the next at now + advert_int and the instance hands setTimer the delay to that time.
  const late: number[] = [];
  const gaps: number[] = [];
  let lastSent: number | null = null;
  let advert: { cancel(): void } | null = null;
  const armAdvert = (atMs: number) => {
    advert = ioFirstClock.setTimer(Math.max(0, atMs - ioFirstClock.now()), () => {
      const now = ioFirstClock.now();
      late.push(now - atMs);
      if (lastSent !== null) gaps.push(now - lastSent);
      lastSent = now;
      armAdvert(now + ADVERT_MS);
    });
  };
  armAdvert(ioFirstClock.now() + ADVERT_MS);
  const gc = { count: 0, total: 0, max: 0 };
  const gcObs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.total += e.duration;
      gc.max = Math.max(gc.max, e.duration);
    }
  });
  gcObs.observe({ entryTypes: ['gc'] });
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  gcObs.disconnect();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  (advert as { cancel(): void } | null)?.cancel();
  eld.disable();
  const a1 = totals();
  await sub.stop('shutdown');
  const checks = a1.attempts - a0.attempts;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  late.sort((x, y) => x - y);
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    scenario: name,
    reals: name === 'idle' ? 0 : tcp.length + http.length,
    seconds: o.seconds,
    checksPerS: Math.round((checks / wallMs) * 1000),
    failedAttempts: a1.failures - a0.failures,
    downEvents,
    cpuPctOfOneCore: r2((cpuMs / wallMs) * 100),
    cpuUsPerCheck: checks > 0 ? Math.round((cpuMs * 1000) / checks) : null,
    eventLoopDelayMs: { p50: ms(eld.percentile(50)), p99: eld.count >= P99_MIN_SAMPLES ? ms(eld.percentile(99)) : null, max: ms(eld.max), samples: eld.count },
    adverts: {
      sent: late.length,
      lateMs: { p50: r2(percentile(late, 50)), p99: late.length >= P99_MIN_SAMPLES ? r2(percentile(late, 99)) : null, max: r2(late.at(-1) ?? 0) },
      maxGapMs: r2(Math.max(0, ...gaps)),
      laterThanSkew: late.filter((x) => x > SKEW_MS).length,
      gapsAtMasterDown: gaps.filter((g) => g >= MASTER_DOWN_MS).length,
      skewMs: r2(SKEW_MS),
      masterDownMs: r2(MASTER_DOWN_MS),
    },
    eventLoopUtilization: r2(elu.utilization),
    gcPauseMs: { count: gc.count, total: r2(gc.total), max: r2(gc.max) },
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  pinSelf(o);
  // The daemon's main thread (VRRP and checks) runs SCHED_RR (src/daemon/realtime.ts); measure
  // it the same way. Without root (or with LVSD_VRRP_RT_PRIORITY=0) it stays SCHED_OTHER.
  const rt = await raiseMainThreadPriority(rtPriorityFromEnv());
  const sched = rt.ok && rtPriorityFromEnv() > 0 ? rt.detail : `SCHED_OTHER (${rt.detail})`;
  const nHttp = Math.floor(o.reals / 2);
  const servers = await startServers(o.reals - nHttp, nHttp);
  const results: Result[] = [];
  try {
    const scenarios: Array<'idle' | 'spread' | 'burst'> = o.scenario === 'all' ? ['idle', 'spread', 'burst'] : [o.scenario];
    for (const s of scenarios) results.push(await runScenario(s, o, servers.tcp, servers.http));
  } finally {
    servers.child.stdin!.end();
    if (servers.child.pid) process.kill(servers.child.pid);
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ bench: 'checks', pinned: Boolean(process.env.LVSD_BENCH_PINNED), sched, results })}\n`);
    return;
  }
  console.log(`checks bench: ${o.reals} real servers (${o.reals - nHttp} TCP_CHECK, ${nHttp} HTTP_GET), delay_loop 1 s, ${o.seconds} s measured, checker ${process.env.LVSD_BENCH_PINNED ? 'pinned to CPU 0' : 'not pinned'}, main thread ${sched} as the daemon's`);
  for (const r of results) {
    console.log(
      `  ${r.scenario.padEnd(6)} ${r.checksPerS} checks/s, ${r.failedAttempts} failed, CPU ${r.cpuPctOfOneCore}% of one core, loop busy ${Math.round(r.eventLoopUtilization * 100)}%${r.cpuUsPerCheck === null ? '' : ` (${r.cpuUsPerCheck} µs/check)`}, ` +
        `event-loop delay p50 ${r.eventLoopDelayMs.p50} ms p99 ${r.eventLoopDelayMs.p99 ?? 'n/a'} ms max ${r.eventLoopDelayMs.max} ms, ` +
        `adverts (100 ms, ioFirstClock) ${r.adverts.sent} sent, late p50 ${r.adverts.lateMs.p50} ms p99 ${r.adverts.lateMs.p99 ?? `n/a (<${P99_MIN_SAMPLES} samples)`} max ${r.adverts.lateMs.max} ms, ` +
        `longest gap ${r.adverts.maxGapMs} ms, ${r.adverts.laterThanSkew} later than skew ${r.adverts.skewMs} ms, ${r.adverts.gapsAtMasterDown} gaps ≥ Master_Down_Interval ${r.adverts.masterDownMs} ms, ` +
        `GC max pause ${r.gcPauseMs.max} ms (${r.gcPauseMs.count} GCs, ${r.gcPauseMs.total} ms), RSS ${r.rssMiB} MiB`,
    );
  }
}

await main();
