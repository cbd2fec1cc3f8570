import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveWeight, initialQuorum, nextQuorum, realAlive } from '../../../src/check/quorum.js';
import { miscOutcome } from '../../../src/check/misc-probe.js';
import { reasonOfError } from '../../../src/check/outcome.js';
import { hostHeader, statusAccepted } from '../../../src/check/http-probe.js';
import { scriptResult } from '../../../src/io/doubles.js';
import { httpChecker, url } from './fixtures.js';

test('a real server is alive only when every checker is up; no checker = alive', () => {
  assert.equal(realAlive([true, true]), true);
  assert.equal(realAlive([true, false]), false);
  assert.equal(realAlive([]), true);
});

test('effective weight: misc_dynamic weight wins over the configured one', () => {
  assert.equal(effectiveWeight(5, null), 5);
  assert.equal(effectiveWeight(5, 0), 0);
  assert.equal(effectiveWeight(5, 12), 12);
});

// ipwrapper.c update_quorum_state: lost below quorum − hysteresis (or at 0), gained at ≥ quorum + hysteresis.
const quorumRows: Array<[wasUp: boolean, alive: number, quorum: number, hyst: number, expect: boolean]> = [
  [true, 5, 5, 0, true],
  [true, 4, 5, 0, false],
  [false, 5, 5, 0, true],
  [false, 4, 5, 0, false],
  [true, 3, 5, 2, true], // 3 ≥ 5−2: stays up
  [true, 2, 5, 2, false], // 2 < 3: lost
  [false, 6, 5, 2, false], // 6 < 7: stays down
  [false, 7, 5, 2, true], // 7 ≥ 7: gained
  [true, 0, 1, 5, false], // threshold ≤ 0, but 0 alive weight always loses (the `!weight_sum` case)
  [false, 0, 0, 0, true], // quorum 0 with nothing alive: gained (keepalived does the same)
];
for (const [wasUp, alive, q, h, expect] of quorumRows) {
  test(`quorum ${q}±${h}, was ${wasUp ? 'up' : 'down'}, alive weight ${alive} → ${expect ? 'up' : 'down'}`, () => {
    assert.equal(nextQuorum(wasUp, alive, q, h), expect);
  });
}

test('initial quorum needs quorum + hysteresis (ipwrapper.c set_quorum_states)', () => {
  assert.equal(initialQuorum(6, 5, 1), true);
  assert.equal(initialQuorum(5, 5, 1), false);
});

// check_misc.c: exit 0 up; misc_dynamic 2..255 up with weight exit−2; anything else down.
const miscRows: Array<[name: string, r: Parameters<typeof scriptResult>[0], dynamic: boolean, ok: boolean, reason: string, detail: string, weight?: number]> = [
  ['exit 0', { exitCode: 0 }, false, true, 'ok', ''],
  ['exit 0 dynamic keeps weight', { exitCode: 0 }, true, true, 'ok', ''],
  ['exit 1', { exitCode: 1 }, false, false, 'script_exit', 'exit 1'],
  ['exit 1 dynamic', { exitCode: 1 }, true, false, 'script_exit', 'exit 1'],
  ['exit 2 not dynamic', { exitCode: 2 }, false, false, 'script_exit', 'exit 2'],
  ['exit 2 dynamic → weight 0', { exitCode: 2 }, true, true, 'ok', 'exit 2', 0],
  ['exit 12 dynamic → weight 10', { exitCode: 12 }, true, true, 'ok', 'exit 12', 10],
  ['exit 255 dynamic → weight 253', { exitCode: 255 }, true, true, 'ok', 'exit 255', 253],
  ['signal', { exitCode: null, signal: 'SIGSEGV' }, false, false, 'script_signal', 'signal SIGSEGV'],
  ['timeout', { exitCode: null, signal: 'SIGTERM', timedOut: true }, true, false, 'script_timeout', 'killed after timeout (SIGTERM)'],
  ['not found', { exitCode: null, spawnError: 'ENOENT' }, false, false, 'error', 'ENOENT'],
];
for (const [name, r, dynamic, ok, reason, detail, weight] of miscRows) {
  test(`MISC_CHECK outcome: ${name}`, () => {
    const o = miscOutcome(scriptResult(r), dynamic);
    assert.equal(o.ok, ok);
    assert.equal(o.reason, reason);
    assert.equal(o.detail, detail);
    assert.equal(o.weight, weight);
    // the exit status travels with the outcome (real.weight names it), only when the script exited
    assert.equal(o.exitCode, r?.exitCode ?? undefined);
  });
}

const errRows: Array<[err: unknown, reason: string, detail: string]> = [
  [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'refused', 'ECONNREFUSED'],
  [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'reset', 'ECONNRESET'],
  [Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 'reset', 'UND_ERR_SOCKET: other side closed'],
  [Object.assign(new Error('x'), { code: 'EHOSTUNREACH' }), 'unreachable', 'EHOSTUNREACH'],
  [Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'timeout', 'UND_ERR_HEADERS_TIMEOUT'],
  [Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }), 'tls_error', 'ERR_SSL_WRONG_VERSION_NUMBER'],
  [Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET' }), 'reset', 'ECONNRESET'],
  [new Error('something odd'), 'error', 'something odd'],
  ['a string', 'error', 'a string'],
];
for (const [err, reason, detail] of errRows) {
  test(`error → reason: ${detail}`, () => {
    assert.deepEqual(reasonOfError(err), { reason, detail });
  });
}

test('status ranges (keepalived status_code "200-299 301"); none = 200-299', () => {
  const ranges = [{ min: 200, max: 299 }, { min: 301, max: 301 }];
  assert.equal(statusAccepted(204, ranges), true);
  assert.equal(statusAccepted(301, ranges), true);
  assert.equal(statusAccepted(302, ranges), false);
  assert.equal(statusAccepted(503, ranges), false);
  assert.equal(statusAccepted(299, []), true);
  assert.equal(statusAccepted(300, []), false);
});

test('Host header as keepalived sends it: url vhost, checker vhost, else ip:port / [v6]:port', () => {
  const c = httpChecker('198.18.1.10', 8080, [url('/')]);
  assert.equal(hostHeader(c, url('/')), '198.18.1.10:8080');
  assert.equal(hostHeader({ ...c, virtualhost: 'www.example.com' }, url('/')), 'www.example.com');
  assert.equal(hostHeader({ ...c, virtualhost: 'www.example.com' }, url('/', { virtualhost: 'api.example.com' })), 'api.example.com');
  assert.equal(hostHeader({ ...c, connectIp: '2001:db8::10' }, url('/')), '[2001:db8::10]:8080');
});
