/**
 * The pair under fire, with the shipped config/lab/*.conf: the MASTER's lvsd killed with
 * SIGKILL, stopped cleanly (SIGTERM: priority-0 adverts, the BACKUP takes over after its skew
 * time), then the whole MASTER director crashed (every process killed and both links down,
 * as a power loss). Each failure, with a client opening a new connection every 10 ms:
 * - dir2 serves within Master_Down_Interval + 100 ms of the failure (skew + 100 ms for the
 *   clean stop): it has claimed both VIPs by then (its own log, written by its real-time
 *   main thread), and the client's first answered request after the failure, and the end of
 *   its run of failed requests, come within the same bound;
 * - the client's ARP entry for the VIP and the real servers' entry for the gateway VIP point
 *   at the new MASTER, and no packet of the service reaches the dead director afterwards
 *   (tcpdump on its bridge ports, front and back, which saw traffic before the failure).
 * The bounds come from the shipped files (src/lab/settings.ts), never from constants here.
 *
 * The client is an ordinary (SCHED_OTHER) process on a 2-core machine shared with other test
 * runs: when ordinary processes are kept waiting for a CPU, its view is late by as much. A
 * witness process (lib/stall.ts) measures such waits; the client-side figures (not dir2's
 * own) may be excused by the wait it saw inside the window, capped at STALL_ALLOWANCE_MS.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns } from '../../../src/lab/topology.js';
import { longestFailedRun, serviceBackAfterMs, tally } from '../../../src/lab/probe.js';
import { labSettings } from '../../../src/lab/settings.js';
import type { LogEvent } from '../../../src/lab/director.js';
import { LAB, Pair, sleep, transition, type Capture } from './lib/pair.js';
import { StallWitness, type Stall } from './lib/stall.js';

const skip = !canUseNetns() && 'needs root and iproute2';
const [D1, D2] = LAB.directors as unknown as [typeof LAB.directors[0], typeof LAB.directors[0]];
const S = labSettings();
/** The issue's margin over Master_Down_Interval (and over the skew time for a clean stop). */
const MARGIN_MS = 100;
/**
 * The most a client-side figure may be excused for a pause of the machine (ordinary
 * processes kept waiting) that the witness saw inside the window; dir2's own takeover time
 * is never excused. Measured in 8 runs of this file (24 failovers) while other suites loaded
 * the machine (load average 3.7–6.5): the witness saw pauses over 20 ms in 10 of the 24
 * scenarios, 22–48 ms and once 81 ms, never inside a failover window; the client's first
 * answer came 562–720 ms after a SIGKILL or crash (bound 822) and 141–157 ms after a clean
 * stop (bound 222). 50 ms covers the ordinary pauses; a longer one is the machine failing
 * the test, not lvsd passing it (rerun).
 */
const STALL_ALLOWANCE_MS = 50;
let pair: Pair;

before(async () => {
  if (!skip) pair = await Pair.start({ config: 'shipped' });
});
after(async () => {
  await pair?.cleanup();
});

/** When dir2 had claimed both VIPs (its last `vip.added` of the two) at or after a time. */
function servingAt(after: number): number | null {
  const added = [LAB.vip, LAB.gatewayVip].map((a) => pair.d('dir2').events.find((e: LogEvent) => e.event === 'vip.added' && e.address === a && e.t >= after)?.t ?? null);
  return added.some((t) => t === null) ? null : Math.max(...(added as number[]));
}

/** The witness's pauses over a test: how many over 20 ms, the longest, and the longest inside [from, to]. */
function stallFigures(stalls: readonly Stall[], from: number, to: number) {
  const inWindow = stalls.filter((x) => x.at >= from && x.at - x.lateMs <= to);
  return {
    count: stalls.length, worstMs: stalls.reduce((m, x) => Math.max(m, x.lateMs), 0),
    inWindow: inWindow.length, worstInWindowMs: inWindow.reduce((m, x) => Math.max(m, x.lateMs), 0),
  };
}

/** Watches what reaches dir1 through both switches: client→VIP requests, real server→gateway replies. */
async function watchDir1(): Promise<{ front: Capture; back: Capture }> {
  const frontPort = await pair.bridgePort('front', D1.frontMac);
  const backPort = await pair.bridgePort('back', D1.backMac);
  return {
    front: await pair.capture('front', frontPort, `tcp and dst host ${LAB.vip} and dst port ${LAB.port}`),
    back: await pair.capture('back', backPort, `tcp and src port ${LAB.port}`),
  };
}

