/**
 * The public loading API: file and text entry points, format detection, I/O failures as
 * diagnostics, keepalived `-t` exit codes, YAML specifics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectFormat, EXIT_CODES, exitCodeFor, loadConfigFile, loadConfigText } from '../../../src/config/load.js';
import { didYouMean, editDistance } from '../../../src/config/did-you-mean.js';
import { formatDiagnostic } from '../../../src/lib/errors.js';
import { formatConfigDiagnostic } from '../../../src/config/diagnostics.js';

const opts = { hostname: 'h', configId: 'h' };

test('exit codes are keepalived\'s', () => {
  assert.deepEqual(EXIT_CODES, { OK: 0, NO_MEMORY: 1, PROGRAM_ERROR: 2, FATAL: 3, CONFIG: 4, CONFIG_TEST: 5, CONFIG_TEST_SECURITY: 6, NO_CONFIG: 7 });
});

test('a missing or unreadable main file is a diagnostic (exit 4), never a throw', () => {
  const r = loadConfigFile('/nonexistent/lvt-cfg/keepalived.conf', opts);
  assert.equal(r.ok, false);
  assert.equal(exitCodeFor(r), EXIT_CODES.CONFIG);
  // FILE: message [CODE], like every other diagnostic but without a line: the file as a whole.
  assert.deepEqual(r.ok ? [] : r.diagnostics.map(formatConfigDiagnostic), ['/nonexistent/lvt-cfg/keepalived.conf: the config file does not exist [ERR_CONFIG_IO]']);
  const dir = mkdtempSync(join(tmpdir(), 'lvt-cfg-load-'));
  try {
    const d = loadConfigFile(dir, opts);
    assert.equal(d.ok, false);
    assert.equal(d.ok ? '' : d.diagnostics[0]!.code, 'ERR_CONFIG_IO');
    mkdirSync(join(dir, 'inc'));
    writeFileSync(join(dir, 'k.conf'), 'include inc/missing.conf\n');
    const inc = loadConfigFile(join(dir, 'k.conf'), opts);
    assert.equal(exitCodeFor(inc), EXIT_CODES.CONFIG, 'only file errors: 4');
    writeFileSync(join(dir, 'k2.conf'), 'include inc/missing.conf\nbogus 1\n');
    assert.equal(exitCodeFor(loadConfigFile(join(dir, 'k2.conf'), opts)), EXIT_CODES.CONFIG_TEST, 'file and config errors: 5');
    writeFileSync(join(dir, 'ok.yml'), 'global_defs:\n  router_id: y\n');
    const y = loadConfigFile(join(dir, 'ok.yml'), opts);
    assert.ok(y.ok);
    assert.equal(y.model.global.routerId, 'y');
    assert.deepEqual(y.files, [join(dir, 'ok.yml')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('warnings do not change the exit code (keepalived -t would say 5 for some of them)', () => {
  const r = loadConfigText('global_defs {\n    enable_snmp_vrrp\n}\n', 'w.conf', undefined, opts);
  assert.ok(r.ok);
  assert.equal(r.warnings.length, 1);
  assert.equal(exitCodeFor(r), 0);
});

test('format detection: extension first, then content', () => {
  assert.equal(detectFormat('a.yaml', 'global_defs {'), 'yaml');
  assert.equal(detectFormat('a.YML', ''), 'yaml');
  assert.equal(detectFormat('a.conf', 'global_defs:'), 'keepalived');
  assert.equal(detectFormat('keepalived', '# c\n! c\n\nglobal_defs:\n  router_id: x'), 'yaml');
  assert.equal(detectFormat('keepalived', '---\n'), 'yaml');
  assert.equal(detectFormat('keepalived', '! c\nglobal_defs {\n'), 'keepalived');
  assert.equal(detectFormat('x', ''), 'keepalived');
});

test('an empty file is a valid, empty config', () => {
  for (const [name, fmt] of [['e.conf', 'keepalived'], ['e.yaml', 'yaml']] as const) {
    const r = loadConfigText('', name, fmt, opts);
    assert.ok(r.ok);
    assert.deepEqual(Object.keys(r.model.instances), []);
  }
});

test('YAML: flags, lists of words, repeated headers, anchors, positions of every word', () => {
  const text = [
    'vrrp_instance:', //1
    '  VI_1: &vi', //2
    '    interface: eth0', //3
    '    virtual_router_id: 7', //4
    '    nopreempt: true', //5
    '    dont_track_primary: false', //6
    '    virtual_ipaddress: ["198.18.0.10/24 dev eth0", [198.18.0.11/24, dev, eth1]]', //7
    '    unicast_peer:', //8
    '      - 198.18.0.2 min_ttl 250', //9
    'virtual_server:', //10
    '  198.18.0.10 53:', //11
    '    - protocol: UDP', //12
    '      real_server: { 198.18.0.101 53: {} }', //13
    '    - protocol: TCP', //14
    '      lvs_timeouts: tcp 90', //15
  ].join('\n');
  const r = loadConfigText(text, 'y.yaml', undefined, opts);
  assert.equal(r.ok, false);
  const lines = r.ok ? [] : r.diagnostics.map((d) => `${d.pos!.line}:${d.pos!.col} ${d.code} ${d.path}`);
  assert.deepEqual(lines, [
    '11:3 ERR_CONFIG_MISSING virtual_server[198.18.0.10 53][1]', // the TCP twin has no real_server
    '15:7 ERR_CONFIG_UNKNOWN_KEYWORD virtual_server[198.18.0.10 53][1].lvs_timeouts',
  ]);
  const fixed = loadConfigText(text.replace('      lvs_timeouts: tcp 90', '      real_server: { 198.18.0.101 53: {} }'), 'y.yaml', undefined, opts);
  assert.ok(fixed.ok, fixed.ok ? '' : fixed.diagnostics.map(formatDiagnostic).join('\n'));
  const i = fixed.model.instances.VI_1!;
  assert.deepEqual([i.preempt, i.dontTrackPrimary, i.vips.map((v) => `${v.address}/${v.prefixLen} ${v.dev}`), i.unicastPeerTtl],
    [false, false, ['198.18.0.10/24 eth0', '198.18.0.11/24 eth1'], { '198.18.0.2': { minTtl: 250, maxTtl: 255 } }]);
  assert.deepEqual(Object.keys(fixed.model.virtualServers), ['udp:198.18.0.10:53', 'tcp:198.18.0.10:53']);
  const bad = loadConfigText('vrrp_instance:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 7\n    priority: "1 2"\n    virtual_ipaddress: [198.18.0.10, "x y"]\n', 'b.yaml', undefined, opts);
  assert.deepEqual(bad.ok ? [] : bad.diagnostics.map((d) => `${d.pos!.line}:${d.pos!.col} ${d.message}`), [
    '5:18 unexpected `2` after `priority` (syntax: N)',
    '6:39 `x` is not a valid IP address',
  ]);
});

test('YAML: structural mistakes and duplicate keys are reported with positions', () => {
  const r = loadConfigText('vrrp_instance:\n  VI_1:\n    interface: eth0\n    interface: eth1\nvirtual_server: [1, 2]\nglobal_defs: 3\n', 'd.yaml', undefined, opts);
  // The duplicate key names its path and the first key; the rest of the file is still read.
  assert.deepEqual(r.ok ? [] : r.diagnostics.map((d) => `${d.pos!.line}:${d.pos!.col} ${d.code} ${d.path}: ${d.message}`), [
    '4:5 ERR_CONFIG_YAML vrrp_instance.VI_1.interface: the key `interface` is given twice in one mapping (first at d.yaml:3:5); YAML keys must be unique',
    '5:17 ERR_CONFIG_YAML virtual_server: `virtual_server` must be a mapping from header to block',
    '6:14 ERR_CONFIG_YAML global_defs: `global_defs` must be a mapping of keywords',
  ]);
  const s = loadConfigText('virtual_server: [1, 2]\nglobal_defs: 3\n', 's.yaml', undefined, opts);
  assert.deepEqual(s.ok ? [] : s.diagnostics.map((d) => `${d.pos!.line}:${d.pos!.col} ${d.code} ${d.message}`), [
    '1:17 ERR_CONFIG_YAML `virtual_server` must be a mapping from header to block',
    '2:14 ERR_CONFIG_YAML `global_defs` must be a mapping of keywords',
  ]);
  const top = loadConfigText('- a\n- b\n', 't.yaml', undefined, opts);
  assert.equal(top.ok, false);
});

test('keys convict cannot carry are unknown keywords, not silently dropped', () => {
  const r = loadConfigText('global_defs {\n    __proto__ 1\n    constructor 2\n    a.b.c 3\n}\n', 'p.conf', undefined, opts);
  assert.deepEqual(r.ok ? [] : r.diagnostics.map((d) => `${d.pos!.line}:${d.pos!.col} ${d.code}`), [
    '2:5 ERR_CONFIG_UNKNOWN_KEYWORD', '3:5 ERR_CONFIG_UNKNOWN_KEYWORD', '4:5 ERR_CONFIG_UNKNOWN_KEYWORD',
  ]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('did you mean: transpositions, case, and nothing when nothing is close', () => {
  assert.equal(editDistance('intreface', 'interface'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(didYouMean('intreface', ['interface', 'priority']), 'interface');
  assert.equal(didYouMean('tcp_check', ['TCP_CHECK', 'HTTP_GET']), 'TCP_CHECK');
  assert.equal(didYouMean('lb_algho', ['lb_algo', 'lb_kind']), 'lb_algo');
  assert.equal(didYouMean('zzzzzz', ['interface', 'priority']), null);
});
