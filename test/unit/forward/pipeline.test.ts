import { test } from 'node:test';
import { PerformanceObserver } from 'node:perf_hooks';
import assert from 'node:assert/strict';
import { A_DROP, A_IGNORE, A_TX } from '../../../src/forward/pipeline.js';
import { S_CONNS, S_INPKTS, S_OUTPKTS, STAT_STRIDE } from '../../../src/forward/stats.js';
import { arpFrame, frame, hex, ipPacket } from './lib/frames.js';
import { CLIENT, CLIENT6, MAC, Runner, standardPipeline, standardSpec } from './lib/topo.js';
import type { ModelSpec } from './lib/model.js';

const VIP = '198.18.0.10';

function syn(run: Runner, src: string, sport: number, dst: string, dport: number, now = 1) {
  return run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src, dst, l4: { proto: 'tcp', sport, dport, flags: 'S', seq: 1 } }), 0, now);
}
function ack(run: Runner, src: string, sport: number, dst: string, dport: number, now = 1, flags = 'A') {
  return run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src, dst, l4: { proto: 'tcp', sport, dport, flags, seq: 2, ack: 1 } }), 0, now);
}
function replyFrom(run: Runner, rs: string, rsMac: string, sport: number, dport: number, flags: string, now = 1) {
  return run.run(frame({ dstMac: MAC.eth1, srcMac: rsMac, src: rs, dst: CLIENT, l4: { proto: 'tcp', sport, dport, flags, seq: 9, ack: 2 } }), 1, now);
}
/** IPv4 destination of an output frame (no vnet). */
function dstOf(out: Uint8Array | null): string {
  assert.ok(out);
  return `${out[30]}.${out[31]}.${out[32]}.${out[33]}`;
}

test('rr alternates, stats count connections and packets both ways, active/inactive follow TCP states', () => {
  const { pl } = standardPipeline();
  const run = new Runner(pl);
  const picks: string[] = [];
  for (let i = 0; i < 6; i++) picks.push(dstOf(syn(run, CLIENT, 50000 + i, VIP, 80).out));
  assert.deepEqual(picks, ['198.18.1.12', '198.18.1.11', '198.18.1.12', '198.18.1.11', '198.18.1.12', '198.18.1.11']);
  const svc = pl.service('tcp:198.18.0.10:80')!;
  const d12 = svc.dests.find((d) => d.key === '198.18.1.12:8080')!;
  // Mainline tcp_state_active_table[]: SYN_RECV is active (ipvs: count pre-established TCP states as active).
  assert.equal(d12.activeConns, 3, 'SYN_RECV counts active');
  assert.equal(d12.inactiveConns, 0);
  assert.equal(replyFrom(run, '198.18.1.12', MAC.rs12, 8080, 50000, 'SA').action, A_TX);
  assert.equal(ack(run, CLIENT, 50000, VIP, 80).action, A_TX);
  assert.equal(d12.activeConns, 3, 'ESTABLISHED stays active');
  assert.equal(d12.inactiveConns, 0);
  const sv = pl.stats.svc;
  assert.equal(sv[svc.statsSlot * STAT_STRIDE + S_CONNS], 6);
  assert.equal(sv[svc.statsSlot * STAT_STRIDE + S_INPKTS], 7);
  assert.equal(sv[svc.statsSlot * STAT_STRIDE + S_OUTPKTS], 1);
  // Client FIN (CLOSE_WAIT: inactive) then server FIN: the connection ends in TIME_WAIT, 120 s.
  ack(run, CLIENT, 50000, VIP, 80, 2, 'FA');
  assert.equal(d12.activeConns, 2, 'CLOSE_WAIT counts inactive');
  assert.equal(d12.inactiveConns, 1);
  replyFrom(run, '198.18.1.12', MAC.rs12, 8080, 50000, 'FA', 2);
  assert.equal(d12.activeConns, 2);
  assert.equal(d12.inactiveConns, 1, 'TIME_WAIT counts inactive');
  const row = pl.listConns().find((c) => c.source === `${CLIENT}:50000`)!;
  assert.equal(row.state, 'TIME_WAIT');
  assert.equal(row.expireS, 120);
  // Expiry by the wheel: SYN_RECV (60 s) entries go first.
  pl.advance(2 + 600);
  assert.equal(pl.conns.conns, 1, 'only the TIME_WAIT entry is left after 60 s');
  assert.equal(d12.activeConns, 0);
  pl.advance(2 + 1200);
  assert.equal(pl.conns.conns, 0);
  assert.equal(d12.inactiveConns, 0);
});

test('lc weighs a half-open (SYN_RECV) connection as active: 256 against TIME_WAIT connections', () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, scheduler: 'lc', reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.12', port: 8080 }] }];
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  // Kernel list order: .12 first. Two connections to .12 closed into TIME_WAIT (inactive).
  for (const port of [1000, 1002]) {
    assert.equal(dstOf(syn(run, CLIENT, port, VIP, 80).out), '198.18.1.12');
    replyFrom(run, '198.18.1.12', MAC.rs12, 8080, port, 'SA');
    ack(run, CLIENT, port, VIP, 80, 1, 'FA');
    replyFrom(run, '198.18.1.12', MAC.rs12, 8080, port, 'FA');
    // The next one goes to .11 (.12 has 1 inactive, .11 has 0): leave it half open.
    if (port === 1000) assert.equal(dstOf(syn(run, CLIENT, 1001, VIP, 80).out), '198.18.1.11');
  }
  const svc = pl.service('tcp:198.18.0.10:80')!;
  const [d12, d11] = [svc.dests.find((d) => d.key === '198.18.1.12:8080')!, svc.dests.find((d) => d.key === '198.18.1.11:8080')!];
  assert.deepEqual([d12.activeConns, d12.inactiveConns, d11.activeConns, d11.inactiveConns], [0, 2, 1, 0]);
  // Overhead (ip_vs_dest_conn_overhead): .12 = 2, .11 = 256 → .12, where counting SYN_RECV
  // inactive (the old rule) would have given .11 (1 < 2).
  assert.equal(dstOf(syn(run, CLIENT, 1003, VIP, 80).out), '198.18.1.12');
});

