/**
 * Reloads under traffic, as an operator does them (edit the file, SIGHUP):
 * - a reload that adds a real server (rs4) and removes another (rs3): the long-lived
 *   streaming connections on the untouched real servers (rs1, rs2) go on without a reset or
 *   a stall, their checkers keep their state across the reload (same verdict and since,
 *   attempts and consecutive passes counting on: not restarted), the VRRP state does not
 *   move (no vrrp.transition on either director), new connections go to rs1, rs2 and rs4,
 *   and no request sent after the reload fails; the connections still open to the removed
 *   rs3 are reset on their next packet (lvsd expires them, as IPVS's expire_nodest_conn does,
 *   rather than black-holing them): curl sees the reset within a second;
 * - a bad config: rejected with every error as file:line:col, the running config stays
 *   (traffic unaffected, `lvsadm status` answers), `lvsd --test` says the same;
 * - draining by reload (weight 0): the server's open connection goes on, it gets no new ones.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { canUseNetns } from '../../../src/lab/topology.js';
import { tally } from '../../../src/lab/probe.js';
import { PROGRAMS } from '../../../src/lab/paths.js';
import { LAB, Pair, sleep, type LogEvent } from './lib/pair.js';
import { StallWitness } from './lib/stall.js';

const skip = !canUseNetns() && 'needs root and iproute2';
const [rs1, rs2, rs3] = LAB.reals;
let pair: Pair;

before(async () => {
  if (!skip) pair = await Pair.start({ config: {}, spare: true });
});
after(async () => {
  await pair?.cleanup();
});

/** A long-lived HTTP response (one line every 100 ms) read by curl on the client. */
interface Stream {
  readonly child: ChildProcess;
  /** Arrival time of each line and its text ("rs1 17"). */
  readonly lines: Array<{ t: number; text: string }>;
  exit: { code: number | null; signal: string | null; t: number } | null;
}

function openStream(): Stream {
  const child = pair.topo.spawn(LAB.client.name, ['curl', '-sN', '--max-time', '120', `http://${LAB.vip}:${LAB.port}/stream`]);
  const s: Stream = { child, lines: [], exit: null };
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      s.lines.push({ t: Date.now(), text: buf.slice(0, i) });
      buf = buf.slice(i + 1);
    }
  });
  child.once('exit', (code, signal) => { s.exit = { code, signal, t: Date.now() }; });
  return s;
}

const noTransitionSince = (since: number) => (name: string) =>
  pair.d(name).events.filter((e: LogEvent) => e.event === 'vrrp.transition' && e.t >= since);

/** One checker as `lvsadm --json checks` shows it, with `since` made absolute (epoch ms). */
interface CheckerView {
  readonly checker: string;
  readonly up: boolean;
  readonly lastOk: boolean;
  readonly attempts: number;
  readonly consecutiveOk: number;
  readonly consecutiveFail: number;
  readonly sinceAt: number;
}

/** The checkers of a director's real servers, by real server key. */
async function checkers(name: string): Promise<Record<string, CheckerView>> {
  const r = await pair.d(name).lvsadm(['--json', 'checks']);
  const at = Date.now();
  const j = JSON.parse(r.stdout) as { services: Array<{ reals: Array<{ real: string; checkers: Array<CheckerView & { sinceMs: number }> }> }> };
  const out: Record<string, CheckerView> = {};
  for (const svc of j.services) {
    for (const rs of svc.reals) {
      const c = rs.checkers[0]!;
      out[rs.real] = { checker: c.checker, up: c.up, lastOk: c.lastOk, attempts: c.attempts, consecutiveOk: c.consecutiveOk, consecutiveFail: c.consecutiveFail, sinceAt: Math.round(at - c.sinceMs) };
    }
  }
  return out;
}

/** dir1's forwarding-core counters. */
async function coreCounters(): Promise<Record<string, number>> {
  const r = await pair.d('dir1').lvsadm(['--json', '-L', '-n']);
  return (JSON.parse(r.stdout) as { counters: Record<string, number> }).counters;
}

/** curl's exit code for "failure in receiving network data" (a reset connection). */
const CURL_RECV_ERROR = 56;

