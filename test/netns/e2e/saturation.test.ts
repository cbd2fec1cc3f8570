/**
 * The data plane saturated for 60 s by the benchmark's load (wrk from the client through the
 * VIP, as bench/forward.ts drives it: keep-alive with many connections and a new connection
 * per request at once, from 8 client addresses so both forwarding workers are busy) while
 * the pair sends VRRPv3 adverts every 100 ms, so the BACKUP declares the MASTER dead after
 * only 361 ms of silence. No false failover: no vrrp.transition on either director, the
 * MASTER's adverts keep their pace (no gap near Master_Down_Interval on either segment) and
 * the BACKUP receives them all.
 *
 * And the load did saturate: the machine had (almost) no idle CPU left during the run, both
 * of dir1's forwarding workers were busy, and the request rate is of the order the
 * forwarding bench measures through lvsd on this machine (docs/forwarding.md; the bench's
 * real servers are nginx, these are the lab's Node servers: see SATURATION below).
 *
 * What makes this hold on a small machine: the forwarding core runs in worker threads (D5)
 * and the main thread, where VRRP runs, is SCHED_RR (src/daemon/realtime.ts). With a
 * SCHED_OTHER main thread the saturated CPUs delayed adverts by up to 718 ms and the BACKUP
 * took over in 7 of 11 runs. Reported alongside: how long an ordinary process (a witness
 * with a 10 ms timer) was kept waiting meanwhile, link drops, each lvsd thread's CPU share.
 */
import { test, before, after } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { cpus, loadavg } from 'node:os';
import { canUseNetns } from '../../../src/lab/topology.js';
import { LAB, Pair, sleep, type CapturedPacket } from './lib/pair.js';
import { StallWitness } from './lib/stall.js';
import { requireWrk, startLoad, useClientAddresses } from './lib/load.js';
import { cpuWindow, machineTicks } from '../../../bench/lib/cpu.js';

const skip = !canUseNetns() && 'needs root and iproute2';
const DURATION_S = 60;
/** Client addresses the load leaves from (bench/forward.ts's default). */
const CLIENTS = 8;
/**
 * What "saturated" means here, from 3 runs on this 2-vCPU machine shared with other test
 * suites (docs/operations.md, "Measured"): the machine's idle time was 0 % of its 200 %
 * (user 102–121 %, system 43–50 %, softirq 36–48 %), each forwarding worker used 16–21 % of
 * a CPU (dir1 35–42 % in all), dir1's core received 63–79 k frames/s and forwarded 31–40 k/s
 * each way, keep-alive 16–20 k req/s and 2.9–3.6 k new connections/s. The real servers are
 * the lab's Node servers (61–75 % of a CPU between them), not the bench's nginx: they take
 * the CPU that the bench leaves to lvsd, which is why the rate is a quarter of what
 * bench/forward.ts measures through lvsd with nginx (69–81 k keep-alive req/s,
 * docs/forwarding.md), with no CPU left idle either way. The bounds below leave room for other suites taking CPU (which lowers the rates and
 * the workers' share, never raises the idle time).
 */
const SATURATION = { maxIdlePercent: 10, minWorkerPercent: 10, minCoreFramesPerS: 40_000, minKeepAliveRps: 10_000, minNewConnPerS: 1_500 };
const [D1] = LAB.directors;
let pair: Pair;

before(async () => {
  if (!skip) pair = await Pair.start({ config: { advertIntS: 0.1 } });
});
after(async () => {
  await pair?.cleanup();
});

/** CPU time (ms) per thread of a process: name → ms. */
function threadCpuMs(pid: number): Map<string, number> {
  const hz = 100; // USER_HZ on Linux
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(f[11]) + Number(f[12])) * 1000) / hz;
      out.set(`${comm}#${tid}`, ms);
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** Adverts sent and received per instance, from `lvsadm --json vrrp`. */
async function vrrpCounters(name: string): Promise<Record<string, { sent: number; received: number }>> {
  const r = await pair.d(name).lvsadm(['--json', 'vrrp']);
  const j = JSON.parse(r.stdout) as { instances: Array<{ name: string; counters: { advertsSent: number; advertsReceived: number } }> };
  return Object.fromEntries(j.instances.map((i) => [i.name, { sent: i.counters.advertsSent, received: i.counters.advertsReceived }]));
}