test('lvs_timeouts change the ESTABLISHED and UDP timeouts', () => {
  const spec = standardSpec();
  spec.timeouts = { tcpS: 30, tcpFinS: 5, udpS: 7 };
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  syn(run, CLIENT, 1000, VIP, 80);
  replyFrom(run, '198.18.1.12', MAC.rs12, 8080, 1000, 'SA');
  ack(run, CLIENT, 1000, VIP, 80);
  run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: VIP, l4: { proto: 'udp', sport: 7, dport: 53 } }), 0, 1);
  const rows = pl.listConns();
  assert.equal(rows.find((r) => r.proto === 'TCP')!.expireS, 30);
  assert.equal(rows.find((r) => r.proto === 'UDP')!.expireS, 7);
});

test('health: a down real server leaves scheduling and its connections are expired on their next packet', () => {
  const { pl } = standardPipeline();
  const run = new Runner(pl);
  assert.equal(dstOf(syn(run, CLIENT, 2000, VIP, 80).out), '198.18.1.12');
  assert.ok(pl.setRealHealth('tcp:198.18.0.10:80', '198.18.1.12:8080', { up: false }));
  for (let i = 0; i < 4; i++) assert.equal(dstOf(syn(run, CLIENT, 2100 + i, VIP, 80).out), '198.18.1.11');
  // The old connection's next segment: expire_nodest_conn, then a non-SYN without a connection → RST.
  const r = ack(run, CLIENT, 2000, VIP, 80);
  assert.equal(r.action, A_TX);
  assert.equal(r.outIf, 0, 'RST back to the client instead of a black hole');
  assert.equal(r.out![47]! & 0x04, 0x04);
  assert.equal(pl.counters().nodest_expired, 1);
  // Recovery: back in rotation.
  pl.setRealHealth('tcp:198.18.0.10:80', '198.18.1.12:8080', { up: true });
  const after = [dstOf(syn(run, CLIENT, 2200, VIP, 80).out), dstOf(syn(run, CLIENT, 2201, VIP, 80).out)].sort();
  assert.deepEqual(after, ['198.18.1.11', '198.18.1.12']);
});

test('health with inhibit_on_failure: weight 0 quiesces, existing connections continue', () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, reals: [{ address: '198.18.1.11', port: 8080, inhibitOnFailure: true }, { address: '198.18.1.12', port: 8080, inhibitOnFailure: true }] }];
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  assert.equal(dstOf(syn(run, CLIENT, 3000, VIP, 80).out), '198.18.1.12');
  pl.setRealHealth('tcp:198.18.0.10:80', '198.18.1.12:8080', { up: false });
  assert.equal(dstOf(ack(run, CLIENT, 3000, VIP, 80).out), '198.18.1.12', 'existing connection continues');
  assert.equal(dstOf(syn(run, CLIENT, 3001, VIP, 80).out), '198.18.1.11');
  assert.equal(dstOf(syn(run, CLIENT, 3002, VIP, 80).out), '198.18.1.11');
});

test('no real server: ICMP port unreachable (ip_vs_leave); quorum lost: sorry server only', () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, sorry: { address: '198.18.1.99', port: 80 }, reals: [{ address: '198.18.1.11', port: 8080 }] }];
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  pl.setRealHealth('tcp:198.18.0.10:80', '198.18.1.11:8080', { up: false });
  const r = syn(run, CLIENT, 4000, VIP, 80);
  assert.equal(r.action, A_TX);
  assert.equal(r.out![23], 1, 'ICMP');
  assert.equal(r.out![34], 3);
  assert.equal(r.out![35], 3);
  pl.setServiceQuorum('tcp:198.18.0.10:80', false);
  const s = syn(run, CLIENT, 4001, VIP, 80);
  assert.equal(dstOf(s.out), '198.18.1.99');
  assert.equal((s.out![36]! << 8) | s.out![37]!, 80, 'sorry server port');
  pl.setServiceQuorum('tcp:198.18.0.10:80', true);
  pl.setRealHealth('tcp:198.18.0.10:80', '198.18.1.11:8080', { up: true });
  assert.equal(dstOf(syn(run, CLIENT, 4002, VIP, 80).out), '198.18.1.11');
});