test('SIGHUP adds rs4 and removes rs3 under traffic: untouched connections live on, VRRP does not move', { skip }, async (t) => {
  // The streams first (alone, so rr gives two to each real server), then the probing client.
  const streams: Stream[] = [];
  for (let i = 0; i < 6; i++) {
    streams.push(openStream());
    await sleep(100);
  }
  const probe = await pair.probe({ intervalMs: 20 });
  const witness = new StallWitness(pair.topo, 'front');
  await sleep(1000);
  const nameOf = (s: Stream) => s.lines[0]?.text.split(' ')[0];
  assert.deepEqual(streams.map(nameOf).sort(), [rs1!.name, rs1!.name, rs2!.name, rs2!.name, rs3!.name, rs3!.name], 'rr spread the streams over the three');

  const checksBefore = Object.fromEntries(await Promise.all(LAB.directors.map(async (d) => [d.name, await checkers(d.name)] as const)));
  const coreBefore = await coreCounters();
  const reloadAt = Date.now();
  for (const d of LAB.directors) {
    pair.writeConfig(d.name, pair.configFor(d, { reals: [rs1!, rs2!, LAB.spare] }));
    pair.d(d.name).signal('SIGHUP');
  }
  const applied = await Promise.all(LAB.directors.map((d) =>
    pair.d(d.name).waitEvent((e) => e.event === 'config.applied' && e.trigger === 'sighup' && e.t >= reloadAt, 5000, `${d.name} reload applied`)));
  await pair.d('dir1').waitEvent((e) => e.event === 'real.up' && e.real === `${LAB.spare.address}:${LAB.port}` && e.t >= reloadAt, 5000, 'rs4 up on dir1');
  await sleep(3000);
  const records = await probe.stop();
  const endAt = Date.now();
  const checksAfter = Object.fromEntries(await Promise.all(LAB.directors.map(async (d) => [d.name, await checkers(d.name)] as const)));
  const coreAfter = await coreCounters();

  const kept = streams.filter((s) => nameOf(s) !== rs3!.name);
  const removed = streams.filter((s) => nameOf(s) === rs3!.name);
  const maxGap = (s: Stream) => s.lines.reduce((m, l, i) => (i ? Math.max(m, l.t - s.lines[i - 1]!.t) : 0), 0);
  /** Where the longest gap ended, relative to the reload (ms). */
  const maxGapAt = (s: Stream) => {
    let at = 0;
    let best = 0;
    for (let i = 1; i < s.lines.length; i++) if (s.lines[i]!.t - s.lines[i - 1]!.t > best) { best = s.lines[i]!.t - s.lines[i - 1]!.t; at = s.lines[i]!.t; }
    return at - reloadAt;
  };
  const stalls = await witness.stop();
  const after = tally(records, applied[0]!.t + 1500);
  t.diagnostic(`E2E_MEASURE reload ${JSON.stringify({
    realServers: (applied[0]!.summary as Record<string, unknown>).realServers,
    kept: kept.map((s) => ({ real: nameOf(s), lines: s.lines.length, linesAfterReload: s.lines.filter((l) => l.t > reloadAt).length, maxGapMs: maxGap(s), maxGapEndedAfterReloadMs: maxGapAt(s), exit: s.exit })),
    // Pauses of an unrelated process (lib/stall.ts): a gap in every stream at once that the witness also saw is the machine's.
    machineStalls: stalls.map((x) => ({ afterReloadMs: x.at - reloadAt, lateMs: x.lateMs })).sort((a, b) => b.lateMs - a.lateMs).slice(0, 3),
    removed: removed.map((s) => ({ real: nameOf(s), linesAfterReload: s.lines.filter((l) => l.t > reloadAt).length, exit: s.exit })),
    requests: tally(records), afterReload: after,
    checkers: Object.fromEntries(LAB.directors.map((d) => [d.name, [rs1!, rs2!].map((r) => {
      const k = `${r.address}:${LAB.port}`;
      const b = checksBefore[d.name]![k]!;
      const a = checksAfter[d.name]![k]!;
      return { real: r.name, attempts: [b.attempts, a.attempts], consecutiveOk: [b.consecutiveOk, a.consecutiveOk], sinceAt: [b.sinceAt, a.sinceAt] };
    })])),
    core: { nodestExpired: coreAfter.nodest_expired! - coreBefore.nodest_expired!, rstsSent: coreAfter.rsts_sent! - coreBefore.rsts_sent! },
    failures: records.filter((r) => r.rs === undefined).map((r) => ({ ...r, sentAfterReloadMs: Math.round(r.sent - reloadAt) })),
  })}`);

  const summary = applied[0]!.summary as Record<string, { added: number; removed: number; changed: number }>;
  assert.deepEqual(summary.real_servers, { added: 1, removed: 1, changed: 0 });
  for (const s of kept) {
    assert.equal(s.exit, null, `stream on ${nameOf(s)} still open`);
    const lateLines = s.lines.filter((l) => l.t > reloadAt + 2500);
    assert.ok(lateLines.length >= 5, `stream on ${nameOf(s)} still flowing after the reload (${lateLines.length} lines)`);
    assert.ok(maxGap(s) < 600, `stream on ${nameOf(s)} never stalled (longest gap ${maxGap(s)} ms)`);
  }
  for (const d of LAB.directors) assert.deepEqual(noTransitionSince(reloadAt)(d.name), [], `no VRRP transition on ${d.name}`);
  // The untouched real servers' checkers were migrated, not restarted (keepalived
  // migrate_checkers): same checker, verdict up since before the reload, and the attempts
  // made since all counted on top of the old streak.
  for (const d of LAB.directors) {
    for (const r of [rs1!, rs2!]) {
      const k = `${r.address}:${LAB.port}`;
      const b = checksBefore[d.name]![k]!;
      const a = checksAfter[d.name]![k]!;
      const what = `${r.name}'s checker on ${d.name} (before ${JSON.stringify(b)}, after ${JSON.stringify(a)})`;
      assert.equal(a.checker, b.checker, what);
      assert.ok(b.up && a.up && a.lastOk, `${what}: up throughout`);
      assert.ok(a.attempts > b.attempts, `${what}: it kept checking`);
      assert.equal(a.consecutiveOk - b.consecutiveOk, a.attempts - b.attempts, `${what}: its streak went on (not restarted)`);
      // `since` is relative in lvsadm's answer: made absolute here it moves by the answer's
      // latency (tens of ms, more on a loaded machine); a restarted checker would date from the reload.
      assert.ok(a.sinceAt < reloadAt - 500 && Math.abs(a.sinceAt - b.sinceAt) < 1000, `${what}: up since before the reload`);
    }
    const added = checksAfter[d.name]![`${LAB.spare.address}:${LAB.port}`];
    assert.ok(added && added.sinceAt >= reloadAt - 200, `rs4's checker is new on ${d.name}: ${JSON.stringify(added)}`);
    assert.equal(checksAfter[d.name]![`${rs3!.address}:${LAB.port}`], undefined, `rs3's checker is gone on ${d.name}`);
  }
  // The streams still open to the removed rs3 were reset (their next packet found the
  // connection expired), not left hanging.
  assert.equal(removed.length, 2);
  for (const s of removed) {
    assert.ok(s.exit !== null, `the stream on rs3 ended: ${JSON.stringify(s.exit)}`);
    assert.equal(s.exit!.code, CURL_RECV_ERROR, `curl saw a reset (exit ${CURL_RECV_ERROR}): ${JSON.stringify(s.exit)}`);
    assert.ok(s.exit!.t - Math.max(...applied.map((e) => e.t)) < 1000, `reset within a second of the reload: ${s.exit!.t - Math.max(...applied.map((e) => e.t))} ms`);
  }
  assert.ok(coreAfter.nodest_expired! - coreBefore.nodest_expired! >= 2 && coreAfter.rsts_sent! - coreBefore.rsts_sent! >= 2,
    `dir1 expired rs3's connections and reset them: ${JSON.stringify({ nodest: coreAfter.nodest_expired! - coreBefore.nodest_expired!, rsts: coreAfter.rsts_sent! - coreBefore.rsts_sent! })}`);
  assert.equal(pair.d('dir1').stateOf('VI_FRONT'), 'MASTER');
  assert.equal(pair.d('dir2').stateOf('VI_FRONT'), 'BACKUP');
  // A connection still open to the removed rs3 is expired by the core (IPVS
  // expire_nodest_conn) and its next packet answered with a reset: only a request in flight
  // to rs3 at the reload may fail, and nothing sent after the reload was applied.
  const appliedAt = Math.max(...applied.map((e) => e.t));
  const failures = records.filter((r) => r.rs === undefined);
  assert.ok(failures.length <= 2, `at most the requests in flight to rs3 failed: ${JSON.stringify(failures)}`);
  for (const f of failures) assert.ok(f.sent < appliedAt + 5 && f.sent + f.ms > reloadAt, `failed request not in flight at the reload: ${JSON.stringify(f)}`);
  assert.equal(after.perReal[rs3!.name] ?? 0, 0, 'no new connection to the removed rs3');
  assert.ok((after.perReal[LAB.spare.name] ?? 0) > 10, `the added rs4 gets new connections: ${JSON.stringify(after.perReal)}`);
  assert.ok((after.perReal[rs1!.name] ?? 0) > 10 && (after.perReal[rs2!.name] ?? 0) > 10, JSON.stringify(after.perReal));
  for (const s of streams) await pair.topo.kill(s.child);
  assert.ok(endAt > reloadAt);
});

