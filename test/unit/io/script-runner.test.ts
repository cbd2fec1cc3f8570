import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildScriptRunner } from '../../../src/io/script-runner.js';
import { splitCommandLine } from '../../../src/lib/argv.js';

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