test('persistence: a client stays on one real server across connections; granularity groups a /24', () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, persistenceTimeoutS: 300, persistenceGranularity: 24,
    reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.12', port: 8080 }] }];
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const first = dstOf(syn(run, '198.18.100.7', 5000, VIP, 80).out);
  for (let i = 1; i < 5; i++) assert.equal(dstOf(syn(run, '198.18.100.7', 5000 + i, VIP, 80).out), first);
  assert.equal(dstOf(syn(run, '198.18.100.99', 6000, VIP, 80).out), first, 'same /24 → same template');
  const other = dstOf(syn(run, '198.18.101.1', 6000, VIP, 80).out);
  assert.notEqual(other, first, 'another /24 is scheduled (rr moves on)');
  assert.equal(pl.conns.templates, 2);
  const tr = pl.trace('tcp', '198.18.100.50', 7000, VIP, 80);
  assert.equal(tr.persistence?.hit, true);
  assert.equal(tr.dest, `${first}:8080`);
  // Template expiry: not while it controls connections; after they are gone, 300 s later.
  pl.advance(1 + 600); // SYN_RECV connections (60 s) expire
  assert.equal(pl.conns.conns, 0);
  pl.advance(1 + 3000 + 600);
  assert.equal(pl.conns.templates, 0);
});

test('firewall-mark service: rules classify 80 and 443 into one mark; persistence spans both ports', () => {
  const spec: ModelSpec = {
    services: [{ match: { kind: 'fwmark', fwmark: 7 }, persistenceTimeoutS: 60, reals: [{ address: '198.18.1.11', port: 0 }, { address: '198.18.1.12', port: 0 }] }],
    coreVips: [{ address: VIP, interface: 'eth0' }],
    fwmarkRules: [
      { fwmark: 7, address: VIP, prefixLen: 32, protocol: 'tcp', portMin: 80, portMax: 80 },
      { fwmark: 7, address: VIP, prefixLen: 32, protocol: 'tcp', portMin: 443, portMax: 443 },
    ],
  };
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const a = syn(run, CLIENT, 8000, VIP, 80);
  const b = syn(run, CLIENT, 8001, VIP, 443);
  assert.equal(dstOf(a.out), dstOf(b.out));
  assert.equal((b.out![36]! << 8) | b.out![37]!, 443, 'port 0 real server keeps the packet port');
  const c = syn(run, '198.18.100.8', 8002, VIP, 443);
  assert.notEqual(dstOf(c.out), dstOf(a.out));
  assert.equal(syn(run, CLIENT, 8003, VIP, 8080).action, A_TX, 'unmarked port on the VIP: RST');
  assert.equal(pl.counters().no_service, 1);
  const tr = pl.trace('tcp', CLIENT, 9, VIP, 443);
  assert.equal(tr.service, 'fwmark:7');
  assert.equal(tr.matchedBy, 'fwmark');
  assert.equal(tr.fwmark, 7);
  assert.equal(pl.listConns().filter((r) => r.template)[0]!.proto, 'IP');
});

test('virtual_server_group: a range of VIPs and a port share one service', () => {
  const spec: ModelSpec = {
    services: [{ match: { kind: 'group', group: 'web' }, reals: [{ address: '198.18.1.11', port: 80 }] }],
    groups: [{ name: 'web', entries: [{ kind: 'range', first: '198.18.0.20', last: '198.18.0.23', port: 80 }] }],
    coreVips: [{ address: '198.18.0.21', interface: 'eth0' }, { address: '198.18.0.23', interface: 'eth0' }],
  };
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  assert.equal(dstOf(syn(run, CLIENT, 1, '198.18.0.21', 80).out), '198.18.1.11');
  assert.equal(dstOf(syn(run, CLIENT, 2, '198.18.0.23', 80).out), '198.18.1.11');
  assert.equal(syn(run, CLIENT, 3, '198.18.0.24', 80).action, A_IGNORE);
});

test('one-packet scheduling (ops) for UDP: no connection kept, each datagram scheduled', () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 53 }, protocol: 'udp', ops: true, reals: [{ address: '198.18.1.11', port: 53 }, { address: '198.18.1.12', port: 53 }] }];
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const dsts: string[] = [];
  for (let i = 0; i < 4; i++) {
    dsts.push(dstOf(run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: VIP, l4: { proto: 'udp', sport: 999, dport: 53 } }), 0).out));
  }
  assert.deepEqual(dsts, ['198.18.1.12', '198.18.1.11', '198.18.1.12', '198.18.1.11']);
  assert.equal(pl.conns.conns, 0);
});

test('connection reuse: a SYN on a TIME_WAIT connection is scheduled anew', () => {
  const { pl } = standardPipeline();
  const run = new Runner(pl);
  assert.equal(dstOf(syn(run, CLIENT, 9000, VIP, 80).out), '198.18.1.12');
  replyFrom(run, '198.18.1.12', MAC.rs12, 8080, 9000, 'SA');
  ack(run, CLIENT, 9000, VIP, 80, 1, 'FA');
  replyFrom(run, '198.18.1.12', MAC.rs12, 8080, 9000, 'FA');
  assert.equal(pl.listConns()[0]!.state, 'TIME_WAIT');
  assert.equal(dstOf(syn(run, CLIENT, 9000, VIP, 80).out), '198.18.1.11');
  assert.equal(pl.counters().conn_reused, 1);
});

