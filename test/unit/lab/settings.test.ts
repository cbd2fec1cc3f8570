/**
 * The shipped config/lab/*.conf: they load with lvsd's own loader and pass `lvsd --test`
 * with no error and no warning (they are the files a user copies); the lab's settings are
 * derived from them (the story's narration and the end-to-end tests' bounds use these), the
 * detection bound agrees with the check state machine, and an edit that breaks what the lab
 * relies on is refused clearly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../../src/config/load.js';
import { formatDiagnostic } from '../../../src/lib/errors.js';
import { LAB_CONFIG_DIR, PACKAGE_ROOT } from '../../../src/lab/paths.js';
import { LAB } from '../../../src/lab/network.js';
import { detectionBoundMs, loadLabSettings } from '../../../src/lab/settings.js';
import { initialCheckerState, retryRuleOf, stepChecker, type CheckerInput, type CheckerState } from '../../../src/check/machine.js';
import { failed, passed } from '../../../src/check/outcome.js';
import { masterDownIntervalMs, skewMs } from '../../../src/vrrp/machine.js';
import type { CheckTiming } from '../../../src/model/types.js';

const files = LAB.directors.map((d) => join(LAB_CONFIG_DIR, `${d.name}.conf`));

test('config/lab/*.conf load with no error and no warning', () => {
  for (const f of files) {
    const r = loadConfigFile(f);
    assert.ok(r.ok, `${f}:\n${r.ok ? '' : r.diagnostics.map(formatDiagnostic).join('\n')}`);
    assert.deepEqual(r.warnings.map(formatDiagnostic), [], `${f} loads without warnings`);
    assert.deepEqual(r.files, [f]);
  }
});

test('`lvsd --test -f config/lab/dirN.conf` (the CLI entry) accepts them: exit 0, no warning', () => {
  const entry = `import { lvsdMain } from ${JSON.stringify(join(PACKAGE_ROOT, 'src', 'cli', 'lvsd.ts'))}; process.exit(await lvsdMain(process.argv.slice(1)));`;
  for (const f of files) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', entry, '--', '--test', '-f', f], { cwd: PACKAGE_ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `lvsd --test -f ${f}: exit ${r.status}\n${r.stderr}`);
    assert.equal(r.stderr.trim(), `${f}: configuration OK (1 file(s), 0 warning(s))`, r.stderr);
  }
});

test('the lab settings come from the files: roles, VRRP timing, check timing', () => {
  const s = loadLabSettings();
  const m1 = loadConfigFile(files[0]!);
  const m2 = loadConfigFile(files[1]!);
  assert.ok(m1.ok && m2.ok);
  const f1 = m1.model.instances[s.frontInstance]!;
  const f2 = m2.model.instances[s.frontInstance]!;
  assert.ok(f1.vips.some((v) => v.address === LAB.vip));
  assert.ok(m1.model.instances[s.backInstance]!.vips.some((v) => v.address === LAB.gatewayVip));
  assert.equal(s.advertIntMs, f1.advertIntervalMs);
  assert.equal(s.vrrpVersion, f1.version);
  assert.equal(s.directors.dir1!.priority, f1.priority);
  assert.equal(s.directors.dir2!.priority, f2.priority);
  assert.ok(s.directors.dir1!.priority > s.directors.dir2!.priority, 'dir1 is the preferred MASTER');
  assert.equal(s.directors.dir2!.masterDownIntervalMs, masterDownIntervalMs(f2.version, f2.priority, f2.advertIntervalMs));
  assert.equal(s.directors.dir2!.skewMs, skewMs(f2.version, f2.priority, f2.advertIntervalMs));
  assert.equal(s.syncGroup, f1.syncGroup);
  assert.equal(s.preemptDelayMs, f1.preemptDelayMs);
  const rs = Object.values(m1.model.virtualServers[s.service.key]!.realServers);
  assert.equal(rs.length, LAB.reals.length);
  for (const r of rs) assert.deepEqual(r.checkers[0]!.timing, s.check);
  assert.deepEqual(s.detection, { failingAnswerMs: detectionBoundMs(s.check, 0), noAnswerMs: detectionBoundMs(s.check, s.check.connectTimeoutMs) });
});

/**
 * Runs one checker of timing t (an up server, checked since time 0) against a server that
 * answers until failAt and then fails every attempt, each failed attempt taking attemptMs;
 * returns when the machine declared it down (time of the transition).
 */
