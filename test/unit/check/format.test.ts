import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatChecks, shortDuration } from '../../../src/cli/format/checks.js';
import type { ChecksReport } from '../../../src/check/report.js';

const report: ChecksReport = {
  services: [
    {
      service: 'tcp:198.18.0.10:80',
      quorumUp: false,
      aliveWeight: 1,
      quorum: 2,
      hysteresis: 1,
      sorryServer: '198.18.0.99:8080',
      suspended: false,
      reals: [
        {
          real: '198.18.1.1:80', up: true, weight: 1, configuredWeight: 1, inPool: true, inhibitOnFailure: false, sinceMs: 185_000,
          checkers: [
            { checker: 'tcp:198.18.1.1:80#0', kind: 'tcp', target: '198.18.1.1:80', up: true, pending: false, suspended: false, lastOk: true, reason: 'ok', detail: '', latencyMs: 0.4, lastAgoMs: 300, sinceMs: 185_000, consecutiveOk: 120, consecutiveFail: 0, retries: 0, attempts: 121, failures: 1 },
          ],
        },
        {
          real: '198.18.1.2:80', up: false, weight: 0, configuredWeight: 3, inPool: true, inhibitOnFailure: true, sinceMs: 12_300,
          checkers: [
            { checker: 'http:198.18.1.2:80#0', kind: 'http', target: '198.18.1.2:80', up: false, pending: false, suspended: false, lastOk: false, reason: 'status', detail: 'status 503', latencyMs: 1.2, lastAgoMs: 800, sinceMs: 12_300, consecutiveOk: 0, consecutiveFail: 4, retries: 0, attempts: 30, failures: 4 },
            { checker: 'misc:198.18.1.2:80#1', kind: 'misc', target: '198.18.1.2:80', up: true, pending: true, suspended: false, lastOk: null, reason: null, detail: '', latencyMs: null, lastAgoMs: null, sinceMs: 12_300, consecutiveOk: 0, consecutiveFail: 0, retries: 0, attempts: 0, failures: 0 },
          ],
        },
      ],
    },
  ],
};

test('formatChecks: quorum line, one row per checker, reason and detail, counts', () => {
  const text = formatChecks(report);
  const lines = text.split('\n');
  assert.equal(lines[0], 'tcp:198.18.0.10:80  quorum LOST (alive weight 1, quorum 2±1)  sorry server 198.18.0.99:8080 in service');
  assert.match(lines[1]!, /^ {2}REAL\s+STATE\s+WEIGHT\s+SINCE\s+CHECKER\s+CHECK\s+LAST RESULT\s+LATENCY\s+OK\s+FAIL\s+LAST$/);
  assert.match(lines[2]!, /^ {2}198\.18\.1\.1:80\s+UP\s+1\s+3m5s\s+tcp:198\.18\.1\.1:80#0\s+up\s+ok\s+0\.4ms\s+120\s+0\s+300ms ago$/);
  assert.match(lines[3]!, /198\.18\.1\.2:80\s+DOWN\(inhibited\)\s+0\s+12s\s+http:198\.18\.1\.2:80#0\s+down\s+status: status 503\s+1\.2ms\s+0\s+4\s+800ms ago/);
  assert.match(lines[4]!, /^\s+misc:198\.18\.1\.2:80#1\s+up\?\s+pending\s+-\s+0\s+0\s+-$/);
  // columns line up: every checker name starts at the same offset
  const col = lines[2]!.indexOf('tcp:198');
  assert.equal(lines[3]!.indexOf('http:198'), col);
  assert.equal(lines[4]!.indexOf('misc:198'), col);
});

test('formatChecks with no services', () => {
  assert.equal(formatChecks({ services: [] }), 'no virtual servers');
});

test('shortDuration', () => {
  assert.equal(shortDuration(950), '950ms');
  assert.equal(shortDuration(1500), '1.5s');
  assert.equal(shortDuration(12_300), '12s');
  assert.equal(shortDuration(185_000), '3m5s');
  assert.equal(shortDuration(7_500_000), '2h5m');
  assert.equal(shortDuration(3 * 86_400_000), '3d0h');
});