test('a client port reused towards another virtual port on the same real server: the reply goes out from the newest connection\'s VIP:port', () => {
  const spec: ModelSpec = { ...standardSpec() };
  const reals = [{ address: '198.18.1.11', port: 8080 }];
  spec.services = [80, 81].map((port) => ({ match: { kind: 'addr' as const, address: VIP, port }, scheduler: 'rr', reals }));
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const srcOf = (out: Uint8Array | null) => { assert.ok(out); return `${out[26]}.${out[27]}.${out[28]}.${out[29]}:${(out[34]! << 8) | out[35]!}`; };
  // :80 from port 9000, closed into TIME_WAIT (the client closes first, as curl does).
  assert.equal(dstOf(syn(run, CLIENT, 9000, VIP, 80).out), '198.18.1.11');
  assert.equal(srcOf(replyFrom(run, '198.18.1.11', MAC.rs11, 8080, 9000, 'SA').out), `${VIP}:80`);
  ack(run, CLIENT, 9000, VIP, 80, 1, 'FA');
  replyFrom(run, '198.18.1.11', MAC.rs11, 8080, 9000, 'FA');
  // The same client port to :81 leads to the same RIP:rport → CIP:cport reply tuple.
  assert.equal(dstOf(syn(run, CLIENT, 9000, VIP, 81, 2).out), '198.18.1.11');
  assert.equal(srcOf(replyFrom(run, '198.18.1.11', MAC.rs11, 8080, 9000, 'SA', 2).out), `${VIP}:81`, 'the reply belongs to the newest connection');
  assert.deepEqual(pl.listConns().map((c) => `${c.virtual} ${c.state}`).sort(), [`${VIP}:80 TIME_WAIT`, `${VIP}:81 SYN_RECV`]);
  // The old one ends by its own timer; the new one keeps its reply key.
  pl.advance(2 + 1300);
  assert.equal(pl.conns.conns, 0);
  assert.equal(dstOf(syn(run, CLIENT, 9001, VIP, 81, 1400).out), '198.18.1.11');
  assert.equal(srcOf(replyFrom(run, '198.18.1.11', MAC.rs11, 8080, 9001, 'SA', 1400).out), `${VIP}:81`);
});

test('a missing neighbour drops and asks for resolution; unclaimed VIPs are not served', () => {
  const { pl, model } = standardPipeline();
  const run = new Runner(pl);
  pl.setNeighbour('198.18.1.12', null);
  assert.equal(syn(run, CLIENT, 1, VIP, 80).action, A_DROP);
  assert.deepEqual(pl.takeNeighbourRequests(), [{ address: '198.18.1.12', ifname: 'eth1' }]);
  pl.setClaim(null, Object.values(model.coreVips), false);
  const arp = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: VIP, l4: { proto: 'icmp', type: 8 } }), 0);
  assert.equal(arp.action, A_IGNORE);
});

test('upper threshold overloads a real server until connections drop below the lower one', () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, reals: [{ address: '198.18.1.11', port: 8080, upper: 3, lower: 1 }, { address: '198.18.1.12', port: 8080 }] }];
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const d11 = pl.service('tcp:198.18.0.10:80')!.dests.find((d) => d.key === '198.18.1.11:8080')!;
  // Three connections reach .11 at ticks 1, 101, 201 (10 s apart: SYN_RECV expires 60 s later).
  const on11: number[] = [];
  for (let i = 0; i < 6; i++) {
    const now = 1 + Math.floor(i / 2) * 100;
    if (dstOf(syn(run, CLIENT, 100 + i, VIP, 80, now).out) === '198.18.1.11') on11.push(now);
  }
  assert.deepEqual(on11, [1, 101, 201]);
  assert.equal(d11.overloaded, true, 'total 3 reached uthreshold 3 (ip_vs_bind_dest)');
  assert.equal(dstOf(syn(run, CLIENT, 200, VIP, 80, 300).out), '198.18.1.12');
  assert.equal(dstOf(syn(run, CLIENT, 201, VIP, 80, 300).out), '198.18.1.12', 'overloaded: skipped');
  // The first expires: total 2. Without an lthreshold 2 × 4 < 3 × 3 would clear OVERLOAD;
  // with lthreshold 1 it stays until total < 1 (ip_vs_unbind_dest).
  pl.advance(1 + 600);
  assert.equal(d11.totalConns, 2);
  assert.equal(d11.overloaded, true, 'still above the lower threshold');
  assert.equal(dstOf(syn(run, CLIENT, 202, VIP, 80, 602).out), '198.18.1.12');
  pl.advance(101 + 600);
  assert.equal(d11.totalConns, 1);
  assert.equal(d11.overloaded, true, '1 is not below lthreshold 1');
  assert.equal(dstOf(syn(run, CLIENT, 203, VIP, 80, 702).out), '198.18.1.12');
  pl.advance(201 + 600);
  assert.equal(d11.totalConns, 0);
  assert.equal(d11.overloaded, false, 'below the lower threshold: cleared');
  const next = [dstOf(syn(run, CLIENT, 204, VIP, 80, 802).out), dstOf(syn(run, CLIENT, 205, VIP, 80, 802).out)];
  assert.ok(next.includes('198.18.1.11'), next.join(','));
});

test('reload: a removed or raised uthreshold clears OVERLOAD at once (__ip_vs_update_dest); a lowered one does not', () => {
  const mk = (upper: number) => {
    const spec: ModelSpec = { ...standardSpec() };
    spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, reals: [{ address: '198.18.1.11', port: 8080, upper }, { address: '198.18.1.12', port: 8080 }] }];
    return spec;
  };
  const { pl } = standardPipeline(mk(2));
  const run = new Runner(pl);
  for (let i = 0; i < 4; i++) syn(run, CLIENT, 300 + i, VIP, 80);
  const d11 = pl.service('tcp:198.18.0.10:80')!.dests.find((d) => d.key === '198.18.1.11:8080')!;
  assert.equal(d11.overloaded, true);
  const slots = { svc: { 'tcp:198.18.0.10:80': 0 }, dest: {} };
  pl.applyModel(standardPipeline(mk(1)).model, slots);
  assert.equal(d11.overloaded, true, 'lowered: stays');
  pl.applyModel(standardPipeline(mk(5)).model, slots);
  assert.equal(d11.overloaded, false, 'raised: cleared');
  assert.equal(d11.upperThreshold, 5);
  assert.equal(dstOf(syn(run, CLIENT, 310, VIP, 80).out) === '198.18.1.11' || dstOf(syn(run, CLIENT, 311, VIP, 80).out) === '198.18.1.11', true);
  for (let i = 0; i < 6; i++) syn(run, CLIENT, 320 + i, VIP, 80);
  assert.equal(d11.overloaded, true, 'at 5');
  pl.applyModel(standardPipeline(mk(0)).model, slots);
  assert.equal(d11.overloaded, false, 'removed: cleared');
});

