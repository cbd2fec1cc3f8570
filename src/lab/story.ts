/**
 * The lab's story: a director pair under steady traffic, told in five acts while both
 * directors' log lines stream past. Every number it prints is measured from what the
 * client recorded and what the daemons logged.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { LvsdDirector, type LogEvent } from './director.js';
import { buildLabNetwork, directorByMac, LAB } from './network.js';
import { LAB_CONFIG_DIR } from './paths.js';
import { longestFailedRun, Probe, serviceBackAfterMs, tally, type FailedRun, type RequestRecord } from './probe.js';
import { startRealServer, type RealServerProc } from './real-servers.js';
import { clock, num, type Renderer } from './render.js';
import { duration, labSettings } from './settings.js';
import type { StartedProcess } from './state.js';
import type { Topology } from './topology.js';

/** What the story needs from its caller. */
export interface StoryContext {
  readonly topo: Topology;
  readonly out: Renderer;
  readonly stateDir: string;
  /** Called whenever the lab starts a long-running process (for --down). */
  readonly started: (p: StartedProcess) => void;
}

/** The lab once the story is over (the running pieces, for --keep). */
export interface StoryResult {
  readonly directors: LvsdDirector[];
  readonly reals: RealServerProc[];
}

const PROBE_INTERVAL_MS = 10;
const PROBE_TIMEOUT_MS = 800;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One act's time window, for the summary. */
interface ActMark {
  readonly title: string;
  readonly fromMs: number;
}

/**
 * How long before and after the returning director's takeover a failed request counts as
 * lost in the hand-back: a request is at most PROBE_TIMEOUT_MS old when it fails, and the
 * gratuitous ARPs go out within milliseconds of the transition.
 */
const HANDBACK_WINDOW_MS = { before: PROBE_TIMEOUT_MS, after: 100 };