test('a bad config on reload is rejected with file:line:col errors; traffic and lvsadm unaffected', { skip }, async (t) => {
  const dir1 = pair.d('dir1');
  const good = pair.configFor(LAB.directors[0]!, { reals: [rs1!, rs2!, LAB.spare] });
  const bad = good
    .replace('lvs_sched rr', 'lvs_sched roundrobin')
    .replace(/  advert_int (\S+)\n/, '  advert_intt $1\n');
  assert.notEqual(bad, good);
  const lines = bad.split('\n');
  const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
  const file = pair.writeConfig('dir1', bad);

  const probe = await pair.probe({ intervalMs: 20 });
  await sleep(500);
  const at = Date.now();
  dir1.signal('SIGHUP');
  const rejected = await dir1.waitEvent((e) => e.event === 'config.rejected' && e.t >= at, 5000, 'config.rejected');
  const status = await dir1.lvsadm(['status']);
  const vrrp = await dir1.lvsadm(['vrrp']);
  await sleep(1500);
  const records = await probe.stop();
  const check = await pair.topo.exec('dir1', [process.execPath, PROGRAMS.lvsd, '--test', '-f', file]);

  const errors = rejected.errors as string[];
  t.diagnostic(`E2E_MEASURE bad-reload ${JSON.stringify({ errors, lvsdTestExit: check.code, requests: tally(records) })}`);
  assert.ok(errors.length >= 2, errors.join('\n'));
  for (const e of errors) assert.match(e, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `), e);
  assert.ok(errors.some((e) => e.startsWith(`${file}:${lineOf('advert_intt')}:`) && /did you mean.*advert_int/i.test(e)), `unknown keyword reported at its line with a suggestion:\n${errors.join('\n')}`);
  assert.ok(errors.some((e) => e.startsWith(`${file}:${lineOf('lvs_sched roundrobin')}:`)), `bad scheduler reported at its line:\n${errors.join('\n')}`);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /\S/);
  assert.match(vrrp.stdout, /VI_FRONT\s+MASTER/);
  assert.deepEqual(dir1.events.filter((e) => e.event === 'vrrp.transition' && e.t >= at), [], 'VRRP state unchanged');
  const tl = tally(records);
  assert.ok(tl.sent > 50);
  assert.equal(tl.failed, 0, `traffic unaffected: ${JSON.stringify(tl.reasons)}`);
  assert.notEqual(check.code, 0, 'lvsd --test rejects the file too');
  for (const e of errors) assert.ok(check.stderr.includes(e), `lvsd --test prints ${e}\n${check.stderr}`);

  // The operator fixes the file: the next reload applies it.
  pair.writeConfig('dir1', good);
  const fixAt = Date.now();
  dir1.signal('SIGHUP');
  await dir1.waitEvent((e) => e.event === 'config.applied' && e.trigger === 'sighup' && e.t >= fixAt, 5000, 'fixed config applied');
});

test('draining by reload: weight 0 keeps a real server\'s open connections and gives it no new ones', { skip }, async (t) => {
  const reals = [rs1!, rs2!, LAB.spare];
  const streams: Stream[] = [];
  for (let i = 0; i < 3; i++) {
    streams.push(openStream());
    await sleep(100);
  }
  await sleep(500);
  const onRs2 = streams.filter((s) => s.lines[0]?.text.startsWith(`${rs2!.name} `));
  assert.equal(onRs2.length, 1, `one stream on rs2: ${streams.map((s) => s.lines[0]?.text).join(', ')}`);
  const probe = await pair.probe({ intervalMs: 20 });
  await sleep(500);
  const at = Date.now();
  for (const d of LAB.directors) {
    pair.writeConfig(d.name, pair.configFor(d, { reals, weights: { [rs2!.name]: 0 } }));
    pair.d(d.name).signal('SIGHUP');
  }
  const applied = await pair.d('dir1').waitEvent((e) => e.event === 'config.applied' && e.trigger === 'sighup' && e.t >= at, 5000, 'drain applied');
  await sleep(2500);
  const records = await probe.stop();
  const s = onRs2[0]!;
  const after = tally(records, applied.t + 50);
  t.diagnostic(`E2E_MEASURE drain ${JSON.stringify({ summary: (applied.summary as Record<string, unknown>).real_servers, streamLinesAfter: s.lines.filter((l) => l.t > at).length, exit: s.exit, afterReload: after })}`);
  assert.equal(s.exit, null, 'the stream on the drained rs2 stays open');
  assert.ok(s.lines.filter((l) => l.t > at + 2000).length >= 3, 'and keeps flowing');
  assert.equal(after.failed, 0, JSON.stringify(after.reasons));
  assert.equal(after.perReal[rs2!.name] ?? 0, 0, `no new connection to rs2: ${JSON.stringify(after.perReal)}`);
  assert.ok((after.perReal[rs1!.name] ?? 0) > 10 && (after.perReal[LAB.spare.name] ?? 0) > 10, JSON.stringify(after.perReal));
  assert.deepEqual(pair.d('dir1').events.filter((e) => e.event === 'vrrp.transition' && e.t >= at), []);
  for (const x of streams) await pair.topo.kill(x.child);
});