test('trace reports an existing connection and reasons without creating state', () => {
  const { pl } = standardPipeline();
  const run = new Runner(pl);
  syn(run, CLIENT, 1234, VIP, 80);
  const t1 = pl.trace('tcp', CLIENT, 1234, VIP, 80);
  assert.equal(t1.existingConnection?.dest, '198.18.1.12:8080');
  const t2 = pl.trace('tcp', CLIENT, 1, '198.18.0.99', 80);
  assert.equal(t2.service, null);
  assert.equal(t2.reason, 'no virtual service matches');
  const n = pl.conns.conns;
  const t3 = pl.trace('udp', CLIENT, 5, VIP, 53);
  assert.equal(t3.dest, '198.18.1.31:53');
  assert.equal(t3.method, 'NAT');
  assert.equal(pl.conns.conns, n);
  void hex;
});

test('a service owned by a VRRP instance forwards only while that instance has claimed it', () => {
  const spec: ModelSpec = {
    services: [{ match: { kind: 'addr', address: VIP, port: 80 }, ownerInstance: 'VI_1', reals: [{ address: '198.18.1.11', port: 8080 }] }],
    coreVips: [{ address: VIP, interface: 'eth0', instance: 'VI_1' }],
  };
  const { pl, model } = standardPipeline(spec);
  const run = new Runner(pl);
  // standardPipeline claimed the VIPs with instance null: the VIP answers, the service is inactive.
  const r = syn(run, CLIENT, 1, VIP, 80);
  assert.equal(r.action, A_TX);
  assert.equal(r.outIf, 0, 'RST from the VIP, not forwarded');
  assert.equal(pl.trace('tcp', CLIENT, 2, VIP, 80).serviceActive, false);
  pl.setClaim('VI_1', Object.values(model.coreVips), true);
  assert.equal(dstOf(syn(run, CLIENT, 3, VIP, 80).out), '198.18.1.11');
  pl.setClaim('VI_1', Object.values(model.coreVips), false);
  assert.equal(syn(run, CLIENT, 4, VIP, 80).action, A_IGNORE, 'released: neither answered nor forwarded');
});

test('reload rr → wlc: the service is edited in place (ip_vs_edit_service); an established connection keeps flowing', () => {
  const { pl } = standardPipeline();
  const run = new Runner(pl);
  assert.equal(dstOf(syn(run, CLIENT, 7000, VIP, 80).out), '198.18.1.12');
  replyFrom(run, '198.18.1.12', MAC.rs12, 8080, 7000, 'SA');
  ack(run, CLIENT, 7000, VIP, 80);
  const svc = pl.service('tcp:198.18.0.10:80')!;
  const d12 = svc.dests.find((d) => d.key === '198.18.1.12:8080')!;
  const conns0 = pl.stats.svc[svc.statsSlot * STAT_STRIDE + S_CONNS];
  const spec = standardSpec();
  spec.services[0] = { ...spec.services[0]!, scheduler: 'wlc' };
  const { model: next } = standardPipeline(spec);
  pl.applyModel(next, { svc: { [svc.key]: svc.statsSlot }, dest: Object.fromEntries(svc.dests.map((d) => [`${svc.key}|${d.key}`, d.statsSlot])) });
  assert.equal(pl.service('tcp:198.18.0.10:80'), svc, 'same service runtime');
  assert.equal(svc.vs.scheduler, 'wlc');
  assert.equal(svc.dests.find((d) => d.key === '198.18.1.12:8080'), d12, 'same dest, same counters');
  assert.equal(d12.activeConns, 1);
  // The next segment of the established connection still goes to its real server.
  const r = ack(run, CLIENT, 7000, VIP, 80, 3, 'PA');
  assert.equal(r.action, A_TX);
  assert.equal(dstOf(r.out), '198.18.1.12', 'forwarded, not reset');
  assert.equal(pl.counters().nodest_expired, 0);
  assert.equal(pl.conns.conns, 1);
  assert.equal(pl.stats.svc[svc.statsSlot * STAT_STRIDE + S_CONNS], conns0, 'counters kept');
  // The new scheduler runs: wlc sends the next connection to the idle .11.
  assert.equal(dstOf(syn(run, CLIENT, 7001, VIP, 80, 3).out), '198.18.1.11');
  assert.equal(dstOf(syn(run, CLIENT, 7002, VIP, 80, 3).out), '198.18.1.12', 'wlc: tie at 256, first in list');
});