function detectAt(t: CheckTiming, failAt: number, attemptMs: number, okLatencyMs = 2): number {
  let s: CheckerState = initialCheckerState(true, 0);
  let now = 0;
  let due: number | null = null;
  let result: { at: number; ok: boolean } | null = null;
  const apply = (input: CheckerInput): number | null => {
    const step = stepChecker(t, retryRuleOf('http'), s, input); // the lab checks by HTTP_GET
    s = step.state;
    for (const e of step.effects) {
      if (e.kind === 'arm') due = now + e.delayMs;
      else if (e.kind === 'disarm') due = null;
      else if (e.kind === 'probe') result = now < failAt ? { at: now + okLatencyMs, ok: true } : { at: now + attemptMs, ok: false };
      else if (e.kind === 'transition' && !e.up) return now;
    }
    return null;
  };
  apply({ kind: 'start', now: 0, delayMs: 0 });
  for (let i = 0; i < 10_000; i++) {
    const r = result as { at: number; ok: boolean } | null;
    if (r && (due === null || r.at <= due)) {
      now = r.at;
      result = null;
      const down = apply({ kind: 'result', now, outcome: r.ok ? passed(okLatencyMs) : failed(attemptMs ? 'timeout' : 'status', attemptMs ? 'timeout' : 'status 503', attemptMs) });
      if (down !== null) return down;
    } else if (due !== null) {
      now = due;
      due = null;
      apply({ kind: 'due', now });
    } else {
      throw new Error('checker stalled');
    }
  }
  throw new Error('not detected');
}

test('detectionBoundMs is the check machine\'s worst case (503 / refused, and a dead host)', () => {
  const t = loadLabSettings().check;
  const timings: CheckTiming[] = [t, { ...t, retry: 0 }, { ...t, retry: 3, delayBeforeRetryMs: 200 }, { ...t, fall: 2 }, { ...t, fall: 3, connectTimeoutMs: 2500 }];
  for (const timing of timings) {
    for (const attemptMs of [0, timing.connectTimeoutMs]) {
      let worst = 0;
      // Failures starting at every 5 ms over two check periods (after the first check passed).
      for (let f = 10; f < 10 + 2 * timing.delayLoopMs; f += 5) worst = Math.max(worst, detectAt(timing, f, attemptMs) - f);
      const bound = detectionBoundMs(timing, attemptMs);
      assert.ok(worst <= bound, `${JSON.stringify(timing)} attempt ${attemptMs} ms: detected ${worst} ms after the failure, bound ${bound}`);
      assert.ok(worst >= bound - 10, `the bound is tight: worst ${worst} ms, bound ${bound}`);
    }
  }
  // The shipped files: a 503 within delay_loop + retry × delay_before_retry, a dead host
  // within delay_loop + (retry + 1) × connect_timeout + retry × delay_before_retry.
  assert.equal(detectionBoundMs(t, 0), t.delayLoopMs + t.retry * t.delayBeforeRetryMs);
  assert.equal(detectionBoundMs(t, t.connectTimeoutMs), t.delayLoopMs + (t.retry + 1) * t.connectTimeoutMs + t.retry * t.delayBeforeRetryMs);
});

test('an edit that breaks what the lab relies on is refused, naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvt-labcfg-'));
  try {
    const text = files.map((f) => readFileSync(f, 'utf8'));
    const write = (a: string, b: string) => {
      writeFileSync(join(dir, 'dir1.conf'), a);
      writeFileSync(join(dir, 'dir2.conf'), b);
    };
    write(text[0]!, text[1]!);
    assert.equal(loadLabSettings(dir).advertIntMs, loadLabSettings().advertIntMs, 'a copy reads the same');
    write(text[0]!, text[1]!.replace(/advert_int 0\.2/g, 'advert_int 1'));
    assert.throws(() => loadLabSettings(dir), /dir2\.conf: advert_int or vrrp_version differs/);
    write(text[0]!, text[1]!.replace('advert_int 0.2', 'advert_int 0.3'));
    assert.throws(() => loadLabSettings(dir), /dir2\.conf: VI_\w+ has another advert_int/);
    write(text[0]!.replace('delay_before_retry 0.5', 'delay_before_retry 2'), text[1]!);
    assert.throws(() => loadLabSettings(dir), /dir1\.conf: real_server 198\.18\.1\.1\d:80 has another check timing/);
    write(text[0]!.replace('lvs_sched rr', 'lvs_sched roundrobin'), text[1]!);
    assert.throws(() => loadLabSettings(dir), /dir1\.conf: the lab's config does not load:\n.*dir1\.conf:\d+:\d+: .*lvs_sched/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
