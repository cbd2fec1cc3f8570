/**
 * compile(): defaults, keepalived's adjustments (each a warning with its position), meaning
 * checks (each an error with its position) and VIP ownership (ARCHITECTURE D4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, type LoadResult } from '../../../src/config/load.js';

function load(text: string): LoadResult {
  return loadConfigText(text, 'c.conf', 'keepalived', { hostname: 'host-1', configId: 'host-1' });
}
/** Diagnostics as `line:col severity CODE`, and the messages. */
function diags(r: LoadResult): string[] {
  return (r.ok ? r.warnings : r.diagnostics).map((d) => `${d.pos?.line}:${d.pos?.col} ${d.severity} ${d.code}`);
}
function messages(r: LoadResult): string[] {
  return (r.ok ? r.warnings : r.diagnostics).map((d) => d.message);
}
function ok(r: LoadResult) {
  assert.ok(r.ok, `did not load: ${messages(r).join(' | ')}`);
  return r.model;
}

const inst = (body: string, name = 'VI_1', vrid = 51, iface = 'eth0') =>
  `vrrp_instance ${name} {\n    interface ${iface}\n    virtual_router_id ${vrid}\n${body}\n}\n`;

test('defaults: router_id is the host name; an instance gets keepalived defaults', () => {
  const m = ok(load(inst('    virtual_ipaddress {\n        198.18.0.10/24\n    }')));
  assert.equal(m.global.routerId, 'host-1');
  const i = m.instances.VI_1!;
  assert.deepEqual([i.initialState, i.priority, i.advertIntervalMs, i.version, i.preempt, i.preemptDelayMs, i.auth],
    ['BACKUP', 100, 1000, 2, true, 0, null]);
  assert.deepEqual(i.garp, { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioDelayMs: 5000, lowerPrioRepeat: 5, intervalMs: 0, gnaIntervalMs: 0 });
  assert.ok(Object.isFrozen(m) && Object.isFrozen(m.instances.VI_1!.vips[0]), 'the model is deeply frozen');
});

test('GARP settings: global defaults, vrrp_min_garp, instance overrides', () => {
  const m = ok(load('global_defs {\n    vrrp_min_garp\n    vrrp_garp_interval 0.002\n}\n'
    + inst('    garp_master_refresh 30\n    garp_lower_prio_repeat 2\n    virtual_ipaddress {\n        198.18.0.10\n    }')));
  assert.deepEqual(m.instances.VI_1!.garp, { masterDelayMs: 0, masterRepeat: 1, masterRefreshMs: 30000, masterRefreshRepeat: 1, lowerPrioDelayMs: 0, lowerPrioRepeat: 2, intervalMs: 2, gnaIntervalMs: 0 });
});

test('nopreempt oddities warn as keepalived does', () => {
  const owner = load(inst('    priority 255\n    nopreempt\n    virtual_ipaddress {\n        198.18.0.10\n    }'));
  assert.deepEqual(diags(owner), ['5:5 warning WARN_CONFIG_ADJUSTED']);
  assert.match(messages(owner)[0]!, /no effect on the address owner/);
  const master = load(inst('    state MASTER\n    nopreempt\n    preempt_delay 10\n    virtual_ipaddress {\n        198.18.0.10\n    }'));
  assert.deepEqual(diags(master), ['5:5 warning WARN_CONFIG_ADJUSTED', '6:5 warning WARN_CONFIG_ADJUSTED']);
  assert.equal(ok(master).instances.VI_1!.preempt, true, 'nopreempt ignored with state MASTER');
  const delayed = load(inst('    nopreempt\n    preempt_delay 10\n    virtual_ipaddress {\n        198.18.0.10\n    }'));
  assert.deepEqual(diags(delayed), ['5:5 warning WARN_CONFIG_ADJUSTED']);
  assert.match(messages(delayed)[0]!, /preempt_delay has no effect with nopreempt/);
});

