import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConnections, formatList, formatTimeout, formatTrace, largeNum } from '../../../src/cli/format/lvs.js';
import type { LvsResult, LvsReal } from '../../../src/forward/subsystem.js';
import { buildRuleset } from '../../../src/io/nft.js';
import { parseTraceArgs } from '../../../src/forward/subsystem.js';

const zero = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
const noRate = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
function real(address: string, port: number, o: Partial<LvsReal> = {}): LvsReal {
  return { key: `${address}:${port}`, address, port, forward: 'Masq', weight: 1, up: true, inService: true, activeConns: 0, inactiveConns: 0,
    persistConns: 0, upperThreshold: 0, lowerThreshold: 0, stats: zero, totals: zero, rates: noRate, sorry: false, ...o };
}
const result: LvsResult = {
  connTableSize: 4096,
  timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
  counters: {},
  services: [
    { key: 'tcp:198.18.0.10:80', virtualServer: 'tcp:198.18.0.10:80', protocol: 'TCP', family: 'ipv4', address: '198.18.0.10:80', fwmark: 0, group: null, scheduler: 'rr',
      schedulerFlags: [], persistentS: 0, granularity: 32, ops: false, active: true, quorumUp: true,
      stats: { conns: 9, inpkts: 54, outpkts: 45, inbytes: 3672, outbytes: 4563 }, totals: { conns: 19, inpkts: 154, outpkts: 145, inbytes: 13672, outbytes: 14563 }, rates: { cps: 1, inpps: 5, outpps: 4, inbps: 300, outbps: 380 },
      reals: [
        real('198.18.1.12', 8080, { activeConns: 2, inactiveConns: 1, stats: { conns: 3, inpkts: 18, outpkts: 15, inbytes: 1224, outbytes: 1521 } }),
        real('198.18.1.11', 8080, { stats: { conns: 6, inpkts: 36, outpkts: 30, inbytes: 2448, outbytes: 150_000_000 }, totals: { conns: 6, inpkts: 36, outpkts: 30, inbytes: 2448, outbytes: 150_000_001 } }),
        real('198.18.1.13', 8080, { up: false, inService: false }),
        real('198.18.1.99', 80, { key: 'sorry:198.18.1.99:80', sorry: true, inService: false, weight: 0, totals: { conns: 2, inpkts: 2, outpkts: 2, inbytes: 80, outbytes: 80 } }),
      ] },
    { key: 'fwmark:5', virtualServer: 'fwmark:5', protocol: 'TCP', family: 'ipv4', address: '', fwmark: 5, group: null, scheduler: 'wlc', schedulerFlags: [], persistentS: 60, granularity: 24,
      ops: false, active: true, quorumUp: true, stats: zero, totals: zero, rates: noRate, reals: [real('198.18.2.21', 0, { forward: 'Route', weight: 3 })] },
  ],
  conns: [{ proto: 'TCP', expireS: 899, state: 'ESTABLISHED', source: '198.18.0.100:40000', virtual: '198.18.0.10:80', destination: '198.18.1.12:8080', template: false, method: 'Masq' }],
};

test('lvsadm -L -n: ipvsadm layout, sorted, removed real servers hidden', () => {
  assert.equal(formatList(result), [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  198.18.0.10:80 rr',
    '  -> 198.18.1.11:8080             Masq    1      0          0         ',
    '  -> 198.18.1.12:8080             Masq    1      2          1         ',
    'FWM  5 wlc persistent 60 mask 255.255.255.0',
    '  -> 198.18.2.21:0                Route   3      0          0         ',
    '',
  ].join('\n'));
});

