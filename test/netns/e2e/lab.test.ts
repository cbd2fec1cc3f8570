/**
 * `npm run lab` as a new user runs it (bin/lab.js → dist/), end to end: it exits 0, tells
 * all five acts with both directors' own log lines (dir2's takeover lines on dir2, dir1's
 * preemption on dir1), its summary adds up, the failover gap it measured is within
 * Master_Down_Interval + 100 ms (computed from the shipped config/lab files), and it leaves
 * no namespace, no process (none of the PIDs it recorded, nothing that carries the run's
 * state directory in its environment) and no file behind. It runs with a per-run namespace
 * prefix and state directory (LVSD_LAB_PREFIX, LVSD_LAB_DIR) so it never meets a lab a
 * person kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns } from '../../../src/lab/topology.js';
import { labSettings } from '../../../src/lab/settings.js';
import { LAB } from '../../../src/lab/network.js';
import { labRunIds, leftovers, runs, scrub, startLab } from './lib/lab-run.js';

const skip = !canUseNetns() && 'needs root and iproute2';

/** The lines a director's log printed through the lab (`   dir2 │ [time] INFO: msg`). */
function daemonLines(out: string, director: string): string[] {
  return out.split('\n').filter((l) => l.trimStart().startsWith(`${director} │ `));
}

test('npm run lab: five acts, a summary that adds up, a failover gap within bound, nothing left behind', { skip, timeout: 150_000 }, async (t) => {
  const ids = labRunIds();
  const s = labSettings();
  const group = s.syncGroup!;
  try {
    const lab = startLab(ids, []);
    const { code } = await lab.exited;
    const out = lab.output();
    const recorded = lab.lastState()?.processes ?? [];
    const left = await leftovers(ids);

    assert.equal(code, 0, out);
    for (const act of ['Act 1 · Traffic, balanced', 'Act 2 · rs2 fails its health check', 'Act 3 · rs2 recovers', 'Act 4 · The MASTER dies', 'Act 5 · dir1 returns', 'Summary']) {
      assert.ok(out.includes(act), `the lab tells "${act}"`);
    }
    // Each director's own lines, in its own column: dir1 prints the same sync-group line when
    // it starts, so the takeover must be found among dir2's lines.
    const d1 = daemonLines(out, 'dir1');
    const d2 = daemonLines(out, 'dir2');
    const has = (lines: string[], text: string) => lines.some((l) => l.includes(text));
    assert.ok(has(d2, `sync group ${group} -> MASTER (master_down_timer)`), `dir2 takes over when dir1 is killed:\n${d2.join('\n')}`);
    assert.ok(has(d2, `VIP ${LAB.vip} added on eth0 (core)`) && has(d2, `VIP ${LAB.gatewayVip} added on eth1 (core)`), 'dir2 claims both VIPs');
    assert.ok(has(d1, `sync group ${group} -> MASTER (preempt)`), `dir1 preempts when it returns:\n${d1.join('\n')}`);
    assert.ok(has(d2, `sync group ${group} -> BACKUP (higher_priority_advert)`), 'dir2 steps back');
    for (const d of [d1, d2]) {
      assert.ok(has(d, 'real 198.18.1.12:80 DOWN') && has(d, 'real 198.18.1.12:80 UP'), 'both directors see rs2 leave and return');
    }
    // The narration's figures come from the shipped files.
    assert.ok(out.includes(`VRRPv${s.vrrpVersion} adverts every ${s.advertIntMs} ms`), 'the title states the shipped advert interval');
    assert.ok(out.includes(`Master_Down_Interval (${Math.round(s.directors.dir2!.masterDownIntervalMs)} ms)`), 'act 4 states dir2\'s Master_Down_Interval');

    const gap = /failover gap when dir1 was killed: (\d[\d,]*) ms \((\d+) requests unanswered/.exec(out);
    assert.ok(gap, out);
    const gapMs = Number(gap[1]!.replace(/,/g, ''));
    const mdi = s.directors.dir2!.masterDownIntervalMs;
    assert.ok(gapMs <= mdi + 100, `the lab's failover gap ${gapMs} ms is within Master_Down_Interval ${mdi} + 100 ms`);

    // The summary table: per-act rows add up to the total row. Columns: requests, failed, rs1, rs2, rs3.
    const n = (x: string) => Number(x.replace(/,/g, ''));
    const rows = out.split('\n').filter((l) => /^\s+[1-5]  \S/.test(l) || /^\s+total\s/.test(l)).map((l) => l.trim().split(/\s+/).slice(-5).map(n));
    assert.equal(rows.length, 6, `five acts and a total:\n${rows.join('\n')}`);
    const total = rows[5]!;
    for (let col = 0; col < 5; col++) {
      assert.equal(rows.slice(0, 5).reduce((a, r) => a + r[col]!, 0), total[col], `column ${col} adds up`);
    }
    const [sent, failed, rs1, rs2, rs3] = total as [number, number, number, number, number];
    assert.equal(sent - failed, rs1 + rs2 + rs3, 'every answered request has a real server');
    assert.ok(rows[0]!.slice(2).every((c) => c > 50), `act 1 is balanced: ${rows[0]!.join(' ')}`);
    assert.ok(rows[1]![3]! < rows[1]![2]! / 2, `rs2 gets much less while it fails its check: ${rows[1]!.join(' ')}`);
    assert.ok(failed >= gapMs / 10 - 5 && failed <= gapMs / 10 + 10, `failed requests ≈ the gap at one request per 10 ms: ${failed} for ${gapMs} ms`);
    // The hand-back loses only the connections open through dir2 at that instant (no connection sync).
    const lost = /(\d+) request\(s\) open at the hand-back failed/.exec(out);
    const lostN = lost ? Number(lost[1]) : 0;
    assert.ok(lostN <= 3, `at most the connections open at the hand-back fail: ${lostN}`);
    assert.equal(rows[4]![1], lostN, `every failure of act 5 is one of the hand-back's: ${rows[4]!.join(' ')}`);

    assert.ok(recorded.filter((p) => p.program === 'lvsd.js').length >= 3 && recorded.filter((p) => p.program === 'real-server.js').length === 3,
      `the lab recorded every process it started: ${JSON.stringify(recorded)}`);
    for (const p of recorded) assert.ok(!runs(p.pid, p.program), `recorded ${p.program} (pid ${p.pid}) no longer runs`);
    assert.deepEqual(left, { namespaces: [], processes: [], stateDir: false }, 'nothing left behind');
    t.diagnostic(`E2E_MEASURE lab ${JSON.stringify({ failoverGapMs: gapMs, unanswered: Number(gap[2]), sent, failed, handbackLost: lostN })}`);
  } finally {
    await scrub(ids);
  }
});