test('strict mode: MASTER needs priority 255, no unicast, authentication and preempt_delay ignored', () => {
  const r = load('global_defs {\n    vrrp_strict\n}\n' + inst([
    '    state MASTER', '    preempt_delay 5', '    authentication {', '        auth_type PASS', '        auth_pass x', '    }',
    '    unicast_peer {', '        198.18.0.2', '    }', '    virtual_ipaddress {', '        198.18.0.10', '    }',
  ].join('\n')));
  assert.deepEqual(diags(r), [
    '7:11 error ERR_CONFIG_CONFLICT', '8:5 warning WARN_CONFIG_ADJUSTED', '9:5 warning WARN_CONFIG_ADJUSTED', '13:5 error ERR_CONFIG_CONFLICT',
  ]);
  const none = load('global_defs {\n    vrrp_strict\n}\n' + inst(''));
  assert.deepEqual(diags(none), ['4:15 error ERR_CONFIG_MISSING']);
});

test('VRRP versions: IPv6 forces v3, v3 rounds to centiseconds, auth_pass is cut to 8 characters, AH is not used', () => {
  const v6 = load(inst('    version 2\n    virtual_ipaddress {\n        2001:db8::10/64\n    }'));
  assert.deepEqual(diags(v6), ['4:13 warning WARN_CONFIG_ADJUSTED']);
  assert.equal(ok(v6).instances.VI_1!.version, 3);
  const round = load(inst('    version 3\n    advert_int 0.123\n    virtual_ipaddress {\n        198.18.0.10\n    }'));
  assert.deepEqual(diags(round), ['5:16 warning WARN_CONFIG_ADJUSTED']);
  assert.equal(ok(round).instances.VI_1!.advertIntervalMs, 120);
  const long = load(inst('    authentication {\n        auth_type PASS\n        auth_pass 0123456789\n    }\n    virtual_ipaddress {\n        198.18.0.10\n    }'));
  assert.deepEqual(diags(long), ['6:19 warning WARN_CONFIG_ADJUSTED']);
  assert.deepEqual(ok(long).instances.VI_1!.auth, { type: 'PASS', password: '01234567' });
  const ah = load(inst('    authentication {\n        auth_type AH\n        auth_pass x\n    }\n    virtual_ipaddress {\n        198.18.0.10\n    }'));
  assert.deepEqual(diags(ah), ['5:19 warning WARN_CONFIG_UNSUPPORTED']);
  assert.equal(ok(ah).instances.VI_1!.auth, null);
  const big = load(inst('    version 3\n    advert_int 41\n    virtual_ipaddress {\n        198.18.0.10\n    }'));
  assert.deepEqual(diags(big), ['5:16 error ERR_CONFIG_VALUE']);
});

test('duplicate VRIDs: per interface and family; disjoint unicast peer sets are allowed', () => {
  const vip = (a: string) => `    virtual_ipaddress {\n        ${a}\n    }`;
  const fine = load(inst(vip('198.18.0.10'), 'A', 7, 'eth0') + inst(vip('198.18.1.10'), 'B', 7, 'eth1') + inst(vip('2001:db8::1/64'), 'C', 7, 'eth0'));
  ok(fine);
  const peers = (p: string) => `    unicast_peer {\n        ${p}\n    }\n`;
  ok(load(inst(peers('198.18.0.2') + vip('198.18.0.10'), 'A', 7) + inst(peers('198.18.0.3') + vip('198.18.0.11'), 'B', 7)));
  const clash = load(inst(peers('198.18.0.2') + vip('198.18.0.10'), 'A', 7) + inst(peers('198.18.0.2') + vip('198.18.0.11'), 'B', 7));
  assert.deepEqual(diags(clash), ['13:23 error ERR_CONFIG_CONFLICT']);
});

