import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLvsadmArgs } from '../../../src/cli/lvsadm.js';

const p = (s: string) => parseLvsadmArgs(s ? s.split(' ') : [], {});

test('lvsadm parses its commands and ipvsadm-style listing flags', () => {
  assert.deepEqual(p('status'), { control: '/run/lvsd/lvsd.sock', json: false, cmd: 'status', args: {}, view: 'status' });
  assert.equal(p('--control /tmp/x.sock --json vrrp').control, '/tmp/x.sock');
  assert.equal(p('--control=/tmp/y.sock checks').control, '/tmp/y.sock');
  assert.equal(p('--json vrrp').json, true);
  const l = p('-L -n --stats');
  assert.equal(l.cmd, 'lvs');
  assert.deepEqual(l.args, { action: 'list', zero: false, numeric: true, stats: true, rate: false, thresholds: false, persistentConn: false, timeout: false, connections: false, exact: false });
  assert.equal(p('-L -n --thresholds').args.thresholds, true);
  assert.equal(p('-L -n --persistent-conn').args.persistentConn, true);
  assert.equal(p('-L -n --persistent-conn').view, 'list');
  assert.equal(p('-Ln').args.numeric, true);
  assert.equal(p('-lnc').view, 'connections');
  assert.equal(p('-L --timeout').view, 'timeout');
  assert.deepEqual(p('-Z').args, { action: 'zero' });
  assert.deepEqual(p('trace tcp 198.18.0.100:40000 198.18.0.10:80').args, { proto: 'tcp', client: '198.18.0.100:40000', vip: '198.18.0.10:80' });
  assert.equal(p('').cmd, 'help');
});

test('lvsadm rejects bad usage with ERR_LVSADM_USAGE', () => {
  for (const bad of ['frobnicate', 'status extra', 'trace sctp a b', 'trace tcp a', '-L --bogus', '-Lq', '--control', '-L --stats --rate', '-L --thresholds --persistent-conn']) {
    assert.throws(() => p(bad), (e: { code: string }) => e.code === 'ERR_LVSADM_USAGE', bad);
  }
});

test('lvsadm checks takes an optional SERVICE, as the control command does; a bad one is ERR_LVSADM_USAGE', () => {
  assert.deepEqual(p('checks'), { control: '/run/lvsd/lvsd.sock', json: false, cmd: 'checks', args: {}, view: 'checks' });
  for (const key of ['tcp:198.18.0.10:80', 'udp:[2001:db8::10]:53', 'fwmark:7', 'group:tcp:web']) {
    assert.deepEqual(p(`checks ${key}`).args, { service: key }, key);
  }
  assert.deepEqual(p('--json checks tcp:198.18.0.10:80').json, true);
  for (const bad of ['checks 198.18.0.10:80', 'checks tcp:198.18.0.10', 'checks sctp:198.18.0.10:80', 'checks fwmark:x', 'checks tcp:198.18.0.10:80 extra']) {
    assert.throws(() => p(bad), (e: { code: string }) => e.code === 'ERR_LVSADM_USAGE', bad);
  }
});
