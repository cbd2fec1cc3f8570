import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckerRunner, WATCHDOG_SLACK_MS, attemptBoundMs } from '../../../src/check/runner.js';
import type { CheckOutcome } from '../../../src/check/outcome.js';
import type { Probe } from '../../../src/check/probe.js';
import { ManualClock } from '../../../src/lib/clock.js';
import { httpChecker, miscChecker, tcpChecker, url } from './fixtures.js';
import { OK, advance } from './probe-double.js';

test('attemptBoundMs: connect_timeout (TCP), one connect_timeout per url (HTTP), misc_timeout (MISC)', () => {
  assert.equal(attemptBoundMs(tcpChecker('198.18.1.1', 80, { connectTimeoutMs: 700 })), 700);
  assert.equal(attemptBoundMs(httpChecker('198.18.1.1', 80, [url('/a'), url('/b'), url('/c')], { connectTimeoutMs: 700 })), 2100);
  assert.equal(attemptBoundMs(miscChecker('198.18.1.1', 80, '/bin/x', {}, { timeoutMs: 4000 })), 4000);
});

test('a probe that never settles cannot freeze its checker: the watchdog ends the attempt, a late result is dropped', async () => {
  const clock = new ManualClock(0);
  const c = miscChecker('198.18.1.1', 80, '/bin/hang', { delayLoopMs: 1000, retry: 0 }, { timeoutMs: 500 });
  const pending: Array<(o: CheckOutcome) => void> = [];
  let calls = 0;
  const probe: Probe = {
    run: () => {
      calls++;
      // the first attempt never settles by itself; later ones pass at once
      return calls === 1 ? new Promise<CheckOutcome>((r) => pending.push(r)) : Promise.resolve(OK);
    },
    update: () => undefined,
    close: () => undefined,
  };
  const changes: CheckOutcome[] = [];
  const r = new CheckerRunner({
    checker: c, clock, probe, startUp: true,
    hooks: { onChange: (_r, e) => changes.push(e.outcome), onResult: () => undefined },
  });
  r.start(0);
  await advance(clock, 500 + WATCHDOG_SLACK_MS - 10);
  assert.equal(r.state.running, true, 'still waiting inside the bound');
  clock.advance(20); // the watchdog fires (and, the hung check being overdue, the next check starts)
  assert.equal(r.state.attempts, 1, 'the watchdog ended the attempt');
  assert.equal(r.state.up, false);
  assert.equal(r.state.last?.reason, 'script_timeout');
  assert.match(r.state.last?.detail ?? '', /watchdog/);
  assert.deepEqual(changes.map((o) => o.reason), ['script_timeout']);
  // the checker goes on: the next check runs (at once: the hung one took longer than delay_loop) and passes
  await advance(clock, 50);
  assert.equal(calls, 2);
  assert.equal(r.state.up, true);
  // the hung attempt settling now changes nothing
  pending[0]!({ ok: false, reason: 'script_exit', detail: 'exit 1', latencyMs: 9000 });
  await advance(clock, 10);
  assert.equal(r.state.up, true);
  assert.equal(r.state.attempts, 2);
  r.stop();
  assert.equal(clock.armed, 0, 'stop cancels the check timer and the watchdog');
});