test('tracker weights are zeroed in a sync group and for the address owner, as keepalived does', () => {
  const base = 'vrrp_script chk {\n    script /bin/true\n    weight 10\n}\n';
  const body = '    track_script {\n        chk\n    }\n    virtual_ipaddress {\n        198.18.0.10\n    }';
  const grouped = load(base + 'vrrp_sync_group G {\n    group {\n        VI_1 VI_2\n    }\n}\n' + inst(body) + inst('    virtual_ipaddress {\n        198.18.1.10\n    }', 'VI_2', 52));
  assert.deepEqual(diags(grouped), ['14:9 warning WARN_CONFIG_ADJUSTED']);
  assert.equal(ok(grouped).instances.VI_1!.trackScripts[0]!.weight, 0);
  const kept = load(base + 'vrrp_sync_group G {\n    group {\n        VI_1 VI_2\n    }\n    sync_group_tracking_weight\n}\n' + inst(body) + inst('    virtual_ipaddress {\n        198.18.1.10\n    }', 'VI_2', 52));
  assert.equal(ok(kept).instances.VI_1!.trackScripts[0]!.weight, 10);
  const owner = load(base + inst('    priority 255\n' + body));
  assert.equal(ok(owner).instances.VI_1!.trackScripts[0]!.weight, 0);
  assert.match(messages(owner)[0]!, /address owner/);
});

const VI = inst('    virtual_ipaddress {\n        198.18.0.10/24\n        198.18.0.11/24\n    }');

test('virtual server adjustments keepalived makes, each a warning with its position', () => {
  const r = load(VI + [
    'virtual_server 198.18.0.10 0 {', // 9
    '    lvs_sched rr', '    sh-port', '    flag-3', '    ops', // 10-13
    '    lvs_method DR', '    quorum 10', '    hysteresis 20', // 14-16
    '    real_server 198.18.0.101 8080 {', '        weight 3', '    }', // 17-19
    '}',
    'virtual_server 198.18.0.11 80 {', // 21
    '    protocol TCP', '    lvs_method DR', '    real_server 198.18.0.101 8080 {', '    }', // 22-25
    '    real_server 198.18.0.102 {', '        HTTP_GET {', '            url {', '                path /', '            }', '            enable_sni', '        }', '    }',
    '}',
  ].join('\n') + '\n');
  assert.deepEqual(diags(r), [
    '9:16 warning WARN_CONFIG_ADJUSTED', // no protocol: UDP, as keepalived 2.x
    '9:16 warning WARN_CONFIG_ADJUSTED', // port 0 needs persistence: 360 s
    '11:5 warning WARN_CONFIG_ADJUSTED', // sh-port with rr
    '12:5 warning WARN_CONFIG_ADJUSTED', // flag-3
    '15:12 warning WARN_CONFIG_ADJUSTED', // quorum 10 > total weight 3
    '16:16 warning WARN_CONFIG_ADJUSTED', // hysteresis >= quorum
    // (a DR real server of a port-0 service keeps its port: no warning)
    '24:30 warning WARN_CONFIG_ADJUSTED', // DR port 8080 reset to 80
    '31:13 warning WARN_CONFIG_ADJUSTED', // enable_sni on HTTP_GET
  ]);
  const m = ok(r);
  const udp = m.virtualServers['udp:198.18.0.10:0']!;
  assert.deepEqual([udp.protocol, udp.persistenceTimeoutS, udp.ops, udp.quorum, udp.hysteresis, udp.schedulerFlags.shPort],
    ['udp', 360, true, 3, 2, false]);
  assert.deepEqual(Object.keys(udp.realServers), ['198.18.0.101:8080']);
  const tcp = m.virtualServers['tcp:198.18.0.11:80']!;
  assert.deepEqual(Object.keys(tcp.realServers), ['198.18.0.101:80', '198.18.0.102:80']);
  assert.equal((tcp.realServers['198.18.0.102:80']!.checkers[0] as { sni: boolean }).sni, false);
});