/** dir1's forwarding-core counters (frames received, forwarded each way, kernel ring drops). */
async function coreCounters(): Promise<Record<string, number>> {
  const r = await pair.d('dir1').lvsadm(['--json', '-L', '-n']);
  return (JSON.parse(r.stdout) as { counters: Record<string, number> }).counters;
}

/** Dropped packets per interface of a host (kernel link statistics). */
async function linkDrops(host: string): Promise<Record<string, number>> {
  const r = await pair.topo.exec(host, ['ip', '-s', '-j', 'link', 'show']);
  const links = JSON.parse(r.stdout) as Array<{ ifname: string; stats64?: { rx: { dropped: number }; tx: { dropped: number } } }>;
  return Object.fromEntries(links.filter((l) => l.stats64 && l.ifname !== 'lo').map((l) => [l.ifname, l.stats64!.rx.dropped + l.stats64!.tx.dropped]));
}

function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => v !== 0));
}

/** Gaps between consecutive packets longer than minMs. */
function gapsOver(ps: readonly CapturedPacket[], minMs: number): Array<{ fromMs: number; toMs: number; gapMs: number }> {
  const out: Array<{ fromMs: number; toMs: number; gapMs: number }> = [];
  for (let i = 1; i < ps.length; i++) {
    const gap = ps[i]!.t - ps[i - 1]!.t;
    if (gap > minMs) out.push({ fromMs: ps[i - 1]!.t, toMs: ps[i]!.t, gapMs: gap });
  }
  return out;
}