test('sorry server: its own counters; quorum lost removes the alive real servers (their connections expire), quorum back removes the sorry server', () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, sorry: { address: '198.18.1.99', port: 80 }, reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.12', port: 8080, inhibitOnFailure: true }] }];
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const svc = pl.service('tcp:198.18.0.10:80')!;
  assert.equal(dstOf(syn(run, CLIENT, 100, VIP, 80).out), '198.18.1.12');
  assert.equal(dstOf(syn(run, CLIENT, 101, VIP, 80).out), '198.18.1.11');
  pl.setServiceQuorum('tcp:198.18.0.10:80', false);
  // keepalived perform_quorum_state(vs, false): .11 leaves the pool (its connection expires on
  // its next packet); .12 (inhibit_on_failure) stays with weight 0 (its connection continues).
  const r11 = ack(run, CLIENT, 101, VIP, 80);
  assert.equal(r11.outIf, 0, '.11 gone: expire_nodest_conn, then a RST');
  assert.equal(r11.out![47]! & 0x04, 0x04);
  assert.equal(dstOf(ack(run, CLIENT, 100, VIP, 80).out), '198.18.1.12');
  const sorry = svc.sorry!;
  assert.ok(sorry.statsSlot >= 0, 'the sorry server has a stats slot');
  for (let i = 0; i < 3; i++) assert.equal(dstOf(syn(run, CLIENT, 200 + i, VIP, 80).out), '198.18.1.99');
  const so = sorry.statsSlot * STAT_STRIDE;
  assert.equal(pl.stats.dest[so + S_CONNS], 3);
  assert.equal(pl.stats.dest[so + S_INPKTS], 3);
  run.run(frame({ dstMac: MAC.eth1, srcMac: MAC.sorry, src: '198.18.1.99', dst: CLIENT, l4: { proto: 'tcp', sport: 80, dport: 200, flags: 'SA', seq: 9, ack: 2 } }), 1);
  assert.equal(pl.stats.dest[so + S_OUTPKTS], 1, 'replies counted');
  pl.publishGauges();
  assert.equal(pl.stats.dest[so + 5 /* S_ACTIVE */], 3);
  // Quorum back: the sorry server is removed (no inhibit): its connections expire, the real servers return.
  pl.setServiceQuorum('tcp:198.18.0.10:80', true);
  assert.equal(sorry.available, false);
  const back = ack(run, CLIENT, 200, VIP, 80);
  assert.equal(back.outIf, 0, 'sorry connection reset on its next packet');
  assert.deepEqual([dstOf(syn(run, CLIENT, 300, VIP, 80).out), dstOf(syn(run, CLIENT, 301, VIP, 80).out)].sort(), ['198.18.1.11', '198.18.1.12']);
});

test('sorry_server_inhibit: the sorry server stays in the list with weight 0 while quorum is up; its connections continue', () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, sorry: { address: '198.18.1.99', port: 80, inhibit: true }, reals: [{ address: '198.18.1.11', port: 8080 }] }];
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const svc = pl.service('tcp:198.18.0.10:80')!;
  assert.equal(svc.sorry!.available, true, 'in the list from the start (init_service_vs adds it with weight 0)');
  assert.equal(svc.sorry!.weight, 0);
  assert.ok(svc.schedDests.includes(svc.sorry!));
  for (let i = 0; i < 3; i++) assert.equal(dstOf(syn(run, CLIENT, 500 + i, VIP, 80).out), '198.18.1.11', 'weight 0: never scheduled');
  pl.setServiceQuorum('tcp:198.18.0.10:80', false);
  assert.equal(svc.sorry!.weight, 1);
  assert.equal(dstOf(syn(run, CLIENT, 600, VIP, 80).out), '198.18.1.99');
  pl.setServiceQuorum('tcp:198.18.0.10:80', true);
  assert.equal(svc.sorry!.weight, 0);
  assert.equal(dstOf(ack(run, CLIENT, 600, VIP, 80).out), '198.18.1.99', 'quiesced, not removed: the connection continues');
  assert.equal(dstOf(syn(run, CLIENT, 601, VIP, 80).out), '198.18.1.11');
  assert.equal(pl.counters().nodest_expired, 0);
});