async function failover(kind: 'sigkill' | 'crash', t: { diagnostic: (s: string) => void }): Promise<void> {
  const dir1 = pair.d('dir1');
  const dir2 = pair.d('dir2');
  const watch = await watchDir1();
  const witness = new StallWitness(pair.topo, 'front');
  const probe = await pair.probe();
  await sleep(1000);
  const killAt = Date.now();
  if (kind === 'sigkill') {
    await dir1.stop('SIGKILL');
  } else {
    // Power loss: every process of the node dies at once (the signals go out in this call,
    // before anything else is spawned) and its links go dark.
    const killed = pair.topo.killHost('dir1', 'SIGKILL');
    await Promise.all([killed, pair.topo.ok('dir1', ['ip', 'link', 'set', 'eth0', 'down']), pair.topo.ok('dir1', ['ip', 'link', 'set', 'eth1', 'down'])]);
  }
  const took = await dir2.waitEvent((e) => e.event === 'vrrp.transition' && S.instances.includes(String(e.instance)) && e.to === 'MASTER' && e.t >= killAt, 5000, 'dir2 MASTER');
  for (const inst of S.instances) await dir2.waitEvent(transition('MASTER', inst, killAt), 1000, `dir2 ${inst} MASTER`);
  const group = await dir2.waitEvent((e) => e.event === 'vrrp.sync_group' && e.to === 'MASTER' && e.t >= killAt, 1000, 'sync group MASTER');
  assert.equal(group.reason, 'master_down_timer', 'dir2 took over because dir1 fell silent');
  await sleep(1500);
  const records = await probe.stop();
  const front = await watch.front.stop();
  const back = await watch.back.stop();

  const stalls = await witness.stop();
  const mdi = pair.mdiMs('dir2');
  const bound = mdi + MARGIN_MS;
  const serving = servingAt(killAt);
  const backAfter = serviceBackAfterMs(records, killAt);
  const stall = stallFigures(stalls, killAt, killAt + bound);
  const allowance = Math.min(stall.worstInWindowMs, STALL_ALLOWANCE_MS);
  const run = longestFailedRun(records, killAt - 50);
  const afterTakeover = tally(records, took.t + 200);
  const quietFrom = took.t + 100;
  const lateFront = front.filter((p) => p.t > quietFrom);
  const lateBack = back.filter((p) => p.t > quietFrom);
  const m = {
    kind, masterDownIntervalMs: mdi, dir2MasterAfterKillMs: took.t - killAt, dir2ServingAfterKillMs: serving === null ? null : serving - killAt,
    serviceBackAfterKillMs: backAfter, clientGapMs: run?.gapMs ?? 0, failedRequests: run?.count ?? 0, stall, allowanceMs: allowance,
    requestsAfterTakeover: afterTakeover.sent,
    dir1FramesBefore: { front: front.filter((p) => p.t < killAt).length, back: back.filter((p) => p.t < killAt).length },
    dir1FramesAfterTakeover: { front: lateFront.length, back: lateBack.length },
  };
  t.diagnostic(`E2E_MEASURE failover ${JSON.stringify(m)}`);

  assert.ok(serving !== null, 'dir2 claimed both VIPs');
  assert.ok(serving - killAt <= bound, `dir2 served (both VIPs claimed) ${serving - killAt} ms after the ${kind}: bound Master_Down_Interval ${mdi} + ${MARGIN_MS} ms`);
  assert.ok(backAfter !== null, 'service came back');
  assert.ok(backAfter <= bound + allowance, `the client's first answer came ${backAfter} ms after the ${kind}: bound ${bound} ms + ${allowance} ms of machine pause (witness: ${JSON.stringify(stall)})`);
  assert.ok(run !== null && run.firstOkAfterMs !== null, 'the client\'s failed requests ended');
  assert.ok(run.firstOkAfterMs - killAt <= bound + allowance, `the client's requests failed until ${run.firstOkAfterMs - killAt} ms after the ${kind}: bound ${bound} + ${allowance} ms`);
  assert.equal(afterTakeover.failed, 0, `requests failed after the takeover: ${JSON.stringify(afterTakeover.reasons)}`);
  assert.ok(afterTakeover.sent > 100, 'traffic kept flowing after the takeover');
  assert.equal(await pair.neighbour('client', LAB.vip), D2.frontMac, 'the client reaches the VIP at dir2');
  for (const r of LAB.reals) assert.equal(await pair.neighbour(r.name, LAB.gatewayVip), D2.backMac, `${r.name} reaches the gateway VIP at dir2`);
  assert.ok(m.dir1FramesBefore.front > 20 && m.dir1FramesBefore.back > 20, `the captures saw dir1's traffic before the failure: ${JSON.stringify(m.dir1FramesBefore)}`);
  assert.deepEqual(lateFront.map((p) => p.line), [], 'no request reached dir1 after the takeover');
  assert.deepEqual(lateBack.map((p) => p.line), [], 'no reply went to dir1 after the takeover');
}

