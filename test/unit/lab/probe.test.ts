/** The lab's arithmetic over what the probing client recorded, and its argument parsing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longestFailedRun, serviceBackAfterMs, tally, type RequestRecord } from '../../../src/lab/probe.js';
import { parseClientArgs } from '../../../src/lab/http-client.js';
import { parseRealServerArgs } from '../../../src/lab/real-server.js';
import { handbackFailures } from '../../../src/lab/story.js';

/** One request every 10 ms from t=1000; `pattern` letters: a/b/c answered by rsA/B/C, x failed. */
function records(pattern: string): RequestRecord[] {
  return [...pattern].map((c, seq) => (c === 'x'
    ? { seq, sent: 1000 + seq * 10, ms: 800, err: 'timeout' }
    : { seq, sent: 1000 + seq * 10, ms: 2, rs: `rs${c.toUpperCase()}` }));
}

test('tally counts requests by send time, answers per real server, failures per reason', () => {
  const r = records('abcxxabc');
  assert.deepEqual(tally(r), { sent: 8, ok: 6, failed: 2, perReal: { rsA: 2, rsB: 2, rsC: 2 }, reasons: { timeout: 2 } });
  assert.deepEqual(tally(r, 1030, 1050), { sent: 2, ok: 0, failed: 2, perReal: {}, reasons: { timeout: 2 } });
  assert.equal(tally([]).sent, 0);
});

test('longestFailedRun: the longest run, measured from its first failure to the next answer (send times)', () => {
  const run = longestFailedRun(records('aaxaxxxxaaxxa'))!;
  assert.equal(run.count, 4);
  assert.equal(run.firstFailedMs, 1040);
  assert.equal(run.firstOkAfterMs, 1080);
  assert.equal(run.lastOkBeforeMs, 1030);
  assert.equal(run.gapMs, 40);
  assert.equal(longestFailedRun(records('aaaa')), null);
  const open = longestFailedRun(records('aaxx'))!;
  assert.equal(open.firstOkAfterMs, null, 'a run still going at the end has no answer after it');
  assert.equal(open.count, 2);
  assert.equal(longestFailedRun(records('xxaaxxx'), 1020)!.count, 3, 'only requests sent in the window');
});

test('serviceBackAfterMs: completion of the first answered request sent after the event', () => {
  const r = records('aaxxxaa');
  assert.equal(serviceBackAfterMs(r, 1015), 1050 + 2 - 1015);
  assert.equal(serviceBackAfterMs(r, 2000), null);
  // A slow early success does not hide a faster later one: the earliest completion wins.
  const slow: RequestRecord[] = [{ seq: 0, sent: 1001, ms: 900, rs: 'rsA' }, { seq: 1, sent: 1500, ms: 3, rs: 'rsB' }];
  assert.equal(serviceBackAfterMs(slow, 1000), 503);
});

test('client and real server arguments', () => {
  assert.deepEqual(parseClientArgs(['--target', '198.18.0.10:80']), { host: '198.18.0.10', port: 80, intervalMs: 10, timeoutMs: 800, durationMs: null, path: '/' });
  assert.equal(parseClientArgs(['--target', '198.18.0.10:8080', '--interval-ms', '2', '--duration-ms', '500']).durationMs, 500);
  assert.throws(() => parseClientArgs([]), /usage/);
  assert.throws(() => parseClientArgs(['--target', '198.18.0.10:80', '--interval-ms', '0']), /positive/);
  assert.deepEqual(parseRealServerArgs(['--name', 'rs1', '--listen', '198.18.1.11:80']), { name: 'rs1', address: '198.18.1.11', port: 80, failFile: null });
  assert.throws(() => parseRealServerArgs(['--name', 'rs1', '--listen', '198.18.1.11']), /ADDR:PORT/);
});

test('handbackFailures: the failed requests sent from one client timeout before to 100 ms after the takeover', () => {
  const at = 10_000;
  const r: RequestRecord[] = [
    { seq: 0, sent: at - 801, ms: 800, err: 'timeout' }, // failed before the window: not the hand-back's
    { seq: 1, sent: at - 800, ms: 800, err: 'timeout', stage: 'connected' },
    { seq: 2, sent: at - 5, ms: 3, rs: 'rs1' },
    { seq: 3, sent: at + 7, ms: 6, err: 'reset', stage: 'connected', port: 40000 },
    { seq: 4, sent: at + 99, ms: 800, err: 'timeout', stage: 'syn' },
    { seq: 5, sent: at + 100, ms: 800, err: 'timeout' }, // after the window
  ];
  assert.deepEqual(handbackFailures(r, at).map((x) => x.seq), [1, 3, 4]);
  assert.deepEqual(handbackFailures([], at), []);
});
