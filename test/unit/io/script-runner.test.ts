import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildScriptRunner } from '../../../src/io/script-runner.js';
import { splitCommandLine } from '../../../src/lib/argv.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cmd = (line: string) => ({ line, argv: splitCommandLine(line) });

test('splitCommandLine keeps quoted words whole', () => {
  assert.deepEqual(splitCommandLine(`/bin/echo "a b" 'c d' e\\ f  g`), ['/bin/echo', 'a b', 'c d', 'e f', 'g']);
  assert.deepEqual(splitCommandLine(''), []);
});

test('script runner reports exit code, output and extra args', async () => {
  const r = await new ChildScriptRunner().run(cmd(`/bin/sh -c 'echo "$0 $1"; exit 3'`), { timeoutMs: 5000, extraArgs: ['INSTANCE', 'VI_1'] });
  assert.equal(r.exitCode, 3);
  assert.equal(r.output.trim(), 'INSTANCE VI_1');
  assert.equal(r.timedOut, false);
  assert.equal(r.spawnError, null);
});

test('script runner kills a script that overruns its timeout, with its children', async () => {
  const r = await new ChildScriptRunner().run(cmd(`/bin/sh -c 'sleep 30 & sleep 30'`), { timeoutMs: 100 });
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGTERM');
  assert.ok(r.durationMs < 2000);
});

test('script runner reports a missing program without throwing', async () => {
  const r = await new ChildScriptRunner().run(cmd('/nonexistent/script arg'), { timeoutMs: 1000 });
  assert.equal(r.spawnError, 'ENOENT');
});

test('a script that exits while a background child holds its output pipe has finished: settled at exit, not at pipe close (B2)', async () => {
  const runner = new ChildScriptRunner();
  // keepalived waits on the script's pid; a background `sleep` that inherited stdout must not make it a timeout
  const t0 = performance.now();
  const r = await runner.run(cmd(`/bin/sh -c 'echo started; sleep 3 & exit 0'`), { timeoutMs: 500 });
  const took = performance.now() - t0;
  assert.equal(r.timedOut, false);
  assert.equal(r.exitCode, 0);
  assert.equal(r.signal, null);
  assert.equal(r.output.trim(), 'started');
  assert.ok(took < 400, `settled ${took.toFixed(0)} ms after start`);
  // a grandchild in its own session (beyond any process group kill) does not hold the caller either
  const t1 = performance.now();
  const s = await runner.run(cmd(`/bin/sh -c 'setsid sleep 4 & exit 3'`), { timeoutMs: 10_000 });
  assert.deepEqual([s.exitCode, s.timedOut], [3, false]);
  assert.ok(performance.now() - t1 < 1000, `settled ${(performance.now() - t1).toFixed(0)} ms after start`);
});

test('a timed-out script: SIGTERM to its group, then its children are killed too once it is gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvt-sr-'));
  try {
    const pidFile = join(dir, 'child.pid');
    const script = join(dir, 'script.sh');
    // a background child that ignores SIGTERM would outlive the script without the group SIGKILL
    writeFileSync(script, `#!/bin/sh\n(trap '' TERM; echo $(exec sh -c 'echo $PPID') > ${pidFile}; exec sleep 30) &\nwait\n`, { mode: 0o755 });
    const r = await new ChildScriptRunner().run(cmd(script), { timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    await new Promise((res) => setTimeout(res, 100));
    // gone, or a zombie waiting for a reaper: either way no longer running
    let state = 'gone';
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0]!;
    } catch {
      /* gone */
    }
    assert.ok(state === 'gone' || state === 'Z', `child ${pid} ignored SIGTERM and is still running (state ${state})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
