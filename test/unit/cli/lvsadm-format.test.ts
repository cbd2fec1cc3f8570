/** lvsadm's text for status, reload and config, and its errors with and without --json. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfig, formatReload, formatStatus } from '../../../src/cli/format/status.js';
import { lvsadmMain } from '../../../src/cli/lvsadm.js';
import { loadConfigText } from '../../../src/config/load.js';

test('status: one line each for the daemon, the config, the last reload, the subsystems and the objects', () => {
  assert.equal(formatStatus({
    version: '1.2.3', pid: 42, uptimeS: 3725, configFile: '/etc/lvsd/lvsd.conf', running: true,
    lastReload: { at: '2026-01-02T03:04:05.000Z', trigger: 'sighup', outcome: 'applied' }, subsystems: ['forward', 'checks'],
    counts: { vrrpInstances: 2, syncGroups: 1, virtualServers: 3, realServers: 7 },
  }), [
    'lvsd 1.2.3, pid 42, up 1h 2m 5s',
    'config:      /etc/lvsd/lvsd.conf',
    'last reload: applied at 2026-01-02T03:04:05.000Z (sighup)',
    'subsystems:  forward, checks',
    'objects:     2 VRRP instance(s), 1 sync group(s), 3 virtual server(s), 7 real server(s)',
  ].join('\n'));
  assert.equal(formatStatus({ version: 'v', pid: 1, uptimeS: 0, configFile: 'f', running: false, lastReload: null, subsystems: [], counts: null }),
    'lvsd v, pid 1, up 0s (stopping)\nconfig:      f\nlast reload: none\nsubsystems:  none');
});

test('reload: the kinds that changed, then the warnings', () => {
  const zero = { added: 0, removed: 0, changed: 0 };
  assert.equal(formatReload({
    changed: true, summary: { global: { ...zero, changed: 1 }, instances: zero, realServers: { added: 1, removed: 2, changed: 0 } },
    warnings: ['a.conf:1:2: warning: x [WARN_SCRIPT_SECURITY]'],
  }), 'config applied (global: +0 -0 ~1, realServers: +1 -2 ~0)\nwarning: a.conf:1:2: warning: x [WARN_SCRIPT_SECURITY]');
  assert.equal(formatReload({ changed: false, summary: { global: zero }, warnings: [] }), 'config applied (no changes)');
});

test('config: where it came from and what lvsd understood, one line per instance and service', () => {
  const r = loadConfigText(`global_defs {
  router_id cfg
  script_user nobody
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  state MASTER
  virtual_ipaddress {
    198.18.0.10/24
  }
}
virtual_server 198.18.0.10 80 {
  protocol TCP
  lvs_method DR
  sorry_server 198.18.2.99 80
  real_server 198.18.0.21 80 {
    weight 2
    TCP_CHECK {
    }
  }
}
`, 'c.conf', 'keepalived', { hostname: 'h', configId: 'h' });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.diagnostics));
  const status = { configFile: '/etc/lvsd/lvsd.conf', lastReload: { at: '2026-01-02T03:04:05.000Z', trigger: 'startup', outcome: 'applied' } };
  assert.equal(formatConfig(status, JSON.parse(JSON.stringify(r.model))), [
    'config file: /etc/lvsd/lvsd.conf',
    'last reload: applied at 2026-01-02T03:04:05.000Z (startup)',
    'router_id:   cfg',
    'scripts:     0 vrrp_script(s), script_user nobody, enable_script_security off',
    'vrrp:        1 instance(s), 0 sync group(s)',
    '  VI_1  eth0 vrid 51 v2 priority 150 start MASTER  vips 198.18.0.10/24',
    'services:    1 virtual server(s), 1 real server(s)',
    '  tcp:198.18.0.10:80  wlc DR quorum 1 sorry 198.18.2.99:80  held by VI_1',
    '    -> 198.18.0.21:80 w2 tcp',
  ].join('\n'));
  assert.equal(formatConfig({ configFile: 'f', lastReload: null }, null), 'config file: f\nlast reload: none\nno config in force');
});

test('errors: text on stderr, or with --json a JSON object on stdout; the exit status says which', async () => {
  const run = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await lvsadmMain(argv, (s) => { out += s + '\n'; }, (s) => { err += s + '\n'; });
    return { code, out, err };
  };
  assert.deepEqual(await run('frobnicate'), { code: 2, out: '', err: 'lvsadm: unknown command "frobnicate" (see lvsadm help)\n' });
  const ju = await run('--json', 'frobnicate');
  assert.equal(ju.code, 2);
  assert.deepEqual(JSON.parse(ju.out), { error: { code: 'ERR_LVSADM_USAGE', message: 'unknown command "frobnicate" (see lvsadm help)' } });
  const path = '/nonexistent/lvt-lvsadm.sock';
  const t = await run('--control', path, 'status');
  assert.equal(t.code, 3);
  assert.equal(t.err, `lvsadm: cannot connect to ${path}: ENOENT (is lvsd running? see --control)\n`);
  const j = await run('--control', path, '--json', 'reload');
  assert.equal(j.code, 3);
  assert.equal(j.err, '');
  assert.deepEqual(JSON.parse(j.out), { error: { code: 'ERR_CONTROL_CONNECT', message: `cannot connect to ${path}: ENOENT (is lvsd running? see --control)` } });
});
