/**
 * Every keyword of the table: a parse test (the value it gives) and a bad-value test (the
 * error points at the exact file:line:col of the bad word). Table-driven; a coverage test
 * fails when a keyword of src/config/keywords.ts has no row, and every "accepted, not
 * supported yet" keyword is checked to warn with its position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Diagnostics } from '../../../src/config/diagnostics.js';
import { readKeepalivedText } from '../../../src/config/keepalived-reader.js';
import { keepalivedRawTree } from '../../../src/config/keepalived-tree.js';
import { allBlocks, type BlockSpec } from '../../../src/config/keywords.js';
import { validateRawTree } from '../../../src/config/schema.js';
import { SourceMap } from '../../../src/config/source-map.js';
import { buildSyntaxTree } from '../../../src/config/syntax.js';
import type { VBlock, VField } from '../../../src/model/validated.js';

/** Where each block's keyword line goes (`@@`), and how to reach the block in the validated tree. */
const CONTEXTS: Record<string, { text: string; reach: (root: VBlock) => VBlock | undefined }> = {
  'top level': { text: '@@', reach: (r) => r },
  global_defs: { text: 'global_defs {\n    @@\n}', reach: (r) => blk(r, 'global_defs') },
  vrrp_script: { text: 'vrrp_script S {\n    @@\n}', reach: (r) => item(r, 'vrrp_script') },
  track_file: { text: 'track_file F {\n    @@\n}', reach: (r) => item(r, 'track_file') },
  vrrp_sync_group: { text: 'vrrp_sync_group G {\n    @@\n}', reach: (r) => item(r, 'vrrp_sync_group') },
  vrrp_instance: { text: 'vrrp_instance VI_T {\n    @@\n}', reach: (r) => item(r, 'vrrp_instance') },
  authentication: { text: 'vrrp_instance VI_T {\n    authentication {\n        @@\n    }\n}', reach: (r) => blk(item(r, 'vrrp_instance'), 'authentication') },
  virtual_server: { text: 'virtual_server 198.18.0.1 80 {\n    @@\n}', reach: (r) => item(r, 'virtual_server') },
  real_server: { text: 'virtual_server 198.18.0.1 80 {\n    real_server 198.18.0.2 80 {\n        @@\n    }\n}', reach: (r) => item(item(r, 'virtual_server'), 'real_server') },
  HTTP_GET: { text: rsWrap('HTTP_GET'), reach: (r) => item(item(item(r, 'virtual_server'), 'real_server'), 'HTTP_GET') },
  SSL_GET: { text: rsWrap('SSL_GET'), reach: (r) => item(item(item(r, 'virtual_server'), 'real_server'), 'SSL_GET') },
  TCP_CHECK: { text: rsWrap('TCP_CHECK'), reach: (r) => item(item(item(r, 'virtual_server'), 'real_server'), 'TCP_CHECK') },
  MISC_CHECK: { text: rsWrap('MISC_CHECK'), reach: (r) => item(item(item(r, 'virtual_server'), 'real_server'), 'MISC_CHECK') },
  url: {
    text: 'virtual_server 198.18.0.1 80 {\n    real_server 198.18.0.2 80 {\n        HTTP_GET {\n            url {\n                @@\n            }\n        }\n    }\n}',
    reach: (r) => item(item(item(item(r, 'virtual_server'), 'real_server'), 'HTTP_GET'), 'url'),
  },
};

function rsWrap(checker: string): string {
  return `virtual_server 198.18.0.1 80 {\n    real_server 198.18.0.2 80 {\n        ${checker} {\n            @@\n        }\n    }\n}`;
}
function blk(b: VBlock | undefined, k: string): VBlock | undefined {
  const f = b?.fields[k];
  return f?.kind === 'block' ? f : undefined;
}
function item(b: VBlock | undefined, k: string): VBlock | undefined {
  const f = b?.fields[k];
  return f?.kind === 'blocks' ? f.items[0] : undefined;
}

function validate(text: string) {
  const diags = new Diagnostics();
  const r = readKeepalivedText(text, 'kw.conf', diags, { configId: 'x' });
  const map = new SourceMap();
  const raw = keepalivedRawTree(buildSyntaxTree(r.segments, diags), map, diags);
  const root = validateRawTree(raw, map, diags);
  return { root, diags: diags.list };
}

function place(block: string, line: string): { text: string; lineNo: number; lineText: string } {
  const ctx = CONTEXTS[block]!.text;
  const text = ctx.replace('@@', line);
  const idx = ctx.split('\n').findIndex((l) => l.includes('@@'));
  return { text, lineNo: idx + 1, lineText: text.split('\n')[idx]! };
}

function plain(f: VField | undefined): unknown {
  if (!f) return undefined;
  if (f.kind === 'leaf') return f.value;
  if (f.kind === 'list') return f.entries.map((e) => e.value);
  if (f.kind === 'blocks') return f.items.map((i) => i.key);
  if (f.kind === 'block') return Object.keys(f.fields);
  return 'invalid';
}

/**
 * [block, keyword line, value expected under `field` (default: the keyword), bad line, text the
 * error must point at (default: the bad line's second word)]. Lines may span several lines.
 */
type Row = { b: string; ok: string; v: unknown; field?: string; bad?: string; at?: string; msg?: RegExp };

const ms = (s: number) => s * 1000;
const vip = (address: string, prefixLen: number, extra: Record<string, unknown> = {}) => ({
  address, family: address.includes(':') ? 'ipv6' : 'ipv4', prefixLen, dev: null, label: null, brd: null, scope: null, noTrack: false, ownerOverride: null, ...extra,
});