/** dir1 comes back and takes over again (preempt after preempt_delay), ready for the next scenario. */
async function restoreDir1(): Promise<void> {
  const restart = Date.now();
  await pair.startDirector('dir1');
  await pair.d('dir1').waitEvent(transition('MASTER', S.frontInstance, restart), S.preemptDelayMs + 10_000, 'dir1 preempts');
  await pair.d('dir2').waitEvent(transition('BACKUP', S.frontInstance, restart), 3000, 'dir2 back to BACKUP');
  await sleep(500);
}

test('MASTER lvsd SIGKILLed under traffic: the BACKUP serves within Master_Down_Interval + 100 ms and the dead node attracts nothing', { skip }, async (t) => {
  await failover('sigkill', t);
  await restoreDir1();
});

test('MASTER lvsd stopped cleanly (SIGTERM) under traffic: priority-0 adverts, the BACKUP serves within the skew time + 100 ms', { skip }, async (t) => {
  const dir1 = pair.d('dir1');
  const dir2 = pair.d('dir2');
  const witness = new StallWitness(pair.topo, 'front');
  const probe = await pair.probe();
  await sleep(800);
  const stopAt = Date.now();
  await dir1.stop('SIGTERM');
  const group = await dir2.waitEvent((e) => e.event === 'vrrp.sync_group' && e.to === 'MASTER' && e.t >= stopAt, 3000, 'dir2 MASTER');
  await sleep(1000);
  const records = await probe.stop();
  const stalls = await witness.stop();
  const skew = pair.skewMs('dir2');
  const bound = skew + MARGIN_MS;
  const serving = servingAt(stopAt);
  const stall = stallFigures(stalls, stopAt, stopAt + bound);
  const allowance = Math.min(stall.worstInWindowMs, STALL_ALLOWANCE_MS);
  const backAfter = serviceBackAfterMs(records, stopAt);
  const run = longestFailedRun(records, stopAt - 50);
  t.diagnostic(`E2E_MEASURE clean-stop ${JSON.stringify({
    skewMs: skew, dir2MasterAfterStopMs: group.t - stopAt, dir2ServingAfterStopMs: serving === null ? null : serving - stopAt,
    serviceBackAfterStopMs: backAfter, clientGapMs: run?.gapMs ?? 0, failedRequests: run?.count ?? 0, stall, allowanceMs: allowance,
  })}`);
  assert.equal(group.reason, 'priority_zero', 'dir2 took over on dir1\'s priority-0 advert, not after Master_Down_Interval');
  assert.ok(dir1.ofType('daemon.stopped', stopAt).length === 1, 'dir1 stopped cleanly');
  assert.ok(serving !== null && serving - stopAt <= bound, `dir2 served (both VIPs claimed) ${serving === null ? 'never' : `${serving - stopAt} ms`} after the stop: bound skew ${skew} + ${MARGIN_MS} ms`);
  assert.ok(backAfter !== null && backAfter <= bound + allowance, `the client's first answer came ${backAfter} ms after the stop: bound ${bound} ms + ${allowance} ms of machine pause (witness: ${JSON.stringify(stall)})`);
  if (run) {
    assert.ok(run.firstOkAfterMs !== null && run.firstOkAfterMs - stopAt <= bound + allowance, `the client's requests failed until ${run.firstOkAfterMs === null ? 'the end' : `${run.firstOkAfterMs - stopAt} ms`} after the stop: bound ${bound} + ${allowance} ms`);
  }
  assert.equal(tally(records, group.t + 100).failed, 0, 'nothing fails after the takeover');
  await restoreDir1();
});

test('MASTER director crashed (processes killed, links down) under traffic: the BACKUP serves within Master_Down_Interval + 100 ms and the dead node attracts nothing', { skip }, async (t) => {
  assert.equal(pair.d('dir1').stateOf(S.frontInstance), 'MASTER');
  await failover('crash', t);
});
