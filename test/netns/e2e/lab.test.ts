/**
 * `npm run lab` as a new user runs it (bin/lab.js → dist/), end to end: it exits 0, tells
 * all five acts, its summary adds up, the failover gap it measured is within
 * Master_Down_Interval + 100 ms, and it leaves no namespace, process or file behind. It runs
 * with a per-run namespace prefix and state directory (LVSD_LAB_PREFIX, LVSD_LAB_DIR) so it
 * never meets a lab a person kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { canUseNetns, run } from '../../../src/lab/topology.js';
import { PACKAGE_ROOT } from '../../../src/lab/paths.js';
import { masterDownIntervalMs } from '../../../src/vrrp/machine.js';

const skip = !canUseNetns() && 'needs root and iproute2';

test('npm run lab: five acts, a summary that adds up, a failover gap within bound, nothing left behind', { skip, timeout: 150_000 }, async (t) => {
  const tag = randomBytes(3).toString('hex');
  const prefix = `lvt-e2elab-${tag}-`;
  const stateDir = `/tmp/lvt-e2elab-${tag}`;
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'lab.js')], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, LVSD_LAB_PREFIX: prefix, LVSD_LAB_DIR: stateDir, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const left = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(prefix));

  assert.equal(code, 0, out);
  for (const act of ['Act 1 · Traffic, balanced', 'Act 2 · rs2 fails its health check', 'Act 3 · rs2 recovers', 'Act 4 · The MASTER dies', 'Act 5 · dir1 returns', 'Summary']) {
    assert.ok(out.includes(act), `the lab tells "${act}"`);
  }
  for (const line of ['sync group LAB -> MASTER (master_down_timer)', 'real 198.18.1.12:80 DOWN', 'real 198.18.1.12:80 UP', 'sync group LAB -> MASTER (preempt)']) {
    assert.ok(out.includes(line), `the directors' log lines stream through: ${line}`);
  }
  const gap = /failover gap when dir1 was killed: (\d[\d,]*) ms \((\d+) requests unanswered/.exec(out);
  assert.ok(gap, out);
  const gapMs = Number(gap[1]!.replace(/,/g, ''));
  const mdi = masterDownIntervalMs(3, 100, 200);
  assert.ok(gapMs <= mdi + 100, `the lab's failover gap ${gapMs} ms is within Master_Down_Interval ${mdi} + 100 ms`);

  // The summary table: per-act rows add up to the total row. Columns: requests, failed, rs1, rs2, rs3.
  const n = (s: string) => Number(s.replace(/,/g, ''));
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

  assert.deepEqual(left, [], 'no namespace left behind');
  assert.ok(!existsSync(stateDir), 'no state directory left behind');
  t.diagnostic(`E2E_MEASURE lab ${JSON.stringify({ failoverGapMs: gapMs, unanswered: Number(gap[2]), sent, failed })}`);
});