test('virtual_server_group: one IPVS service per range address and per fwmark entry, each with its own scheduler, counters and templates; health is shared', () => {
  const spec: ModelSpec = {
    services: [{ match: { kind: 'group', group: 'web' }, persistenceTimeoutS: 60, reals: [{ address: '198.18.1.11', port: 0 }, { address: '198.18.1.12', port: 0 }] }],
    groups: [{ name: 'web', entries: [{ kind: 'range', first: '198.18.0.20', last: '198.18.0.21', port: 80 }, { kind: 'fwmark', fwmark: 9 }] }],
    fwmarkRules: [
      { fwmark: 9, address: '198.18.0.30', prefixLen: 32, protocol: 'tcp', portMin: 80, portMax: 80 },
      { fwmark: 9, address: '198.18.0.30', prefixLen: 32, protocol: 'tcp', portMin: 443, portMax: 443 },
    ],
    coreVips: [{ address: '198.18.0.20', interface: 'eth0' }, { address: '198.18.0.21', interface: 'eth0' }, { address: '198.18.0.30', interface: 'eth0' }],
  };
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const keys = pl.servicesOf('group:tcp:web').map((s) => s.key);
  assert.deepEqual(keys, ['group:tcp:web@198.18.0.20:80', 'group:tcp:web@198.18.0.21:80', 'group:tcp:web@fwmark:9']);
  // Separate scheduler state: the first connection of each VIP goes to the head of its own list (rr).
  assert.equal(dstOf(syn(run, '198.18.100.1', 1, '198.18.0.20', 80).out), '198.18.1.12');
  assert.equal(dstOf(syn(run, '198.18.100.2', 1, '198.18.0.21', 80).out), '198.18.1.12', 'not the next in a shared rotation');
  assert.equal(dstOf(syn(run, '198.18.100.3', 1, '198.18.0.20', 80).out), '198.18.1.11');
  // Persistence per entry: a client's template for .20 does not hold for .21 (<TCP, client, VIP, 80> each).
  assert.equal(dstOf(syn(run, '198.18.100.1', 2, '198.18.0.20', 80).out), '198.18.1.12', 'template of .20');
  assert.equal(dstOf(syn(run, '198.18.100.1', 3, '198.18.0.21', 80).out), '198.18.1.11', '.21 schedules anew (its own rr)');
  // The fwmark entry is a firewall-mark service: one template <IPPROTO_IP, client, mark 9, 0> across its ports.
  const a = dstOf(syn(run, '198.18.100.4', 1, '198.18.0.30', 80).out);
  const b = dstOf(syn(run, '198.18.100.4', 2, '198.18.0.30', 443).out);
  assert.equal(a, b, 'fwmark persistence across the ports of the mark');
  const fwTemplates = pl.listConns().filter((r) => r.template && r.proto === 'IP');
  assert.equal(fwTemplates.length, 1);
  const tr = pl.trace('tcp', '198.18.100.9', 5, '198.18.0.30', 443);
  assert.equal(tr.service, 'group:tcp:web@fwmark:9');
  assert.equal(tr.virtualServer, 'group:tcp:web');
  assert.equal(tr.matchedBy, 'fwmark');
  assert.match(tr.persistence!.template, /^fwmark .* -> mark 9:0$/);
  // Counters per entry.
  const [s20, s21] = pl.servicesOf('group:tcp:web');
  assert.equal(pl.stats.svc[s20!.statsSlot * STAT_STRIDE + S_CONNS], 3);
  assert.equal(pl.stats.svc[s21!.statsSlot * STAT_STRIDE + S_CONNS], 2);
  // Health of the virtual_server's real server holds for every entry.
  assert.ok(pl.setRealHealth('group:tcp:web', '198.18.1.12:0', { up: false }));
  for (const svc of pl.servicesOf('group:tcp:web')) assert.equal(svc.dests.find((d) => d.key === '198.18.1.12:0')!.available, false, svc.key);
  assert.equal(dstOf(syn(run, '198.18.100.8', 1, '198.18.0.21', 80).out), '198.18.1.11');
});

test('the per-frame path does not allocate: no GC and a flat heap over 100,000 frames of every common kind', async () => {
  // Established TCP both directions (IPv4 and IPv6 NAT), DR, new UDP flows (ops: each
  // datagram is scheduled), ICMP echo, a RST for a port without service (frames built in the
  // scratch area), ARP, and ICMP errors relayed both ways, mixed (inlining, and so boxing of
  // words above 2^31, depends on the mix). An allocating path shows as heap growth or a
  // scavenge. Checked to fail before the `| 0` / int32 hash changes: 2-8 bytes per frame.
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [...spec.services, { match: { kind: 'addr', address: VIP, port: 54 }, protocol: 'udp', ops: true, reals: [{ address: '198.18.1.11', port: 53 }, { address: '198.18.1.12', port: 53 }] }];
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const tcp4 = (sport: number, flags: string) => frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: VIP, l4: { proto: 'tcp', sport, dport: 80, flags, seq: 2, ack: 1, payload: flags === 'S' ? [] : [1, 2, 3] } });
  const frames: { f: Uint8Array; ifSlot: number }[] = [];
  const add = (f: number[], ifSlot = 0) => frames.push({ f: Uint8Array.from(f), ifSlot });
  // Set up the connections first.
  run.run(tcp4(700, 'S'), 0);
  const rs = dstOf(run.run(tcp4(701, 'S'), 0).out) === '198.18.1.12' ? ['198.18.1.12', MAC.rs12] as const : ['198.18.1.11', MAC.rs11] as const;
  run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT6, dst: '2001:db8::10', l4: { proto: 'tcp', sport: 702, dport: 80, flags: 'S', seq: 1 } }), 0);
  run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: '198.18.0.11', l4: { proto: 'tcp', sport: 703, dport: 80, flags: 'S', seq: 1 } }), 0);
  add(tcp4(701, 'PA'));
  add(frame({ dstMac: MAC.eth1, srcMac: rs[1], src: rs[0], dst: CLIENT, l4: { proto: 'tcp', sport: 8080, dport: 701, flags: 'PA', seq: 9, ack: 2, payload: [4, 5] } }), 1);
  add(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT6, dst: '2001:db8::10', l4: { proto: 'tcp', sport: 702, dport: 80, flags: 'PA', seq: 2, ack: 1, payload: [7] } }));
  add(frame({ dstMac: MAC.eth1, srcMac: MAC.rs6, src: '2001:db8:1::11', dst: CLIENT6, l4: { proto: 'tcp', sport: 8080, dport: 702, flags: 'PA', seq: 9, ack: 2, payload: [8] } }), 1);
  add(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: '198.18.0.11', l4: { proto: 'tcp', sport: 703, dport: 80, flags: 'PA', seq: 2, ack: 1, payload: [9] } }));
  add(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: VIP, l4: { proto: 'udp', sport: 999, dport: 54, payload: [1, 2, 3, 4] } }));
  add(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: VIP, l4: { proto: 'icmp', type: 8, code: 0, rest: [0, 1, 0, 1], payload: [1, 2, 3, 4] } }));
  add(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: VIP, l4: { proto: 'tcp', sport: 704, dport: 81, flags: 'S', seq: 1 } }));
  add(arpFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', srcMac: MAC.router, op: 1, sha: MAC.router, spa: '198.18.0.254', tha: '00:00:00:00:00:00', tpa: VIP }));
  // ICMP frag-needed both ways about the established connection (relayed, ip_vs_in_icmp / ip_vs_out_icmp).
  const reply = ipPacket({ src: VIP, dst: CLIENT, l4: { proto: 'tcp', sport: 80, dport: 701, flags: 'A', seq: 5, ack: 1, payload: [0, 0, 0, 0] } });
  add(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: '198.18.0.254', dst: VIP, l4: { proto: 'icmp', type: 3, code: 4, rest: [0, 0, 5, 0xa0], payload: reply.slice(0, 28) } }));
  const fwd = ipPacket({ src: CLIENT, dst: rs[0], l4: { proto: 'tcp', sport: 701, dport: 8080, flags: 'A', seq: 5, ack: 1, payload: [0, 0, 0, 0] } });
  add(frame({ dstMac: MAC.eth1, srcMac: rs[1], src: '198.18.1.254', dst: CLIENT, l4: { proto: 'icmp', type: 3, code: 4, rest: [0, 0, 5, 0xa0], payload: fwd.slice(0, 28) } }), 1);
  const buf = run.buf;
  const once = (n: number) => {
    let tx = 0;
    for (let i = 0; i < n; i++) {
      const x = frames[i % frames.length]!;
      pl.resetScratch();
      buf.set(x.f, 0);
      if (pl.process(buf, 0, x.f.length, false, x.ifSlot, 2) === A_TX) tx++;
    }
    return tx;
  };
  const acts = frames.map((x) => { pl.resetScratch(); buf.set(x.f, 0); return pl.process(buf, 0, x.f.length, false, x.ifSlot, 2); });
  assert.deepEqual(acts, frames.map(() => A_TX), 'every kind forwards or answers');
  let gcs = 0;
  const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  try {
    once(50_000); // warm up (JIT)
    let clean = false;
    let last = '';
    for (let attempt = 0; attempt < 3 && !clean; attempt++) {
      await new Promise((r) => setTimeout(r, 5));
      gcs = 0;
      const before = process.memoryUsage().heapUsed;
      once(100_000);
      const grew = process.memoryUsage().heapUsed - before;
      await new Promise((r) => setTimeout(r, 5));
      clean = gcs === 0 && grew < 64 * 1024;
      last = `${gcs} GC(s), heap +${grew} bytes`;
    }
    assert.ok(clean, `${last} over 100,000 frames`);
  } finally {
    obs.disconnect();
  }
});