test('ops is cleared for TCP and ha_suspend for fwmarks; protocol is ignored for a fwmark service', () => {
  const r = load('fwmark_rules 1 {\n    198.18.0.10 udp 53\n}\n' + VI + [
    'virtual_server fwmark 1 {', '    protocol TCP', '    ha_suspend', '    real_server 198.18.0.101 53 {', '    }', '}', // 12-17
    'virtual_server 198.18.0.11 80 {', '    protocol TCP', '    ops', '    real_server 198.18.0.101 80 {', '    }', '}', // 18-23
  ].join('\n'));
  assert.deepEqual(diags(r), ['13:14 warning WARN_CONFIG_ADJUSTED', '14:5 warning WARN_CONFIG_ADJUSTED', '20:5 warning WARN_CONFIG_ADJUSTED']);
  const m = ok(r);
  assert.deepEqual([m.virtualServers['fwmark:1']!.protocol, m.virtualServers['fwmark:1']!.haSuspend], ['udp', false]);
  assert.equal(m.virtualServers['tcp:198.18.0.11:80']!.ops, false);
  // NAT real server of a fwmark service: no port = the packet's port
  assert.deepEqual(Object.keys(m.virtualServers['fwmark:1']!.realServers), ['198.18.0.101:53']);
});

test('fwmark_rules: unused rules warn; an address service the rules also match warns that the mark wins', () => {
  const r = load('fwmark_rules 1 {\n    198.18.0.0/24 tcp 80\n}\nfwmark_rules 9 {\n    198.18.9.9 tcp 1\n}\n' + VI + [
    'virtual_server fwmark 1 {', '    lvs_method DR', '    real_server 198.18.0.101 {', '        TCP_CHECK {', '            connect_port 80', '        }', '    }', '}',
    'virtual_server 198.18.0.10 80 {', '    protocol TCP', '    real_server 198.18.0.102 80 {', '    }', '}',
  ].join('\n'));
  assert.deepEqual(diags(r), ['4:14 warning WARN_CONFIG_ADJUSTED', '15:16 warning WARN_CONFIG_ADJUSTED']);
  assert.match(messages(r)[1]!, /198\.18\.0\.10:80\/tcp matches fwmark_rules 1 and virtual_server tcp:198\.18\.0\.10:80/);
});

test('persistence_granularity: IPv4 netmask, IPv6 prefix length, and it implies persistence', () => {
  const m = ok(load(VI + 'virtual_server 198.18.0.10 80 {\n    protocol TCP\n    persistence_granularity 255.255.255.240\n    real_server 198.18.0.101 80 {\n    }\n}\n'));
  assert.deepEqual([m.virtualServers['tcp:198.18.0.10:80']!.persistenceGranularity, m.virtualServers['tcp:198.18.0.10:80']!.persistenceTimeoutS], [28, 360]);
  const v6 = load(inst('    virtual_ipaddress {\n        2001:db8::10/64\n    }') +
    'virtual_server 2001:db8::10 80 {\n    protocol TCP\n    persistence_granularity 64\n    real_server 2001:db8::101 80 {\n    }\n}\n');
  assert.equal(ok(v6).virtualServers['tcp:[2001:db8::10]:80']!.persistenceGranularity, 64);
  const bad6 = load(inst('    virtual_ipaddress {\n        2001:db8::10/64\n    }') +
    'virtual_server 2001:db8::10 80 {\n    protocol TCP\n    persistence_granularity 255.255.255.0\n    real_server 2001:db8::101 80 {\n    }\n}\n');
  assert.deepEqual(diags(bad6), ['10:29 error ERR_CONFIG_VALUE']);
});

test('a virtual_server_group with fwmark entries needs their fwmark_rules too', () => {
  const r = load(VI + 'virtual_server_group G {\n    198.18.0.10 80\n    fwmark 4\n}\nvirtual_server group G {\n    protocol TCP\n    real_server 198.18.0.101 80 {\n    }\n}\n');
  assert.deepEqual(diags(r), ['13:16 error ERR_CONFIG_FWMARK_RULES']);
});