const ROWS: Row[] = [
  // ── top level
  { b: 'top level', ok: 'vrrp_script chk {\n script /bin/true\n}', v: ['chk'], field: 'vrrp_script', bad: 'vrrp_script {\n}', at: 'vrrp_script' },
  { b: 'top level', ok: 'track_file tf {\n file /tmp/x\n}', v: ['tf'], field: 'track_file', bad: 'track_file a b {\n}', at: 'b' },
  { b: 'top level', ok: 'vrrp_track_file tf {\n file /tmp/x\n}', v: ['tf'], field: 'track_file' },
  { b: 'top level', ok: 'vrrp_sync_group G {\n group {\n VI_1\n }\n}', v: ['G'], field: 'vrrp_sync_group', bad: 'vrrp_sync_group G', at: 'vrrp_sync_group' },
  { b: 'top level', ok: 'vrrp_instance VI_1 {\n}', v: ['VI_1'], field: 'vrrp_instance', bad: 'vrrp_instance {\n}', at: 'vrrp_instance' },
  { b: 'top level', ok: 'virtual_server_group W {\n 198.18.0.1-3 80\n}', v: ['W'], field: 'virtual_server_group', bad: 'virtual_server_group W {\n 198.18.0.1-0 80\n}', at: '198.18.0.1-0' },
  { b: 'top level', ok: 'local_address_group L {\n 198.18.1.200 eth1\n 198.18.1.210-212\n}', v: ['L'], field: 'local_address_group', bad: 'local_address_group L {\n 198.18.1.200 eth/1\n}', at: 'eth/1' },
  { b: 'top level', ok: 'fwmark_rules 5 {\n 198.18.0.1 tcp 80\n}', v: ['5'], field: 'fwmark_rules', bad: 'fwmark_rules 0 {\n 198.18.0.1 tcp 80\n}', at: '0' },
  { b: 'top level', ok: 'virtual_server fwmark 3 {\n}', v: ['fwmark 3'], field: 'virtual_server', bad: 'virtual_server fwmark x {\n}', at: 'x' },
  { b: 'top level', ok: 'global_defs {\n}', v: [], field: 'global_defs', bad: 'global_defs x {\n}', at: 'x' },
  // ── global_defs
  { b: 'global_defs', ok: 'router_id lvs-a', v: 'lvs-a', bad: 'router_id a b', at: 'b' },
  { b: 'global_defs', ok: 'lvs_id LVS_DEVEL', v: 'LVS_DEVEL', field: 'router_id', bad: 'lvs_id', at: 'lvs_id' },
  { b: 'global_defs', ok: 'script_user nobody nogroup', v: { user: 'nobody', group: 'nogroup' }, bad: 'script_user no:body', at: 'no:body' },
  { b: 'global_defs', ok: 'enable_script_security', v: true, bad: 'enable_script_security maybe', at: 'maybe' },
  { b: 'global_defs', ok: 'vrrp_garp_master_delay 10', v: ms(10), bad: 'vrrp_garp_master_delay -1', at: '-1' },
  { b: 'global_defs', ok: 'vrrp_garp_master_repeat 2', v: 2, bad: 'vrrp_garp_master_repeat 0', at: '0' },
  { b: 'global_defs', ok: 'vrrp_garp_master_refresh 60', v: ms(60), bad: 'vrrp_garp_master_refresh x', at: 'x' },
  { b: 'global_defs', ok: 'vrrp_garp_master_refresh_repeat 2', v: 2, bad: 'vrrp_garp_master_refresh_repeat 1001', at: '1001' },
  { b: 'global_defs', ok: 'vrrp_garp_lower_prio_delay 3', v: ms(3), bad: 'vrrp_garp_lower_prio_delay 1e9', at: '1e9' },
  { b: 'global_defs', ok: 'vrrp_garp_lower_prio_repeat 0', v: 0, bad: 'vrrp_garp_lower_prio_repeat -2', at: '-2' },
  { b: 'global_defs', ok: 'vrrp_garp_interval 0.001', v: 1, bad: 'vrrp_garp_interval 11', at: '11' },
  { b: 'global_defs', ok: 'vrrp_gna_interval 0.000001', v: 0.001, bad: 'vrrp_gna_interval fast', at: 'fast' },
  { b: 'global_defs', ok: 'vrrp_min_garp on', v: true, bad: 'vrrp_min_garp 2', at: '2' },
  { b: 'global_defs', ok: 'vrrp_skip_check_adv_addr', v: true, bad: 'vrrp_skip_check_adv_addr x y', at: 'y' },
  { b: 'global_defs', ok: 'vrrp_strict', v: true, bad: 'vrrp_strict strictly', at: 'strictly' },
  { b: 'global_defs', ok: 'vrrp_version 3', v: 3, bad: 'vrrp_version 1', at: '1' },
  { b: 'global_defs', ok: 'vrrp_check_unicast_src', v: true },
  { b: 'global_defs', ok: 'vrrp_lower_prio_no_advert', v: true, bad: 'vrrp_lower_prio_no_advert x', at: 'x' },
  { b: 'global_defs', ok: 'vrrp_higher_prio_send_advert on', v: true },
  { b: 'global_defs', ok: 'v3_checksum_as_v2', v: true },
  { b: 'global_defs', ok: 'vrrp_mcast_group4 224.0.0.20', v: '224.0.0.20', bad: 'vrrp_mcast_group4 198.18.0.1', at: '198.18.0.1' },
  { b: 'global_defs', ok: 'vrrp_mcast_group6 ff02::13', v: 'ff02::13', bad: 'vrrp_mcast_group6 224.0.0.18', at: '224.0.0.18' },
  { b: 'global_defs', ok: 'notify_fifo /run/n.fifo', v: { path: '/run/n.fifo', user: null }, bad: 'notify_fifo n.fifo', at: 'n.fifo' },
  { b: 'global_defs', ok: 'vrrp_notify_fifo /run/v.fifo root', v: { path: '/run/v.fifo', user: { user: 'root', group: null } } },
  { b: 'global_defs', ok: 'lvs_notify_fifo /run/l.fifo', v: { path: '/run/l.fifo', user: null }, bad: 'lvs_notify_fifo /a b c d', at: 'd' },
  { b: 'global_defs', ok: 'notification_email {\n a@b.test\n c@d.test\n }', v: [['a@b.test'], ['c@d.test']], bad: 'notification_email a@b.test', at: 'notification_email' },
  { b: 'global_defs', ok: 'notification_email_from lvs@b.test', v: 'lvs@b.test' },
  { b: 'global_defs', ok: 'smtp_server 198.18.0.25 2525', v: '198.18.0.25 2525', bad: 'smtp_server 198.18.0.25 99999', at: '99999' },
  { b: 'global_defs', ok: 'smtp_connect_timeout 30', v: 30, bad: 'smtp_connect_timeout 0', at: '0' },
  { b: 'global_defs', ok: 'lvs_timeouts tcp 600 udp 60', v: { tcpS: 600, tcpFinS: null, udpS: 60 }, bad: 'lvs_timeouts tcp 600 syn 5', at: 'syn' },
  {
    b: 'global_defs', ok: 'lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8850 ttl 2 group 224.0.0.82',
    v: { interface: 'eth1', instance: 'VI_1', instanceArg: 1, syncId: 7, maxLen: 1400, port: 8850, ttl: 2, group: { address: '224.0.0.82', family: 'ipv4' } },
    bad: 'lvs_sync_daemon eth1 VI_1 group 198.18.0.200', at: '198.18.0.200',
  },
  { b: 'global_defs', ok: 'lvs_sync_daemon eth1 inst VI_2', v: { interface: 'eth1', instance: 'VI_2', instanceArg: 2, syncId: null, maxLen: null, port: null, ttl: null, group: null }, bad: 'lvs_sync_daemon eth1 VI_1 ttl 0', at: '0' },
  { b: 'global_defs', ok: 'lvs_sync_daemon eth1', v: { interface: 'eth1', instance: null, instanceArg: -1, syncId: null, maxLen: null, port: null, ttl: null, group: null }, bad: 'lvs_sync_daemon eth1 VI_1 maxlen 65508', at: '65508' },
  { b: 'global_defs', ok: 'lvs_sync_daemon eth1 id 3 group ff02::8:8848', v: { interface: 'eth1', instance: null, instanceArg: -1, syncId: 3, maxLen: null, port: null, ttl: null, group: { address: 'ff02::8:8848', family: 'ipv6' } }, bad: 'lvs_sync_daemon eth1 VI_1 speed 9', at: 'speed' },
  { b: 'global_defs', ok: 'lvs_sync_daemon eth1 VI_1 port 1', v: { interface: 'eth1', instance: 'VI_1', instanceArg: 1, syncId: null, maxLen: null, port: 1, ttl: null, group: null }, bad: 'lvs_sync_daemon eth1 VI_1 port', at: 'port' },
  { b: 'global_defs', ok: 'control_socket /run/x.sock', v: '/run/x.sock', bad: 'control_socket x.sock', at: 'x.sock' },
  { b: 'global_defs', ok: 'metrics_listen [2001:db8::1]:9100', v: { address: '2001:db8::1', port: 9100 }, bad: 'metrics_listen 198.18.0.1', at: '198.18.0.1' },
  { b: 'global_defs', ok: 'forwarding_workers 4', v: 4, bad: 'forwarding_workers 257', at: '257' },
  { b: 'global_defs', ok: 'conn_table_size 65536', v: 65536, bad: 'conn_table_size 10', at: '10' },
  { b: 'global_defs', ok: 'lvs_interface eth1', v: 'eth1', bad: 'lvs_interface averyveryverylongname', at: 'averyveryverylongname' },
  // ── vrrp_script
  { b: 'vrrp_script', ok: 'script "/bin/check -q"', v: { line: '/bin/check -q', argv: ['/bin/check', '-q'] }, bad: 'script ""', at: '""' },
  { b: 'vrrp_script', ok: 'interval 2', v: ms(2), bad: 'interval 0', at: '0' },
  { b: 'vrrp_script', ok: 'timeout 0.5', v: 500, bad: 'timeout -1', at: '-1' },
  { b: 'vrrp_script', ok: 'weight -20 reverse', v: { weight: -20, reverse: true }, bad: 'weight 254', at: '254' },
  { b: 'vrrp_script', ok: 'rise 3', v: 3, bad: 'rise 0', at: '0' },
  { b: 'vrrp_script', ok: 'fall 2', v: 2, bad: 'fall many', at: 'many' },
  { b: 'vrrp_script', ok: 'user nobody', v: { user: 'nobody', group: null }, bad: 'user', at: 'user' },
  { b: 'vrrp_script', ok: 'init_fail', v: true, bad: 'init_fail please', at: 'please' },
  // ── track_file
  { b: 'track_file', ok: 'file /var/run/x', v: '/var/run/x', bad: 'file x', at: 'x' },
  { b: 'track_file', ok: 'weight -5', v: { weight: -5, reverse: null }, bad: 'weight 5 backwards', at: 'backwards' },
  { b: 'track_file', ok: 'init_file 7 overwrite', v: { value: 7, overwrite: true }, bad: 'init_file seven', at: 'seven' },
  // ── vrrp_sync_group
  { b: 'vrrp_sync_group', ok: 'group {\n VI_1 VI_2\n }', v: [['VI_1', 'VI_2']], bad: 'group VI_1', at: 'group' },
  { b: 'vrrp_sync_group', ok: 'track_interface {\n eth0 weight 10\n }', v: [{ name: 'eth0', weight: 10, reverse: null }], bad: 'track_interface {\n eth0 weight\n }', at: 'weight' },
  { b: 'vrrp_sync_group', ok: 'track_script {\n chk\n }', v: [{ name: 'chk', weight: null, reverse: null }], bad: 'track_script {\n chk height 3\n }', at: 'height' },
  { b: 'vrrp_sync_group', ok: 'track_file {\n tf weight 2 noreverse\n }', v: [{ name: 'tf', weight: 2, reverse: false }], bad: 'track_file {\n tf weight 255\n }', at: '255' },
  { b: 'vrrp_sync_group', ok: 'notify_master /bin/m', v: { command: { line: '/bin/m', argv: ['/bin/m'] }, user: null }, bad: 'notify_master /bin/m u g x', at: 'x' },
  { b: 'vrrp_sync_group', ok: 'notify_backup /bin/b', v: { command: { line: '/bin/b', argv: ['/bin/b'] }, user: null } },
  { b: 'vrrp_sync_group', ok: 'notify_fault /bin/f', v: { command: { line: '/bin/f', argv: ['/bin/f'] }, user: null } },
  { b: 'vrrp_sync_group', ok: 'notify_stop /bin/s', v: { command: { line: '/bin/s', argv: ['/bin/s'] }, user: null } },
  { b: 'vrrp_sync_group', ok: 'notify "/bin/n x" root', v: { command: { line: '/bin/n x', argv: ['/bin/n', 'x'] }, user: { user: 'root', group: null } }, bad: 'notify', at: 'notify' },
  { b: 'vrrp_sync_group', ok: 'global_tracking', v: true },
  { b: 'vrrp_sync_group', ok: 'sync_group_tracking_weight', v: true, bad: 'sync_group_tracking_weight 3', at: '3' },
  // ── vrrp_instance
  { b: 'vrrp_instance', ok: 'state MASTER', v: 'MASTER', bad: 'state master', at: 'master' },
  { b: 'vrrp_instance', ok: 'interface eth0.10', v: 'eth0.10', bad: 'interface eth/0', at: 'eth/0' },
  { b: 'vrrp_instance', ok: 'virtual_router_id 255', v: 255, bad: 'virtual_router_id 0', at: '0' },
  { b: 'vrrp_instance', ok: 'priority 254', v: 254, bad: 'priority 256', at: '256' },
  { b: 'vrrp_instance', ok: 'advert_int 0.25', v: 250, bad: 'advert_int 0', at: '0' },
  { b: 'vrrp_instance', ok: 'version 3', v: 3, bad: 'version v3', at: 'v3' },
  { b: 'vrrp_instance', ok: 'nopreempt', v: false, field: 'preempt', bad: 'nopreempt yes please', at: 'please' },
  { b: 'vrrp_instance', ok: 'preempt', v: true, bad: 'preempt always', at: 'always' },
  { b: 'vrrp_instance', ok: 'preempt_delay 30', v: ms(30), bad: 'preempt_delay 1001', at: '1001' },
  { b: 'vrrp_instance', ok: 'authentication {\n auth_type PASS\n }', v: ['auth_type'], bad: 'authentication {\n auth_type MD5\n }', at: 'MD5' },
  { b: 'vrrp_instance', ok: 'unicast_src_ip 198.18.0.1', v: { address: '198.18.0.1', family: 'ipv4' }, bad: 'unicast_src_ip 198.18.0', at: '198.18.0' },
  { b: 'vrrp_instance', ok: 'unicast_peer {\n 198.18.0.2 max_ttl 255\n }', v: [{ address: '198.18.0.2', family: 'ipv4', minTtl: null, maxTtl: 255 }], bad: 'unicast_peer {\n 198.18.0.2 ttl 3\n }', at: 'ttl' },
  { b: 'vrrp_instance', ok: 'mcast_src_ip 2001:db8::1', v: { address: '2001:db8::1', family: 'ipv6' }, bad: 'mcast_src_ip host', at: 'host' },
  {
    b: 'vrrp_instance', ok: 'virtual_ipaddress {\n 198.18.0.10/24 dev eth1 label eth1:0 brd + scope global no_track lvsd_owner core\n 198.18.0.11\n }',
    v: [vip('198.18.0.10', 24, { dev: 'eth1', label: 'eth1:0', brd: '+', scope: 'global', noTrack: true, ownerOverride: 'core' }), vip('198.18.0.11', 32)],
    bad: 'virtual_ipaddress {\n 198.18.0.10/24 scope planet\n }', at: 'planet',
  },
  { b: 'vrrp_instance', ok: 'virtual_ipaddress_excluded {\n 2001:db8::5/64\n }', v: [vip('2001:db8::5', 64)], bad: 'virtual_ipaddress_excluded {\n 2001:db8::5/129\n }', at: '2001:db8::5/129' },
  { b: 'vrrp_instance', ok: 'track_interface {\n eth1 weight -5 reverse\n }', v: [{ name: 'eth1', weight: -5, reverse: true }], bad: 'track_interface {\n eth1 weight -300\n }', at: '-300' },
  { b: 'vrrp_instance', ok: 'track_script {\n chk weight 10\n }', v: [{ name: 'chk', weight: 10, reverse: null }], bad: 'track_script {\n chk weight 10 sideways\n }', at: 'sideways' },
  { b: 'vrrp_instance', ok: 'track_file {\n tf\n }', v: [{ name: 'tf', weight: null, reverse: null }], bad: 'track_file {\n tf weight -255\n }', at: '-255' },
  { b: 'vrrp_instance', ok: 'notify_master "/bin/x master" u g', v: { command: { line: '/bin/x master', argv: ['/bin/x', 'master'] }, user: { user: 'u', group: 'g' } }, bad: 'notify_master /bin/x u:1', at: 'u:1' },
  { b: 'vrrp_instance', ok: 'notify_backup /bin/b', v: { command: { line: '/bin/b', argv: ['/bin/b'] }, user: null } },
  { b: 'vrrp_instance', ok: 'notify_fault /bin/f', v: { command: { line: '/bin/f', argv: ['/bin/f'] }, user: null } },
  { b: 'vrrp_instance', ok: 'notify_stop /bin/s', v: { command: { line: '/bin/s', argv: ['/bin/s'] }, user: null } },
  { b: 'vrrp_instance', ok: 'notify /bin/n', v: { command: { line: '/bin/n', argv: ['/bin/n'] }, user: null } },
  { b: 'vrrp_instance', ok: 'notify_master_rx_lower_pri /bin/r', v: { command: { line: '/bin/r', argv: ['/bin/r'] }, user: null }, bad: 'notify_master_rx_lower_pri', at: 'notify_master_rx_lower_pri' },
  { b: 'vrrp_instance', ok: 'garp_master_delay 1', v: ms(1), bad: 'garp_master_delay soon', at: 'soon' },
  { b: 'vrrp_instance', ok: 'garp_master_repeat 4', v: 4, bad: 'garp_master_repeat 0', at: '0' },
  { b: 'vrrp_instance', ok: 'garp_lower_prio_delay 2', v: ms(2), bad: 'garp_lower_prio_delay 2000', at: '2000' },
  { b: 'vrrp_instance', ok: 'garp_lower_prio_repeat 1', v: 1, bad: 'garp_lower_prio_repeat x', at: 'x' },
  { b: 'vrrp_instance', ok: 'garp_master_refresh 30', v: ms(30), bad: 'garp_master_refresh -30', at: '-30' },
  { b: 'vrrp_instance', ok: 'garp_master_refresh_repeat 3', v: 3, bad: 'garp_master_refresh_repeat 0', at: '0' },
  { b: 'vrrp_instance', ok: 'use_vmac vrrp.7', v: { name: 'vrrp.7' }, bad: 'use_vmac averyveryverylongname', at: 'averyveryverylongname' },
  { b: 'vrrp_instance', ok: 'dont_track_primary', v: true },
  { b: 'vrrp_instance', ok: 'skip_check_adv_addr off', v: false, bad: 'skip_check_adv_addr sometimes', at: 'sometimes' },
  { b: 'vrrp_instance', ok: 'strict_mode', v: true, bad: 'strict_mode 1', at: '1' },
  { b: 'vrrp_instance', ok: 'check_unicast_src', v: true },
  { b: 'vrrp_instance', ok: 'old_unicast_checksum never', v: 'never', bad: 'old_unicast_checksum always', at: 'always' },
  { b: 'vrrp_instance', ok: 'old_unicast_checksum', v: 'old' },
  { b: 'vrrp_instance', ok: 'v3_checksum_as_v2', v: true, bad: 'v3_checksum_as_v2 sure', at: 'sure' },
  { b: 'vrrp_instance', ok: 'lower_prio_no_advert', v: true, bad: 'lower_prio_no_advert maybe', at: 'maybe' },
  { b: 'vrrp_instance', ok: 'higher_prio_send_advert off', v: false, bad: 'higher_prio_send_advert 2', at: '2' },
  // ── authentication
  { b: 'authentication', ok: 'auth_type AH', v: 'AH', bad: 'auth_type pass', at: 'pass' },
  { b: 'authentication', ok: 'auth_pass s3cret', v: 's3cret', bad: 'auth_pass ""', at: '""' },
  // ── virtual_server
  { b: 'virtual_server', ok: 'lvs_sched twos', v: 'twos', bad: 'lvs_sched random', at: 'random' },
  { b: 'virtual_server', ok: 'lb_algo wlc', v: 'wlc', field: 'lvs_sched', bad: 'lb_algo WLC', at: 'WLC' },
  { b: 'virtual_server', ok: 'lvs_method DR', v: { method: 'DR' }, bad: 'lvs_method ROUTE', at: 'ROUTE' },
  { b: 'virtual_server', ok: 'lvs_method TUN', v: { method: 'TUN', tunnel: { type: 'ipip', port: 0, csum: 'nocsum' } }, bad: 'lvs_method TUN type vxlan', at: 'vxlan' },
  { b: 'virtual_server', ok: 'lvs_method TUN type gue port 6080 csum', v: { method: 'TUN', tunnel: { type: 'gue', port: 6080, csum: 'csum' } }, bad: 'lvs_method TUN type gue', at: 'gue' },
  { b: 'virtual_server', ok: 'lvs_method TUN remcsum port 5555 type gue', v: { method: 'TUN', tunnel: { type: 'gue', port: 5555, csum: 'remcsum' } }, bad: 'lvs_method TUN type gue port 0', at: '0' },
  { b: 'virtual_server', ok: 'lvs_method TUN type gre csum', v: { method: 'TUN', tunnel: { type: 'gre', port: 0, csum: 'csum' } }, bad: 'lvs_method TUN type gre remcsum', at: 'remcsum' },
  { b: 'virtual_server', ok: 'lvs_method TUN type ipip nocsum', v: { method: 'TUN', tunnel: { type: 'ipip', port: 0, csum: 'nocsum' } }, bad: 'lvs_method TUN type ipip csum', at: 'csum' },
  { b: 'virtual_server', ok: 'lvs_method TUN type gre', v: { method: 'TUN', tunnel: { type: 'gre', port: 0, csum: 'nocsum' } }, bad: 'lvs_method TUN type gre port 80', at: '80' },
  { b: 'virtual_server', ok: 'lvs_method NAT', v: { method: 'NAT' }, bad: 'lvs_method DR type ipip', at: 'type' },
  { b: 'virtual_server', ok: 'lvs_method FNAT', v: { method: 'FNAT' }, bad: 'lvs_method FNAT laddr', at: 'laddr' },
  { b: 'virtual_server', ok: 'laddr_group_name laddr_g1', v: 'laddr_g1', bad: 'laddr_group_name a b', at: 'b' },
  { b: 'virtual_server', ok: 'lvs_method TUN type ipip', v: { method: 'TUN', tunnel: { type: 'ipip', port: 0, csum: 'nocsum' } }, bad: 'lvs_method TUN sideways', at: 'sideways' },
  { b: 'virtual_server', ok: 'lvs_method TUN type gue port 6080', v: { method: 'TUN', tunnel: { type: 'gue', port: 6080, csum: 'nocsum' } }, bad: 'lvs_method TUN port', at: 'port' },
  { b: 'virtual_server', ok: 'lb_kind NAT', v: { method: 'NAT' }, field: 'lvs_method', bad: 'lb_kind NAT extra', at: 'extra' },
  { b: 'virtual_server', ok: 'protocol udp', v: 'udp', bad: 'protocol icmp', at: 'icmp' },
  { b: 'virtual_server', ok: 'persistence_timeout', v: 360, bad: 'persistence_timeout 0', at: '0' },
  { b: 'virtual_server', ok: 'persistence_granularity 255.255.255.0', v: '255.255.255.0', bad: 'persistence_granularity', at: 'persistence_granularity' },
  { b: 'virtual_server', ok: 'quorum 3', v: 3, bad: 'quorum -1', at: '-1' },
  { b: 'virtual_server', ok: 'hysteresis 1', v: 1, bad: 'hysteresis x', at: 'x' },
  { b: 'virtual_server', ok: 'quorum_up /bin/up', v: { command: { line: '/bin/up', argv: ['/bin/up'] }, user: null } },
  { b: 'virtual_server', ok: 'quorum_down "/bin/down now"', v: { command: { line: '/bin/down now', argv: ['/bin/down', 'now'] }, user: null } },
  { b: 'virtual_server', ok: 'sorry_server 198.18.0.99 8080', v: { address: '198.18.0.99', family: 'ipv4', port: 8080 }, bad: 'sorry_server 198.18.0.99 http', at: 'http' },
  { b: 'virtual_server', ok: 'sorry_server_inhibit', v: true },
  { b: 'virtual_server', ok: 'sorry_server_lvs_method DR', v: { method: 'DR' }, bad: 'sorry_server_lvs_method', at: 'sorry_server_lvs_method' },
  { b: 'virtual_server', ok: 'alpha', v: true },
  { b: 'virtual_server', ok: 'omega', v: true },
  { b: 'virtual_server', ok: 'ha_suspend', v: true },
  { b: 'virtual_server', ok: 'ops', v: true },
  { b: 'virtual_server', ok: 'virtualhost www.example.test', v: 'www.example.test', bad: 'virtualhost a b', at: 'b' },
  { b: 'virtual_server', ok: 'inhibit_on_failure', v: true },
  { b: 'virtual_server', ok: 'sh-port', v: true },
  { b: 'virtual_server', ok: 'sh-fallback', v: true },
  { b: 'virtual_server', ok: 'mh-port', v: true },
  { b: 'virtual_server', ok: 'mh-fallback', v: true },
  { b: 'virtual_server', ok: 'flag-1', v: true },
  { b: 'virtual_server', ok: 'flag-2', v: true },
  { b: 'virtual_server', ok: 'flag-3', v: true },
  { b: 'virtual_server', ok: 'ip_family inet6', v: 'inet6', bad: 'ip_family ipv6', at: 'ipv6' },
  { b: 'virtual_server', ok: 'delay_loop 6', v: ms(6), bad: 'delay_loop 6s', at: '6s' },
  { b: 'virtual_server', ok: 'connect_timeout 2.5', v: 2500, bad: 'connect_timeout 0', at: '0' },
  { b: 'virtual_server', ok: 'retry 3', v: 3, bad: 'retry three', at: 'three' },
  { b: 'virtual_server', ok: 'nb_get_retry 2', v: 2, field: 'retry', bad: 'nb_get_retry -2', at: '-2' },
  { b: 'virtual_server', ok: 'delay_before_retry 0', v: 0, bad: 'delay_before_retry x', at: 'x' },
  { b: 'virtual_server', ok: 'warmup 10', v: ms(10), bad: 'warmup -10', at: '-10' },
  { b: 'virtual_server', ok: 'rise 2', v: 2, bad: 'rise 0', at: '0' },
  { b: 'virtual_server', ok: 'fall 3', v: 3, bad: 'fall 1001', at: '1001' },
  { b: 'virtual_server', ok: 'real_server 198.18.0.2 {\n }', v: ['198.18.0.2'], bad: 'real_server 198.18.0.2 http {\n }', at: 'http' },
  // ── real_server
  { b: 'real_server', ok: 'weight 0', v: 0, bad: 'weight 1.5', at: '1.5' },
  { b: 'real_server', ok: 'lvs_method NAT', v: { method: 'NAT' } },
  { b: 'real_server', ok: 'lvs_method TUN type gre', v: { method: 'TUN', tunnel: { type: 'gre', port: 0, csum: 'nocsum' } }, bad: 'lvs_method TUN type', at: 'type' },
  { b: 'real_server', ok: 'lb_kind DR', v: { method: 'DR' }, field: 'lvs_method', bad: 'lb_kind dr', at: 'dr' },
  { b: 'real_server', ok: 'notify_up /bin/up', v: { command: { line: '/bin/up', argv: ['/bin/up'] }, user: null } },
  { b: 'real_server', ok: 'notify_down /bin/down', v: { command: { line: '/bin/down', argv: ['/bin/down'] }, user: null }, bad: 'notify_down /bin/down a b c', at: 'c' },
  { b: 'real_server', ok: 'uthreshold 100', v: 100, bad: 'uthreshold 4294967296', at: '4294967296' },
  { b: 'real_server', ok: 'lthreshold 10', v: 10, bad: 'lthreshold low', at: 'low' },
  { b: 'real_server', ok: 'virtualhost h.test', v: 'h.test' },
  { b: 'real_server', ok: 'alpha off', v: false, bad: 'alpha beta', at: 'beta' },
  { b: 'real_server', ok: 'inhibit_on_failure yes', v: true, bad: 'inhibit_on_failure 0', at: '0' },
  { b: 'real_server', ok: 'delay_loop 1', v: ms(1) },
  { b: 'real_server', ok: 'connect_timeout 1', v: ms(1) },
  { b: 'real_server', ok: 'retry 0', v: 0 },
  { b: 'real_server', ok: 'nb_get_retry 1', v: 1, field: 'retry' },
  { b: 'real_server', ok: 'delay_before_retry 2', v: ms(2) },
  { b: 'real_server', ok: 'warmup 0', v: 0 },
  { b: 'real_server', ok: 'rise 5', v: 5 },
  { b: 'real_server', ok: 'fall 5', v: 5 },
  { b: 'real_server', ok: 'HTTP_GET {\n }', v: [null], bad: 'HTTP_GET x {\n }', at: 'x' },
  { b: 'real_server', ok: 'SSL_GET {\n }', v: [null], bad: 'SSL_GET', at: 'SSL_GET' },
  { b: 'real_server', ok: 'TCP_CHECK {\n }\n TCP_CHECK {\n }', v: [null, null], bad: 'TCP_CHECK 1 {\n }', at: '1' },
  { b: 'real_server', ok: 'MISC_CHECK {\n }', v: [null] },
  // ── checkers
  { b: 'TCP_CHECK', ok: 'connect_ip 198.18.0.3', v: { address: '198.18.0.3', family: 'ipv4' }, bad: 'connect_ip 198.18.0.3/32', at: '198.18.0.3/32' },
  { b: 'TCP_CHECK', ok: 'connect_port 8080', v: 8080, bad: 'connect_port 65536', at: '65536' },
  { b: 'TCP_CHECK', ok: 'bindto 198.18.0.4', v: { address: '198.18.0.4', family: 'ipv4' }, bad: 'bindto any', at: 'any' },
  { b: 'TCP_CHECK', ok: 'bind_port 4000', v: 4000, bad: 'bind_port 0', at: '0' },
  { b: 'TCP_CHECK', ok: 'bind_if eth2', v: 'eth2', bad: 'bind_if eth2 eth3', at: 'eth3' },
  { b: 'TCP_CHECK', ok: 'alpha', v: true },
  { b: 'TCP_CHECK', ok: 'delay_loop 2', v: ms(2) },
  { b: 'TCP_CHECK', ok: 'connect_timeout 3', v: ms(3) },
  { b: 'TCP_CHECK', ok: 'retry 2', v: 2 },
  { b: 'TCP_CHECK', ok: 'nb_get_retry 2', v: 2, field: 'retry' },
  { b: 'TCP_CHECK', ok: 'delay_before_retry 1', v: ms(1) },
  { b: 'TCP_CHECK', ok: 'warmup 1', v: ms(1) },
  { b: 'TCP_CHECK', ok: 'rise 2', v: 2 },
  { b: 'TCP_CHECK', ok: 'fall 2', v: 2 },
  { b: 'HTTP_GET', ok: 'url {\n path /\n }', v: [null], bad: 'url /x {\n }', at: '/x' },
  { b: 'HTTP_GET', ok: 'virtualhost v.test', v: 'v.test' },
  { b: 'HTTP_GET', ok: 'http_protocol 1.0C', v: '1.0', bad: 'http_protocol 1.2', at: '1.2' },
  { b: 'HTTP_GET', ok: 'enable_sni', v: true },
  { b: 'HTTP_GET', ok: 'connect_ip 198.18.0.3', v: { address: '198.18.0.3', family: 'ipv4' } },
  { b: 'HTTP_GET', ok: 'connect_port 81', v: 81 },
  { b: 'HTTP_GET', ok: 'bindto 198.18.0.4', v: { address: '198.18.0.4', family: 'ipv4' } },
  { b: 'HTTP_GET', ok: 'bind_port 4001', v: 4001 },
  { b: 'HTTP_GET', ok: 'bind_if eth3', v: 'eth3' },
  { b: 'SSL_GET', ok: 'enable_sni', v: true, bad: 'enable_sni please', at: 'please' },
  { b: 'SSL_GET', ok: 'http_protocol 1.1', v: '1.1' },
  { b: 'SSL_GET', ok: 'url {\n path /s\n }', v: [null] },
  { b: 'SSL_GET', ok: 'virtualhost s.test', v: 's.test' },
  { b: 'MISC_CHECK', ok: 'misc_path /bin/check a b', v: { line: '/bin/check a b', argv: ['/bin/check', 'a', 'b'] }, bad: 'misc_path', at: 'misc_path' },
  { b: 'MISC_CHECK', ok: 'misc_timeout 5', v: 5, bad: 'misc_timeout 0', at: '0' },
  { b: 'MISC_CHECK', ok: 'misc_dynamic', v: true },
  { b: 'MISC_CHECK', ok: 'user nobody nogroup', v: { user: 'nobody', group: 'nogroup' }, bad: 'user a b c', at: 'c' },
  { b: 'MISC_CHECK', ok: 'delay_loop 4', v: ms(4) },
  { b: 'MISC_CHECK', ok: 'retry 1', v: 1 },
  { b: 'MISC_CHECK', ok: 'warmup 2', v: ms(2) },
  // ── url
  { b: 'url', ok: 'path /health?x=1', v: '/health?x=1', bad: 'path', at: 'path' },
  { b: 'url', ok: 'status_code 200-299 404', v: [{ min: 200, max: 299 }, { min: 404, max: 404 }], bad: 'status_code 200 99', at: '99' },
  { b: 'url', ok: 'digest 9B3A0C85A887A256D6939DA88AABD8CD', v: '9b3a0c85a887a256d6939da88aabd8cd', bad: 'digest zz3a0c85a887a256d6939da88aabd8cd', at: 'zz3a0c85a887a256d6939da88aabd8cd' },
  { b: 'url', ok: 'virtualhost u.test', v: 'u.test' },
];