test('lvsadm -L -n --stats and --rate: print_largenum columns', () => {
  const s = formatList(result, { stats: true }).split('\n');
  assert.equal(s[1], 'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes');
  assert.equal(s[2], '  -> RemoteAddress:Port');
  assert.equal(s[3], 'TCP  198.18.0.10:80                      9       54       45     3672     4563');
  assert.equal(s[3]!.length, s[1]!.length, 'columns end under their titles');
  assert.equal(s[4], '  -> 198.18.1.11:8080                    6       36       30     2448  150000K');
  const r = formatList(result, { rate: true }).split('\n');
  assert.equal(r[1], 'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS');
  assert.equal(r[3], 'TCP  198.18.0.10:80                      1        5        4      300      380');
  assert.equal(largeNum(150_000_000, true), ' 150000000');
});

test('lvsadm -L -n -c and --timeout', () => {
  assert.equal(formatConnections(result), [
    'IPVS connection entries',
    'pro expire state       source             virtual            destination',
    'TCP 14:59  ESTABLISHED 198.18.0.100:40000 198.18.0.10:80     198.18.1.12:8080',
    '',
  ].join('\n'));
  assert.equal(formatTimeout(result), 'Timeout (tcp tcpfin udp): 900 120 300\n');
});

test('lvsadm -L -n -c with FULLNAT connections: a local column before the destination', () => {
  const rows = [
    { proto: 'TCP', expireS: 59, state: 'SYN_RECV', source: '198.18.0.100:40001', virtual: '198.18.0.20:80', destination: '198.18.1.51:8080', template: false, method: 'FullNat', local: '198.18.1.200:20007' },
    { proto: 'TCP', expireS: 899, state: 'ESTABLISHED', source: '198.18.0.100:40000', virtual: '198.18.0.10:80', destination: '198.18.1.12:8080', template: false, method: 'Masq' },
  ];
  assert.equal(formatConnections({ ...result, conns: rows }), [
    'IPVS connection entries',
    'pro expire state       source             virtual            local              destination',
    'TCP 00:59  SYN_RECV    198.18.0.100:40001 198.18.0.20:80     198.18.1.200:20007 198.18.1.51:8080',
    'TCP 14:59  ESTABLISHED 198.18.0.100:40000 198.18.0.10:80     -                  198.18.1.12:8080',
    '',
  ].join('\n'));
  const t = formatTrace({ flow: 'tcp 198.18.0.100:1 -> 198.18.0.20:80', service: 'tcp:198.18.0.20:80', virtualServer: 'tcp:198.18.0.20:80', matchedBy: 'address', fwmark: 0, serviceActive: true,
    existingConnection: null, persistence: null, scheduler: 'rr', dest: '198.18.1.51:8080', method: 'FNAT', reason: 'scheduler rr picked it',
    local: { address: '198.18.1.200', port: null, why: 'round-robin over the service\'s 2 local addresses' } });
  assert.match(t, /local: +198\.18\.1\.200 \(round-robin over the service's 2 local addresses\)/);
});

test('trace text names the service, the template and the pick', () => {
  const s = formatTrace({ flow: 'tcp 198.18.0.100:1 -> 198.18.2.11:443', service: 'fwmark:5', virtualServer: 'fwmark:5', matchedBy: 'fwmark', fwmark: 5, serviceActive: true,
    existingConnection: null, persistence: { template: 'fwmark 198.18.0.0/24 -> mark 5:0', hit: true, dest: '198.18.2.21:0' }, scheduler: 'wlc',
    dest: '198.18.2.21:0', method: 'DR', reason: 'persistence template' });
  assert.match(s, /service: +fwmark:5 \(matched by fwmark, fwmark 5\)/);
  assert.match(s, /hit → 198\.18\.2\.21:0/);
  assert.match(s, /real server: 198\.18\.2\.21:0 via DR/);
});

test('trace arguments: lvsadm form, flow form, and errors', () => {
  assert.deepEqual(parseTraceArgs({ proto: 'tcp', client: '198.18.0.1:4000', vip: '198.18.0.10:80' }), { proto: 'tcp', src: '198.18.0.1', sport: 4000, dst: '198.18.0.10', dport: 80 });
  assert.deepEqual(parseTraceArgs({ flow: 'udp [2001:db8::1]:5 [2001:db8::10]:53' }), { proto: 'udp', src: '2001:db8::1', sport: 5, dst: '2001:db8::10', dport: 53 });
  assert.throws(() => parseTraceArgs({ flow: 'tcp 198.18.0.1:4000 [2001:db8::10]:80' }), /one family/);
  assert.throws(() => parseTraceArgs({ flow: 'sctp 1.2.3.4:1 1.2.3.4:2' }), /tcp or udp/);
});

test('nft ruleset: atomic replace, VIP drops, NAT reply tuples except to local addresses', () => {
  const s = buildRuleset({ interfaces: ['eth0', 'eth1'], vips: ['198.18.0.10', '2001:db8::10'], natReals: [{ address: '198.18.1.11', proto: 'tcp', port: 8080 }],
    localAddresses: ['198.18.1.2'] });
  assert.match(s, /^table netdev lvsd \{\}\ndelete table netdev lvsd\ntable netdev lvsd \{/);
  assert.match(s, /set vip4 \{ type ipv4_addr; elements = \{ 198\.18\.0\.10 \} \}/);
  assert.match(s, /chain in_eth1 \{\n    type filter hook ingress device "eth1" priority -500; policy accept;/);
  assert.match(s, /ip saddr \. tcp sport @nat4_tcp ip daddr != @local4 drop/);
  assert.match(s, /ip6 daddr @vip6 drop/);
  assert.throws(() => buildRuleset({ interfaces: ['eth0"; flush ruleset'], vips: [], natReals: [], localAddresses: [] }), /bad interface/);
});

test('Prometheus series from the lvs result', async () => {
  const { Registry } = await import('prom-client');
  const { registerForwardingMetrics } = await import('../../../src/forward/metrics.js');
  const reg = new Registry();
  const off = registerForwardingMetrics(reg, async () => ({ ...result, counters: { frames: 10, bad_ihl: 1 } }));
  const text = await reg.metrics();
  // _total series are the monotonic totals, not the listing's counters (zeroed by -Z).
  assert.match(text, /lvsd_lvs_service_connections_total\{service="tcp:198\.18\.0\.10:80"\} 19/);
  assert.match(text, /lvsd_lvs_real_bytes_total\{service="tcp:198\.18\.0\.10:80",real="198\.18\.1\.11:8080",direction="out"\} 150000001/);
  assert.match(text, /lvsd_lvs_real_connections_total\{service="tcp:198\.18\.0\.10:80",real="sorry:198\.18\.1\.99:80"\} 2/);
  assert.match(text, /lvsd_lvs_real_connections\{service="tcp:198\.18\.0\.10:80",real="198\.18\.1\.12:8080",state="active"\} 2/);
  assert.match(text, /lvsd_forward_frames_total\{outcome="bad_ihl"\} 1/);
  off();
  assert.doesNotMatch(await reg.metrics(), /lvsd_lvs/);
});

test('lvsadm -L -n: scheduler flags as ipvsadm print_sched_flags, ops after persistence', () => {
  const svc = { ...result.services[0]!, scheduler: 'sh', schedulerFlags: ['sh-fallback', 'sh-port'], persistentS: 300, granularity: 24, ops: true };
  const s = formatList({ ...result, services: [svc] }).split('\n');
  assert.equal(s[3], 'TCP  198.18.0.10:80 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0 ops');
  const mh = formatList({ ...result, services: [{ ...svc, scheduler: 'mh', schedulerFlags: ['mh-port'], persistentS: 0, ops: false }] }).split('\n');
  assert.equal(mh[3], 'TCP  198.18.0.10:80 mh (mh-port)');
});

test('lvsadm -L -n --thresholds and --persistent-conn: ipvsadm print_title rows and columns', () => {
  const t = formatList(result, { thresholds: true }).split('\n');
  assert.equal(t[1], 'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ');
  assert.equal(t[2], '  -> RemoteAddress:Port');
  assert.equal(t[3], 'TCP  198.18.0.10:80 rr');
  assert.equal(t[5], '  -> 198.18.1.12:8080             0          0          2          1         ');
  const p = formatList(result, { persistentConn: true }).split('\n');
  assert.equal(p[1], 'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ');
  assert.equal(p[2], '  -> RemoteAddress:Port');
  assert.equal(p[5], '  -> 198.18.1.12:8080             1         0           2          1         ');
});

test('lvsadm -L -n: a virtual_server_group lists one row per IPVS service (ipvsadm shows each entry); IPv4 before IPv6, by address bytes', () => {
  const entry = (key: string, address: string, fwmark = 0, family: 'ipv4' | 'ipv6' = 'ipv4') => ({
    ...result.services[0]!, key, virtualServer: 'group:tcp:web', group: 'web', address, fwmark, family,
    reals: [real(family === 'ipv6' ? '2001:db8:1::11' : '198.18.1.11', 0)],
  });
  const s = formatList({ ...result, services: [
    entry('group:tcp:web@fwmark:9', '', 9), entry('group:tcp:web@198.18.0.100:80', '198.18.0.100:80'),
    entry('group:tcp:web6@[2001:db8::10]:80', '[2001:db8::10]:80', 0, 'ipv6'), entry('group:tcp:web@198.18.0.21:80', '198.18.0.21:80'),
  ] }).split('\n');
  assert.deepEqual(s.filter((l) => !l.startsWith('  ->')).slice(2), [
    'TCP  198.18.0.21:80 rr', 'TCP  198.18.0.100:80 rr', 'TCP  [2001:db8::10]:80 rr', 'FWM  9 rr', '',
  ]);
  assert.ok(!s.join('\n').includes('group:'), 'no group pseudo-row');
  assert.ok(s.includes('  -> 198.18.1.11:0                Masq    1      0          0         '));
});

test('trace text names the virtual_server of a group entry', () => {
  const s = formatTrace({ flow: 'tcp 198.18.0.100:1 -> 198.18.0.21:80', service: 'group:tcp:web@198.18.0.21:80', virtualServer: 'group:tcp:web', matchedBy: 'address', fwmark: 0,
    serviceActive: true, existingConnection: null, persistence: null, scheduler: 'rr', dest: '198.18.1.11:80', method: 'NAT', reason: 'scheduler rr picked it' });
  assert.match(s, /service: +group:tcp:web@198\.18\.0\.21:80 \(virtual_server group:tcp:web, matched by address\)/);
});

test('lvsadm -L -n with TUN real servers of the other family: brackets by the real server\'s family, cut at 28 columns under an IPv4 service (ipvsadm)', () => {
  const svc = (family: 'ipv4' | 'ipv6', address: string, reals: LvsReal[]) => ({
    key: `tcp:${address}`, virtualServer: `tcp:${address}`, protocol: 'TCP' as const, family, address, fwmark: 0, group: null, scheduler: 'rr' as const,
    schedulerFlags: [], persistentS: 0, granularity: 32, ops: false, active: true, quorumUp: true, stats: zero, totals: zero, rates: noRate, reals,
  });
  const text = formatList({ ...result, services: [
    svc('ipv4', '198.18.0.17:80', [real('2001:db8:1111:2222:3333:4444:5555:42', 80, { forward: 'Tunnel' })]),
    svc('ipv6', '[2001:db8::17]:80', [real('198.18.1.41', 80, { forward: 'Tunnel' })]),
  ] });
  assert.match(text, /\n {2}-> \[2001:db8:1111:2222:3333:444 Tunnel /, 'an IPv6 real server under an IPv4 service: bracketed, cut at 28');
  assert.match(text, /\n {2}-> 198\.18\.1\.41:80 +Tunnel/, 'an IPv4 real server under an IPv6 service: no brackets');
});