// ───────────────────────────── ownership (D4) ─────────────────────────────

test('ownership: service VIPs and NAT gateways (within the VIP prefix) are core, others kernel; overrides win', () => {
  const m = ok(load(inst([
    '    virtual_ipaddress {',
    '        198.18.0.10/24 dev eth0', // service
    '        198.18.1.1/24 dev eth1', // gateway of NAT real servers 198.18.1.x
    '        198.18.2.1/24 dev eth2', // a subnet with only DR real servers
    '        198.18.3.1/32 dev eth3', // a /32 never contains another address
    '        198.18.4.1/24 dev eth4 lvsd_owner core',
    '        198.18.5.1/24 dev eth5', // sorry server's gateway (NAT)
    '    }',
  ].join('\n')) + [
    'virtual_server 198.18.0.10 80 {', '    protocol TCP', '    lvs_method NAT', '    sorry_server 198.18.5.9 80',
    '    real_server 198.18.1.11 80 {', '    }', '    real_server 198.18.2.11 80 {', '        lvs_method DR', '    }',
    '    real_server 198.18.3.2 80 {', '    }', '}',
  ].join('\n')));
  const owners = m.instances.VI_1!.vips.map((v) => `${v.address} ${v.owner} ${v.ownerReason}`);
  assert.deepEqual(owners, [
    '198.18.0.10 core virtual_server', '198.18.1.1 core nat_gateway', '198.18.2.1 kernel local_service',
    '198.18.3.1 kernel local_service', '198.18.4.1 core override', '198.18.5.1 core nat_gateway',
  ]);
  assert.deepEqual(Object.keys(m.coreVips), ['198.18.0.10', '198.18.1.1', '198.18.4.1', '198.18.5.1']);
  assert.deepEqual(m.coreVips['198.18.1.1'], { address: '198.18.1.1', family: 'ipv4', interface: 'eth1', instance: 'VI_1', reason: 'nat_gateway' });
  const vs = m.virtualServers['tcp:198.18.0.10:80']!;
  assert.deepEqual([vs.ownerInstance, vs.interface], ['VI_1', 'eth0']);
});

test('ownership: a kernel override on a service VIP is honoured, with a warning', () => {
  const r = load(inst('    virtual_ipaddress {\n        198.18.0.10/24 lvsd_owner kernel\n    }') +
    'virtual_server 198.18.0.10 80 {\n    protocol TCP\n    real_server 198.18.0.101 80 {\n    }\n}\n');
  assert.deepEqual(diags(r), ['8:16 warning WARN_CONFIG_ADJUSTED']);
  assert.deepEqual(ok(r).coreVips, {});
});

test('ownership: lvs_interface claims addresses no instance holds, fwmark prefixes included', () => {
  const m = ok(load('global_defs {\n    lvs_interface eth9\n}\nfwmark_rules 2 {\n    198.18.7.0/30 tcp 0\n}\n' +
    'virtual_server fwmark 2 {\n    lvs_method DR\n    persistence_timeout 60\n    real_server 198.18.7.101 {\n        TCP_CHECK {\n            connect_port 22\n        }\n    }\n}\n'));
  assert.deepEqual(Object.values(m.coreVips).map((c) => `${c.address} ${c.interface} ${c.instance}`),
    ['198.18.7.0 eth9 null', '198.18.7.1 eth9 null', '198.18.7.2 eth9 null', '198.18.7.3 eth9 null']);
  assert.deepEqual([m.virtualServers['fwmark:2']!.ownerInstance, m.virtualServers['fwmark:2']!.interface], [null, 'eth9']);
  assert.deepEqual(m.fwmarkRules, [{ fwmark: 2, address: '198.18.7.0', prefixLen: 30, protocol: 'tcp', portMin: 0, portMax: 65535 }]);
});

