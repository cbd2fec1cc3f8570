/**
 * A real server dies under load (its process SIGKILLed: the port closes, the kernel answers
 * RST): requests to it fail until the HTTP_GET check notices; once real.down is logged, no
 * request fails and none goes to the dead server. The BACKUP notices too (its checks keep
 * running), so a takeover would start with the same health.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns } from '../../../src/lab/topology.js';
import { tally } from '../../../src/lab/probe.js';
import { LAB, Pair, sleep } from './lib/pair.js';
import { startLoad } from './lib/load.js';

const skip = !canUseNetns() && 'needs root and iproute2';
let pair: Pair;

before(async () => {
  if (!skip) pair = await Pair.start({ config: 'shipped' });
});
after(async () => {
  await pair?.cleanup();
});

test('a real server killed under load: no request fails once real.down is logged', { skip }, async (t) => {
  const rs2 = pair.reals.get('rs2')!;
  const realKey = `${rs2.real.address}:${LAB.port}`;
  const load = await startLoad(pair.topo, { durationS: 9, connections: 8, newConnections: true, threads: 1 });
  const probe = await pair.probe();
  await sleep(2000);
  const killAt = Date.now();
  await pair.topo.kill(rs2.child, 'SIGKILL');
  const down = await pair.d('dir1').waitEvent((e) => e.event === 'real.down' && e.real === realKey && e.t >= killAt, 10_000, 'rs2 down on dir1');
  await pair.d('dir2').waitEvent((e) => e.event === 'real.down' && e.real === realKey && e.t >= killAt, 10_000, 'rs2 down on dir2 (BACKUP)');
  await sleep(3000);
  const records = await probe.stop();
  const loadResult = await load.done();

  // The check subsystem logs real.down, then the health reaches the forwarding worker
  // thread by message: a request sent in that instant may still be scheduled to the dead
  // server. PROPAGATION_MS bounds that instant; the measured last failure is reported.
  const PROPAGATION_MS = 5;
  const before = tally(records, killAt, down.t);
  const afterDetect = tally(records, down.t + PROPAGATION_MS);
  const lastFailure = records.filter((r) => r.rs === undefined).reduce((m, r) => Math.max(m, r.sent), 0);
  t.diagnostic(`E2E_MEASURE real-down ${JSON.stringify({
    detectedAfterKillMs: down.t - killAt, reason: down.reason, detail: down.detail,
    failedBeforeDetection: before.failed, failureReasons: before.reasons,
    requestsAfterDetection: afterDetect.sent, failedAfterDetection: afterDetect.failed,
    lastFailureRelativeToDetectionMs: lastFailure ? Math.round(lastFailure - down.t) : null,
    load: { tool: loadResult.tool, requests: loadResult.requests, errors: loadResult.errors, rps: loadResult.requestsPerS },
  })}`);

  assert.equal(down.reason, 'refused', 'a closed port is refused');
  assert.ok(afterDetect.sent > 200, `traffic kept flowing after detection (${afterDetect.sent})`);
  assert.equal(afterDetect.failed, 0, `requests sent more than ${PROPAGATION_MS} ms after real.down failed: ${JSON.stringify(afterDetect.reasons)}`);
  assert.equal(afterDetect.perReal.rs2 ?? 0, 0, 'nothing answered by the dead server after detection');
  assert.ok((afterDetect.perReal.rs1 ?? 0) > 50 && (afterDetect.perReal.rs3 ?? 0) > 50, JSON.stringify(afterDetect.perReal));
  assert.ok(loadResult.requests > 1000, `the load ran (${loadResult.requests} requests)`);
});