test('VIP:0 (all ports) service: any port is served and keeps its port; one template per client across ports; VIP:port wins over VIP:0', () => {
  const VIP0 = '198.18.0.40';
  const spec: ModelSpec = {
    services: [
      { match: { kind: 'addr', address: VIP0, port: 0 }, persistenceTimeoutS: 120, reals: [{ address: '198.18.1.11', port: 0 }, { address: '198.18.1.12', port: 0 }] },
      { match: { kind: 'addr', address: VIP0, port: 22 }, reals: [{ address: '198.18.1.21', port: 22, method: 'DR' }], method: 'DR' },
    ],
    coreVips: [{ address: VIP0, interface: 'eth0' }],
  };
  const { pl } = standardPipeline(spec);
  const run = new Runner(pl);
  const a = syn(run, CLIENT, 1000, VIP0, 8443);
  const b = syn(run, CLIENT, 1001, VIP0, 25);
  assert.equal(dstOf(a.out), dstOf(b.out), 'persistence across ports: <TCP, client, VIP, 0>');
  assert.equal((a.out![36]! << 8) | a.out![37]!, 8443, 'port 0 real server: the packet\'s port');
  assert.equal((b.out![36]! << 8) | b.out![37]!, 25);
  const tmpl = pl.listConns().filter((r) => r.template);
  assert.equal(tmpl.length, 1);
  assert.equal(tmpl[0]!.virtual, `${VIP0}:0`);
  // Another client is scheduled anew (rr moves on).
  assert.notEqual(dstOf(syn(run, '198.18.100.8', 1002, VIP0, 8443).out), dstOf(a.out));
  // VIP:22 is its own service (ip_vs_service_find: VIP:port before VIP:0).
  const ssh = syn(run, CLIENT, 1003, VIP0, 22);
  assert.equal(ssh.outIf, 1);
  assert.equal([...ssh.out!.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':'), MAC.rs21);
  const tr = pl.trace('tcp', CLIENT, 9, VIP0, 9999);
  assert.equal(tr.service, `tcp:${VIP0}:0`);
  assert.equal(tr.matchedBy, 'port-zero');
  assert.equal(tr.persistence?.hit, true);
  assert.equal(pl.trace('tcp', CLIENT, 9, VIP0, 22).matchedBy, 'address');
  // UDP to the VIP: no UDP service (VIP:0 is TCP): ICMP port unreachable.
  const u = run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: VIP0, l4: { proto: 'udp', sport: 5, dport: 53 } }), 0);
  assert.equal(u.out![23], 1);
  assert.equal(u.out![34], 3);
});