test('ownership: a fwmark prefix follows the instance holding VIPs inside it', () => {
  const m = ok(load('fwmark_rules 2 {\n    198.18.7.0/24 udp 5000-5100\n}\n' + inst('    virtual_ipaddress {\n        198.18.7.10/24\n    }') +
    'virtual_server fwmark 2 {\n    lvs_method DR\n    real_server 198.18.7.101 {\n        MISC_CHECK {\n            misc_path /bin/true\n        }\n    }\n}\n'));
  assert.deepEqual([m.virtualServers['fwmark:2']!.ownerInstance, m.coreVips['198.18.7.10']!.reason], ['VI_1', 'virtual_server']);
});

test('ownership: addresses of one service split across instances or partly unheld are errors', () => {
  const group = 'virtual_server_group G {\n    198.18.0.10-11 80\n}\nvirtual_server group G {\n    protocol TCP\n    real_server 198.18.0.101 80 {\n    }\n}\n';
  const two = load(inst('    virtual_ipaddress {\n        198.18.0.10\n    }', 'A', 1) + inst('    virtual_ipaddress {\n        198.18.0.11\n    }', 'B', 2) + group);
  assert.deepEqual(diags(two), ['18:16 error ERR_CONFIG_OWNERSHIP']);
  assert.match(messages(two)[0]!, /held by several vrrp_instances \(`A`, `B`\)/);
  const synced = load('vrrp_sync_group S {\n    group {\n        A B\n    }\n}\n' + inst('    virtual_ipaddress {\n        198.18.0.10\n    }', 'A', 1)
    + inst('    virtual_ipaddress {\n        198.18.0.11\n    }', 'B', 2) + group);
  assert.equal(ok(synced).virtualServers['group:tcp:G']!.ownerInstance, 'A');
  const partial = load(inst('    virtual_ipaddress {\n        198.18.0.10\n    }', 'A', 1) + group);
  assert.deepEqual(diags(partial), ['11:16 error ERR_CONFIG_OWNERSHIP']);
  assert.match(messages(partial)[0]!, /198\.18\.0\.11 is in no vrrp_instance while other addresses of this service are in `A`/);
});

test('lvs_sync_daemon: the sync id defaults to the instance\'s VRID (keepalived vrrp_data.c), to 0 without an instance; defaults of group, port, ttl', () => {
  const vip = '    virtual_ipaddress {\n        198.18.0.10/24\n    }';
  const m = ok(load('global_defs {\n    lvs_sync_daemon eth1 VI_1\n}\n' + inst(vip, 'VI_1', 61)));
  assert.deepEqual(m.global.lvsSyncDaemon, { interface: 'eth1', instance: 'VI_1', syncId: 61, maxLen: null, group: '224.0.0.81', family: 'ipv4', port: 8848, ttl: 1 });
  const both = ok(load('global_defs {\n    lvs_sync_daemon eth1\n}\n' + inst(vip)));
  assert.equal(both.global.lvsSyncDaemon?.syncId, 0);
  assert.equal(both.global.lvsSyncDaemon?.instance, null);
  const given = ok(load('global_defs {\n    lvs_sync_daemon eth1 VI_1 id 0\n}\n' + inst(vip, 'VI_1', 61)));
  assert.equal(given.global.lvsSyncDaemon?.syncId, 0, 'an explicit id 0 is kept (0 = a backup that takes every syncid)');
  assert.equal(ok(load(inst(vip))).global.lvsSyncDaemon, null);
});

test('lvs_sync_daemon naming an unknown instance is an error at the instance word', () => {
  const r = load('global_defs {\n    lvs_sync_daemon eth1 id 4 inst VI_2\n}\n' + inst('    virtual_ipaddress {\n        198.18.0.10\n    }'));
  assert.equal(r.ok, false);
  assert.deepEqual(diags(r), ['2:36 error ERR_CONFIG_REFERENCE']);
  assert.match(messages(r)[0]!, /did you mean `VI_1`/);
});