// Timing and connection keywords are shared by the checker blocks: one row each, per block.
const SHARED: Array<[string, unknown, string?]> = [
  ['alpha', true], ['delay_loop 2', ms(2), 'delay_loop 2m'], ['connect_timeout 3', ms(3), 'connect_timeout -3'],
  ['retry 2', 2, 'retry 2.5'], ['nb_get_retry 2', 2], ['delay_before_retry 1', ms(1), 'delay_before_retry soon'],
  ['warmup 1', ms(1), 'warmup x'], ['rise 2', 2, 'rise 0'], ['fall 2', 2, 'fall -1'],
];
const CONNECT: Array<[string, unknown, string?]> = [
  ['connect_ip 198.18.0.3', { address: '198.18.0.3', family: 'ipv4' }, 'connect_ip 198.18.0.300'],
  ['connect_port 81', 81, 'connect_port 0'], ['bindto 2001:db8::4', { address: '2001:db8::4', family: 'ipv6' }, 'bindto ::g'],
  ['bind_port 4001', 4001, 'bind_port 65536'], ['bind_if eth3', 'eth3', 'bind_if e/3'],
];
for (const b of ['HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'MISC_CHECK']) {
  for (const [ok, v, bad] of [...SHARED, ...(b === 'MISC_CHECK' ? [] : CONNECT)]) {
    if (b === 'MISC_CHECK' && ok.startsWith('connect_timeout')) continue;
    const kw = ok.split(' ')[0]!;
    ROWS.push({ b, ok, v, field: kw === 'nb_get_retry' ? 'retry' : undefined, bad, at: bad?.split(' ')[1] });
  }
}

function fieldOf(_block: string, ok: string): string {
  return ok.trim().split(/\s+/)[0]!;
}

for (const row of ROWS) {
  const kw = fieldOf(row.b, row.ok);
  test(`${row.b} ${kw}: parses \`${row.ok.split('\n')[0]}\``, () => {
    const { text } = place(row.b, row.ok);
    const { root, diags } = validate(text);
    const errors = diags.filter((d) => d.severity === 'error');
    assert.deepEqual(errors, [], 'unexpected errors');
    const b = CONTEXTS[row.b]!.reach(root);
    assert.ok(b, 'block not reached');
    assert.deepEqual(plain(b.fields[row.field ?? kw]), row.v);
  });
  if (row.bad === undefined) continue;
  test(`${row.b} ${kw}: \`${row.bad.split('\n').join(' ')}\` is an error at the bad word`, () => {
    const { text } = place(row.b, row.bad!);
    const { diags } = validate(text);
    const errors = diags.filter((d) => d.severity === 'error');
    assert.ok(errors.length >= 1, 'no error');
    const lines = text.split('\n');
    const at = row.at ?? row.bad!.trim().split(/\s+/)[1]!;
    // The bad word: its first occurrence after the keyword's own line start.
    const start = lines.findIndex((l) => l.includes(row.bad!.split('\n')[0]!.trim().split(/\s+/)[0]!) && l.trim().startsWith(row.bad!.trim().split(/\s+/)[0]!));
    let want: { line: number; col: number } | null = null;
    for (let i = Math.max(0, start); i < lines.length && !want; i++) {
      const c = lines[i]!.indexOf(at, i === start ? lines[i]!.indexOf(row.bad!.trim().split(/\s+/)[0]!) + (at === row.bad!.trim().split(/\s+/)[0] ? 0 : 1) : 0);
      if (c >= 0) want = { line: i + 1, col: c + 1 };
    }
    assert.ok(want, `cannot find \`${at}\``);
    const hit = errors.find((e) => e.pos && e.pos.line === want!.line && e.pos.col === want!.col);
    assert.ok(hit, `no error at ${want!.line}:${want!.col}; got ${errors.map((e) => `${e.pos?.line}:${e.pos?.col} ${e.message}`).join(' | ')}`);
    assert.equal(hit.pos!.file, 'kw.conf');
  });
}

test('every keyword lvsd acts on has a row in this table', () => {
  const covered = new Set(ROWS.map((r) => `${r.b}\u0000${fieldOf(r.b, r.ok)}`));
  const missing: string[] = [];
  for (const b of allBlocks()) {
    if (!CONTEXTS[b.name]) continue;
    for (const [kw, ks] of Object.entries(b.keywords)) {
      if (ks.t === 'unsupported') continue;
      if (!covered.has(`${b.name}\u0000${kw}`)) missing.push(`${b.name}.${kw}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('every accepted-not-supported keyword warns with its position and does not stop the load', () => {
  let n = 0;
  for (const b of allBlocks() as BlockSpec[]) {
    if (!CONTEXTS[b.name]) continue;
    for (const [kw, ks] of Object.entries(b.keywords)) {
      if (ks.t !== 'unsupported') continue;
      const { text, lineNo, lineText } = place(b.name, `${kw} 1`);
      const { diags } = validate(text);
      assert.deepEqual(diags.filter((d) => d.severity === 'error'), [], `${b.name}.${kw}`);
      const w = diags.find((d) => d.code === 'WARN_CONFIG_UNSUPPORTED');
      assert.ok(w, `${b.name}.${kw}: no warning`);
      assert.match(w.message, new RegExp(`\`${kw.replace(/[-]/g, '\\-')}\` accepted, not supported yet`));
      assert.deepEqual(w.pos, { file: 'kw.conf', line: lineNo, col: lineText.indexOf(kw) + 1 });
      n++;
    }
  }
  assert.ok(n > 150, `${n} unsupported keywords checked`);
});

test('http_protocol other than 1.1 warns that lvsd always sends HTTP/1.1, at the value', () => {
  for (const v of ['1.0', '1.0C']) {
    const { text, lineNo, lineText } = place('HTTP_GET', `http_protocol ${v}`);
    const { diags } = validate(text);
    const w = diags.filter((d) => d.code === 'WARN_CONFIG_UNSUPPORTED');
    assert.equal(w.length, 1, v);
    assert.equal(w[0]!.message, `\`http_protocol ${v}\` accepted, not supported yet: lvsd always sends HTTP/1.1 requests (with \`Connection: close\`)`);
    assert.deepEqual(w[0]!.pos, { file: 'kw.conf', line: lineNo, col: lineText.indexOf(v) + 1 });
  }
  const { text } = place('SSL_GET', 'http_protocol 1.1');
  assert.deepEqual(validate(text).diags, []);
});