test(`${DURATION_S} s of saturating load with adverts every 100 ms: no false failover`, { skip, timeout: (DURATION_S + 60) * 1000 }, async (t) => {
  requireWrk();
  const dir1 = pair.d('dir1');
  const dir2 = pair.d('dir2');
  const mdi = pair.mdiMs('dir2');
  await useClientAddresses(pair.topo, CLIENTS);
  const frontAdverts = await pair.capture('front', await pair.bridgePort('front', D1!.frontMac), 'ip proto 112');
  const backAdverts = await pair.capture('back', await pair.bridgePort('back', D1!.backMac), 'ip proto 112');
  // An unrelated process that only measures its own timer lateness: a pause it sees at the
  // same moment as a pause in dir1's adverts is the machine's (CPU starvation, softirq),
  // not lvsd's main thread.
  const witness = new StallWitness(pair.topo, 'front');
  const pid = dir1.child!.pid!;
  const pid2 = dir2.child!.pid!;
  const servers = [...pair.reals.values()].map((r) => r.child.pid!);
  const cpuBefore = threadCpuMs(pid);
  const hosts = ['dir1', 'dir2', 'front', 'back'];
  const dropsBefore = await Promise.all(hosts.map(linkDrops));
  const countersBefore = { dir1: await vrrpCounters('dir1'), dir2: await vrrpCounters('dir2') };
  const startAt = Date.now();
  const keepAlive = await startLoad(pair.topo, { durationS: DURATION_S, connections: 64, newConnections: false, threads: 2 });
  const fresh = await startLoad(pair.topo, { durationS: DURATION_S, connections: 32, newConnections: true, threads: 1 });
  // The CPU window starts once both loads run and ends before they stop (a second each way).
  await sleep(1000);
  const steal0 = machineTicks()[7]!;
  const core0 = await coreCounters();
  const window = cpuWindow([{ name: 'dir1', pids: () => [pid], threads: true }, { name: 'dir2', pids: () => [pid2] }, { name: 'servers', pids: () => servers }]);
  await sleep((DURATION_S - 2) * 1000);
  const cpu = window();
  const core1 = await coreCounters();
  const stealPct = ((machineTicks()[7]! - steal0) * 100) / 100 / cpu.seconds;
  const [ka, nc] = await Promise.all([keepAlive.done(), fresh.done()]);
  const endAt = Date.now();
  const cpuAfter = threadCpuMs(pid);
  const dropsAfter = await Promise.all(hosts.map(linkDrops));
  const countersAfter = { dir1: await vrrpCounters('dir1'), dir2: await vrrpCounters('dir2') };
  const linkDropped = Object.fromEntries(hosts.map((h, i) => [h, delta(dropsBefore[i]!, dropsAfter[i]!)]));
  const advertCounters = Object.fromEntries(['VI_FRONT', 'VI_BACK'].map((inst) => [inst, {
    dir1Sent: countersAfter.dir1[inst]!.sent - countersBefore.dir1[inst]!.sent,
    dir2Received: countersAfter.dir2[inst]!.received - countersBefore.dir2[inst]!.received,
  }]));
  const allStalls = (await witness.stop()).filter((x) => x.at >= startAt);
  const machineStalls = [...allStalls].sort((a, b) => b.lateMs - a.lateMs).slice(0, 3)
    .map((x) => ({ atS: Math.round((x.at - startAt) / 100) / 10, lateMs: x.lateMs }));
  await sleep(300);
  // Adverts leaving dir1 towards the bridge: captured on the bridge port that leads to dir1
  // in the other direction (what dir1 sends is what the port receives).
  const front = (await frontAdverts.stop()).filter((p) => p.line.includes(`${D1!.front} >`) && p.t >= startAt && p.t <= endAt);
  const back = (await backAdverts.stop()).filter((p) => p.line.includes(`${D1!.back} >`) && p.t >= startAt && p.t <= endAt);
  const elapsedS = (endAt - startAt) / 1000;
  const threads = [...cpuAfter].map(([k, v]) => [k, Math.round(((v - (cpuBefore.get(k) ?? 0)) / (endAt - startAt)) * 100)] as const)
    .filter(([, pct]) => pct > 0).sort((a, b) => b[1] - a[1]);
  const workers = Object.entries(cpu.threads).filter(([k]) => k.startsWith('dir1:lvsd-fwd')).map(([k, v]) => [k.slice(5), Math.round(v)] as const).sort();
  const r = (x: number) => Math.round(x);
  const saturation = {
    machine: { idlePercent: r(cpu.machine.idle), userPercent: r(cpu.machine.user), systemPercent: r(cpu.machine.system), softirqPercent: r(cpu.machine.softirq), stealPercent: r(stealPct), ofPercent: cpus().length * 100 },
    workersPercent: Object.fromEntries(workers), dir1Percent: r(cpu.groups.dir1!), dir2Percent: r(cpu.groups.dir2!), serversPercent: r(cpu.groups.servers!),
    windowS: Math.round(cpu.seconds),
    // What dir1's core handled per second in the window: frames received, forwarded to the real servers and back.
    coreFramesPerS: r((core1.frames! - core0.frames!) / cpu.seconds),
    forwardedInPerS: r((core1.forwarded_in! - core0.forwarded_in!) / cpu.seconds),
    forwardedOutPerS: r((core1.forwarded_out! - core0.forwarded_out!) / cpu.seconds),
    rxKernelDrops: core1.rx_kernel_drops! - core0.rx_kernel_drops!,
  };

  const worst = (ps: readonly CapturedPacket[]) => ps.slice(1).map((p, i) => ({ atS: Math.round((p.t - startAt) / 100) / 10, gapMs: Math.round(p.t - ps[i]!.t) }))
    .sort((a, b) => b.gapMs - a.gapMs).slice(0, 3);
  t.diagnostic(`E2E_MEASURE saturation ${JSON.stringify({
    durationS: Math.round(elapsedS), masterDownIntervalMs: mdi, clients: CLIENTS,
    keepAlive: { requests: ka.requests, rps: ka.requestsPerS, errors: ka.errors, socketErrors: ka.socketErrors },
    newConnections: { requests: nc.requests, rps: nc.requestsPerS, errors: nc.errors, socketErrors: nc.socketErrors },
    saturation,
    adverts: { front: front.length, back: back.length, expected: Math.round(elapsedS * 10), worstGapsFront: worst(front), worstGapsBack: worst(back) },
    machineStalls, advertCounters, linkDropped,
    dir1ThreadCpuPercent: Object.fromEntries(threads.slice(0, 6)),
    hostLoadAverage: loadavg().map((x) => Math.round(x * 10) / 10), cpus: cpus().length,
  })}`);

  const transitions = (name: string) => pair.d(name).events.filter((e) => e.event === 'vrrp.transition' && e.t >= startAt).map((e) => e.msg);
  assert.deepEqual(transitions('dir1'), [], 'no VRRP transition on dir1');
  assert.deepEqual(transitions('dir2'), [], 'no VRRP transition on dir2');
  assert.equal(dir2.stateOf('VI_FRONT'), 'BACKUP');
  assert.equal(dir2.stateOf('VI_BACK'), 'BACKUP');
  assert.equal(dir1.stateOf('VI_FRONT'), 'MASTER');
  // The data plane was saturated.
  assert.ok(saturation.machine.idlePercent <= SATURATION.maxIdlePercent, `the machine had no CPU to spare: idle ${saturation.machine.idlePercent} % of ${saturation.machine.ofPercent} % (bound ${SATURATION.maxIdlePercent})`);
  assert.equal(workers.length, cpus().length, `one forwarding worker per CPU: ${JSON.stringify(workers)}`);
  for (const [name, pct] of workers) assert.ok(pct >= SATURATION.minWorkerPercent, `forwarding worker ${name} was busy: ${pct} % of a CPU (bound ${SATURATION.minWorkerPercent})`);
  assert.ok(saturation.coreFramesPerS >= SATURATION.minCoreFramesPerS, `dir1's core handled ${saturation.coreFramesPerS} frames/s (bound ${SATURATION.minCoreFramesPerS})`);
  assert.ok(ka.requestsPerS >= SATURATION.minKeepAliveRps, `keep-alive load at ${r(ka.requestsPerS)} req/s (bound ${SATURATION.minKeepAliveRps})`);
  assert.ok(nc.requestsPerS >= SATURATION.minNewConnPerS, `new-connection load at ${r(nc.requestsPerS)} conn/s (bound ${SATURATION.minNewConnPerS})`);
  // Saturation is overload: a frame the full receive ring drops (rxKernelDrops) costs a TCP
  // retransmission, and a stall of the machine on top of the backoff can push a request past
  // wrk's 2 s timeout (seen: 49 of 1.4 M after a 916 ms stall of every process). What this test
  // promises is no false failover; requests must still get through all but a trace of them.
  assert.ok(ka.errors <= ka.requests * 1e-4, `keep-alive errors at most 1 in 10,000: ${ka.errors} of ${ka.requests}: ${JSON.stringify(ka.socketErrors)}, non-2xx ${ka.non2xx}`);
  // No false failover, and the adverts kept their pace.
  for (const inst of ['VI_FRONT', 'VI_BACK']) {
    const c = advertCounters[inst]!;
    assert.ok(c.dir1Sent >= elapsedS * 10 * 0.97, `dir1 sent its ${inst} adverts on time (${c.dir1Sent} in ${elapsedS} s)`);
    assert.ok(c.dir2Received >= c.dir1Sent - 2, `dir2 received them (${c.dir2Received} of ${c.dir1Sent})`);
  }
  assert.ok(front.length >= elapsedS * 10 * 0.95 && back.length >= elapsedS * 10 * 0.95, `the switches saw them (${front.length}, ${back.length})`);
  const worstGap = Math.max(...gapsOver(front, 0).map((g) => g.gapMs), ...gapsOver(back, 0).map((g) => g.gapMs));
  assert.ok(worstGap < mdi, `the longest pause between adverts (${Math.round(worstGap)} ms) stays below Master_Down_Interval (${mdi} ms)`);
});