/** Runs the story; returns the running pieces. Throws on anything unexpected. */
export async function runStory(ctx: StoryContext): Promise<StoryResult> {
  const { topo, out } = ctx;
  const [d1Name, d2Name] = LAB.directors.map((d) => d.name) as [string, string];
  // Every figure of the narration comes from the shipped files, read by lvsd's own loader.
  const s = labSettings();
  const p1 = s.directors[d1Name]!.priority;
  const p2 = s.directors[d2Name]!.priority;
  const mdiMs = s.directors[d2Name]!.masterDownIntervalMs;
  const realNames = LAB.reals.map((r) => r.name);
  const failing = LAB.reals[1]!;
  const c = s.check;

  out.title('lvsd lab: a director pair under traffic, in network namespaces', [
    `client ${LAB.client.address} → VIP ${LAB.vip}:${LAB.port} → ${d1Name} or ${d2Name} (whichever is MASTER) → ${realNames.join(', ')}`,
    `${s.service.method}, ${s.service.scheduler} scheduling, HTTP_GET health checks; VRRPv${s.vrrpVersion} adverts every ${s.advertIntMs} ms; the real servers' gateway is the VIP ${LAB.gatewayVip}`,
    `config: config/lab/${d1Name}.conf (priority ${p1}) and config/lab/${d2Name}.conf (priority ${p2})`,
  ]);

  // ── set up ──
  out.section('Setting up', [`Network namespaces ${ctx.topo.prefix}*, addresses from 198.18.0.0/15 only.`]);
  await buildLabNetwork(topo);
  out.note(`network built: ${topo.namespaces().map((n) => n.slice(topo.prefix.length)).join(', ')}`);
  const reals: RealServerProc[] = [];
  for (const r of LAB.reals) {
    // Recorded as soon as it exists, so --down finds it even if the lab dies before it listens.
    reals.push(await startRealServer(topo, r, ctx.stateDir, LAB.port, (child) => ctx.started({ pid: child.pid!, host: r.name, program: 'real-server.js' })));
  }
  out.note(`real servers ${realNames.join(', ')} answer on port ${LAB.port} with their own name (GET /health for the checks)`);

  const directors = LAB.directors.map((d) => {
    const configFile = join(ctx.stateDir, `${d.name}.conf`);
    copyFileSync(join(LAB_CONFIG_DIR, `${d.name}.conf`), configFile);
    const dir = new LvsdDirector(topo, d.name, {
      configFile,
      controlPath: join(ctx.stateDir, `${d.name}.sock`),
      logFile: join(ctx.stateDir, `${d.name}.log`),
    });
    dir.onLog((ev, raw) => {
      if (ev === null || ev.level >= 30) out.daemon(d.name, ev, raw);
    });
    return dir;
  });
  const [dir1, dir2] = directors as [LvsdDirector, LvsdDirector];
  const isState = (inst: string, to: string, after = 0) => (e: LogEvent) =>
    e.event === 'vrrp.transition' && e.instance === inst && e.to === to && e.t >= after;
  /** The first of the lab's instances to reach a state (with a sync group, the others follow at once). */
  const anyState = (to: string, after = 0) => (e: LogEvent) =>
    e.event === 'vrrp.transition' && s.instances.includes(String(e.instance)) && e.to === to && e.t >= after;
  const realsUp = async (d: LvsdDirector) => {
    for (const r of LAB.reals) {
      await d.waitEvent((e) => e.event === 'real.up' && String(e.real).startsWith(`${r.address}:`), 15_000, `${r.name} up on ${d.host}`);
    }
  };
  // dir1 first, as a pair is usually brought up: it finds no MASTER and becomes one; dir2
  // then joins as BACKUP. (Started together, whichever's down timer fires first would be
  // MASTER for a moment, until dir1 preempts it.)
  out.note(`starting lvsd on ${d1Name}; its log lines follow, as they happen:`);
  const c1 = dir1.start();
  ctx.started({ pid: c1.pid!, host: dir1.host, program: 'lvsd.js' });
  await dir1.waitStarted();
  for (const inst of s.instances) await dir1.waitEvent(isState(inst, 'MASTER'), 15_000, `${inst} MASTER on ${d1Name}`);
  await realsUp(dir1);
  out.note(`starting lvsd on ${d2Name}:`);
  const c2 = dir2.start();
  ctx.started({ pid: c2.pid!, host: dir2.host, program: 'lvsd.js' });
  await dir2.waitStarted();
  for (const inst of s.instances) await dir2.waitEvent(isState(inst, 'BACKUP'), 5_000, `${inst} BACKUP on ${d2Name}`);
  await realsUp(dir2);
  await sleep(300);

  const acts: ActMark[] = [];
  const probe = await Probe.start(topo, LAB.client.name, { target: `${LAB.vip}:${LAB.port}`, intervalMs: PROBE_INTERVAL_MS, timeoutMs: PROBE_TIMEOUT_MS });
  const countsSince = (fromMs: number) => {
    const t = tally(probe.records, fromMs);
    const per = realNames.map((n) => `${n} ${num(t.perReal[n] ?? 0)}`).join(' · ');
    const failed = t.failed ? out.red(`${num(t.failed)} failed`) : out.green('0 failed');
    return `${num(t.sent)} requests, ${failed}: ${per}`;
  };

  // ── act 1 ──
  let at = Date.now();
  acts.push({ title: 'balanced', fromMs: at });
  out.header('Traffic, balanced', [
    `The client opens a new connection to ${LAB.vip}:${LAB.port} every ${PROBE_INTERVAL_MS} ms (no answer within ${PROBE_TIMEOUT_MS} ms = failed).`,
    `${d1Name} is MASTER: it owns the VIPs and hands the connections out round robin.`,
  ]);
  await sleep(4000);
  out.note(countsSince(at));

  // ── act 2 ──
  at = Date.now();
  acts.push({ title: `${failing.name} fails its check`, fromMs: at });
  out.header(`${failing.name} fails its health check`, [
    `${failing.name}'s /health starts answering 503 (the lab touched ${join(ctx.stateDir, `${failing.name}.fail`)}).`,
    `Both directors check every ${duration(c.delayLoopMs)} and retry a failed check ${c.retry === 1 ? 'once' : `${c.retry} times`}${c.retry ? `, ${duration(c.delayBeforeRetryMs)} later` : ''}:`,
    `${failing.name} leaves the pool within ${duration(s.detection.failingAnswerMs)} (delay_loop${c.retry ? ' + retry × delay_before_retry' : ''}); traffic goes on to the others.`,
  ]);
  const touched = Date.now();
  await topo.ok(failing.name, ['touch', join(ctx.stateDir, `${failing.name}.fail`)]);
  const down = await dir1.waitEvent((e) => e.event === 'real.down' && String(e.real).startsWith(`${failing.address}:`) && e.t >= touched, 10_000, `${failing.name} down`);
  await sleep(3000);
  out.note(`${d1Name} took ${failing.name} out ${num(down.t - touched)} ms after its /health began to fail (at most ${num(s.detection.failingAnswerMs)} ms); since then: ${countsSince(down.t + 50)}`);
  const cut = tally(probe.records, down.t - PROBE_TIMEOUT_MS, down.t + 50).failed;
  if (cut > 0) {
    out.note(`${num(cut)} request(s) in flight to ${failing.name} at that moment were reset: lvsd drops the connections of a server that left ` +
      '(as IPVS does with expire_nodest_conn); `inhibit_on_failure` would let them finish');
  }

  // ── act 3 ──
  at = Date.now();
  acts.push({ title: `${failing.name} recovers`, fromMs: at });
  out.header(`${failing.name} recovers`, [`${failing.name}'s /health answers 200 again; its next check (within ${duration(c.delayLoopMs)}) passes and it rejoins.`]);
  const healed = Date.now();
  await topo.ok(failing.name, ['rm', '-f', join(ctx.stateDir, `${failing.name}.fail`)]);
  const up = await dir1.waitEvent((e) => e.event === 'real.up' && String(e.real).startsWith(`${failing.address}:`) && e.t >= healed, 10_000, `${failing.name} up`);
  await sleep(3000);
  out.note(`${failing.name} back ${num(up.t - healed)} ms after it recovered; since then: ${countsSince(up.t + 50)}`);

  // ── act 4 ──
  at = Date.now();
  acts.push({ title: `${d1Name} (MASTER) killed`, fromMs: at });
  out.header(`The MASTER dies`, [
    `${d1Name}'s lvsd is killed with SIGKILL: no goodbye advert, its forwarding stops at once.`,
    `${d2Name} hears no advert for Master_Down_Interval (${num(mdiMs)} ms), takes both VIPs and sends gratuitous ARP.`,
  ]);
  await sleep(1000);
  const killAt = Date.now();
  await dir1.stop('SIGKILL');
  out.note(`${clock(killAt)} ${d1Name}'s lvsd killed`);
  const took = await dir2.waitEvent(anyState('MASTER', killAt), 10_000, `${d2Name} MASTER`);
  await sleep(3000);
  const arp = await clientArp(topo);
  const gap = longestFailedRun(probe.records, killAt - 100, Date.now());
  const back = serviceBackAfterMs(probe.records, killAt);
  out.note(`${d2Name} became MASTER ${num(took.t - killAt)} ms after the kill (Master_Down_Interval ${num(mdiMs)} ms)`);
  out.note(gap
    ? `the client saw ${num(gap.count)} failed requests in a row: a gap of ${num(gap.gapMs)} ms; the first answer after the kill came ${back === null ? '?' : num(back)} ms after it`
    : 'the client saw no failed request');
  out.note(`the client now reaches ${LAB.vip} at ${arp ?? '?'} (${directorByMac(arp)?.name ?? 'unknown'}): the gratuitous ARP moved it`);
  out.note(`since then: ${countsSince(took.t + 50)}`);
  const killGap = gap;

  // ── act 5 ──
  at = Date.now();
  acts.push({ title: `${d1Name} returns`, fromMs: at });
  const preempts = s.preempt;
  out.header(`${d1Name} returns`, preempts
    ? [
        `lvsd starts again on ${d1Name}: it comes up as BACKUP and hears ${d2Name} (priority ${p2} < ${p1}).`,
        `It preempts${s.preemptDelayMs ? ` after preempt_delay (${num(s.preemptDelayMs)} ms: time for its own health checks to run)` : ''} and ${d2Name} steps back to BACKUP.`,
        `A connection open through ${d2Name} at that instant is lost: its state lives in ${d2Name}'s connection table only, and the`,
        `gratuitous ARPs send its next packets to ${d1Name}, which never saw it (lvsd does not synchronise connections between`,
        'directors yet; keepalived + IPVS needs lvs_sync_daemon for the same reason). `nopreempt` avoids this second move.',
      ]
    : [`lvsd starts again on ${d1Name}: it comes up as BACKUP and, with nopreempt, leaves ${d2Name} MASTER.`]);
  const restartAt = Date.now();
  const child = dir1.start();
  ctx.started({ pid: child.pid!, host: dir1.host, program: 'lvsd.js' });
  await dir1.waitStarted();
  let handback: LogEvent | null = null;
  if (preempts) {
    handback = await dir1.waitEvent(anyState('MASTER', restartAt), s.preemptDelayMs + mdiMs + 10_000, `${d1Name} MASTER again`);
    for (const inst of s.instances) await dir2.waitEvent(isState(inst, 'BACKUP', restartAt), 5_000, `${d2Name} ${inst} BACKUP again`);
  } else {
    await sleep(s.preemptDelayMs + 3 * mdiMs);
  }
  await sleep(3000);
  const records = await probe.stop();
  const endMs = Date.now();
  const lost = handback ? handbackFailures(records, handback.t) : [];
  if (handback) {
    out.note(`${d1Name} MASTER again ${num(handback.t - restartAt)} ms after it started; ${lost.length ? `${num(lost.length)} request(s) open at the hand-back failed:` : 'no request failed during the hand-back'}`);
    for (const r of lost) {
      const rel = Math.round(r.sent - handback.t);
      out.note(`  sent ${clock(r.sent)} (${rel >= 0 ? '+' : ''}${rel} ms from ${d1Name}'s takeover): ${r.err}${r.stage === 'connected' ? ' after the connection was made' : r.stage === 'syn' ? ' before the connection was made' : ''}`);
    }
  }
  out.note(`since then: ${countsSince((handback?.t ?? restartAt) + HANDBACK_WINDOW_MS.after)}`);

  // ── summary ──
  summary(out, records, acts, endMs, realNames, { killGap, killToMasterMs: took.t - killAt, mdiMs, handbackLost: lost.length, d1Name, d2Name });
  return { directors, reals };
}

/** Failed requests sent in the hand-back window around the returning director's takeover at atMs. */
export function handbackFailures(records: readonly RequestRecord[], atMs: number): RequestRecord[] {
  return records.filter((r) => r.rs === undefined && r.sent >= atMs - HANDBACK_WINDOW_MS.before && r.sent < atMs + HANDBACK_WINDOW_MS.after);
}

async function clientArp(topo: Topology): Promise<string | null> {
  const r = await topo.exec(LAB.client.name, ['ip', 'neigh', 'show', LAB.vip, 'dev', 'eth0']);
  return /lladdr ([0-9a-f:]+)/.exec(r.stdout)?.[1] ?? null;
}

function summary(
  out: Renderer,
  records: ReturnType<Probe['stop']> extends Promise<infer R> ? R : never,
  acts: ActMark[],
  endMs: number,
  realNames: string[],
  m: { killGap: FailedRun | null; killToMasterMs: number; mdiMs: number; handbackLost: number; d1Name: string; d2Name: string },
): void {
  out.section('Summary');
  const rows = acts.map((a, i) => {
    const t = tally(records, a.fromMs, acts[i + 1]?.fromMs ?? endMs + 1);
    return [`${i + 1}  ${a.title}`, num(t.sent), num(t.failed), ...realNames.map((n) => num(t.perReal[n] ?? 0))];
  });
  const all = tally(records, acts[0]!.fromMs);
  out.table(['act', 'requests', 'failed', ...realNames], rows, {
    footer: ['total', num(all.sent), num(all.failed), ...realNames.map((n) => num(all.perReal[n] ?? 0))],
  });
  out.line();
  if (m.killGap) {
    out.note(`failover gap when ${m.d1Name} was killed: ${out.bold(`${num(m.killGap.gapMs)} ms`)} (${num(m.killGap.count)} requests unanswered; ` +
      `${m.d2Name} was MASTER ${num(m.killToMasterMs)} ms after the kill, Master_Down_Interval ${num(m.mdiMs)} ms)`);
  } else {
    out.note(`failover when ${m.d1Name} was killed: no failed request (${m.d2Name} MASTER after ${num(m.killToMasterMs)} ms)`);
  }
  if (m.handbackLost) out.note(`hand-back to ${m.d1Name}: ${num(m.handbackLost)} request(s) failed: connections open through ${m.d2Name} at that instant (no connection sync)`);
  const reasons = Object.entries(all.reasons).map(([k, v]) => `${k} ${num(v)}`).join(', ');
  if (reasons) out.note(`failures by reason: ${reasons}`);
}
