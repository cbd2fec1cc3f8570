/**
 * ForwardingSubsystem in process (lib/rig.ts): the main-thread side of the forwarding core
 * with doubles for netlink, nft, the clock and the worker threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { A_DROP, A_TX } from '../../../src/forward/pipeline.js';
import { registerForwardingMetrics } from '../../../src/forward/metrics.js';
import { diff } from '../../../src/model/diff.js';
import { frame } from './lib/frames.js';
import { makeModel, type ModelSpec } from './lib/model.js';
import { makeRig, settle, startRig } from './lib/rig.js';
import { CLIENT, MAC, standardSpec } from './lib/topo.js';
import type { WorkerDouble } from './lib/worker-double.js';

const VIP = '198.18.0.10';
const SVC = 'tcp:198.18.0.10:80';

function syn(w: WorkerDouble, sport: number, dst = VIP, dport = 80, src = CLIENT) {
  return w.frame(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src, dst, l4: { proto: 'tcp', sport, dport, flags: 'S', seq: 1 } }), 0);
}
function ack(w: WorkerDouble, sport: number, flags = 'A', dst = VIP, dport = 80) {
  return w.frame(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst, l4: { proto: 'tcp', sport, dport, flags, seq: 2, ack: 1 } }), 0);
}
function lastDst(w: WorkerDouble): string {
  const o = w.sent[w.sent.length - 1]!.bytes;
  return `${o[30]}.${o[31]}.${o[32]}.${o[33]}`;
}

test('start: a crashed predecessor\'s nft table is removed first; the table then drops claimed VIPs and NAT replies, not replies to the director', async () => {
  const r = await makeRig();
  await startRig(r, makeModel(standardSpec()));
  assert.equal(r.nft.calls[0]!.op, 'remove', 'removed before anything is applied');
  const spec = r.nft.last!;
  assert.deepEqual(spec.interfaces, ['eth0', 'eth1']);
  assert.deepEqual([...spec.vips].sort(), ['198.18.0.10', '198.18.0.11', '198.18.1.1', '2001:db8::10']);
  assert.ok(spec.natReals.some((n) => n.address === '198.18.1.11' && n.port === 8080 && n.proto === 'tcp'));
  assert.ok(spec.natReals.some((n) => n.address === '198.18.1.31' && n.port === 53 && n.proto === 'udp'));
  assert.ok(!spec.natReals.some((n) => n.address === '198.18.1.21'), 'DR replies never pass the director');
  assert.deepEqual([...spec.localAddresses].sort(), ['198.18.0.1', '198.18.1.2', '2001:db8:1::1', '2001:db8::1']);
  await r.fwd.stop('test');
  assert.equal(r.nft.calls[r.nft.calls.length - 1]!.op, 'remove', 'removed at stop');
  assert.ok(r.events.some((e) => e.type === 'forward.stopped'));
});

test('neighbours: known entries go to the workers, missing ones are resolved (NTF_USE), change events follow, a worker\'s request is resolved', async () => {
  const r = await makeRig({ neighbours: false });
  r.netlink.setNeighbour({ ifname: 'eth1', address: '198.18.1.11', mac: MAC.rs11, state: 'stale' });
  await startRig(r, makeModel(standardSpec()));
  const w = r.workers.live()[0]!;
  const neigh = () => w.received.filter((m) => m.type === 'neigh');
  assert.deepEqual(neigh().map((m) => m.type === 'neigh' && [m.address, m.mac]), [['198.18.1.11', MAC.rs11]]);
  const resolved = r.netlink.calls.filter((c) => c.op === 'resolveNeighbour').map((c) => c.op === 'resolveNeighbour' && `${c.address}@${c.ifname}`);
  for (const a of ['198.18.1.12@eth1', '198.18.1.21@eth1', '198.18.1.31@eth1', '2001:db8:1::11@eth1']) assert.ok(resolved.includes(a), `${a} in ${resolved.join(' ')}`);
  // Without a MAC the first SYN to .12 is dropped and the worker asks.
  assert.equal(syn(w, 1000), A_DROP);
  r.netlink.calls.length = 0;
  w.tick();
  await settle();
  assert.ok(r.netlink.calls.some((c) => c.op === 'resolveNeighbour' && c.address === '198.18.1.12'));
  // The kernel answers: the change event brings the MAC to the workers, and traffic flows.
  r.netlink.setNeighbour({ ifname: 'eth1', address: '198.18.1.12', mac: MAC.rs12, state: 'reachable' });
  await settle();
  assert.equal(syn(w, 1001), A_TX);
  // A failed entry is withdrawn.
  r.netlink.removeNeighbour('eth1', '198.18.1.12');
  await settle();
  assert.deepEqual(neigh().map((m) => m.type === 'neigh' && [m.address, m.mac]).slice(-1), [['198.18.1.12', null]]);
  // Neighbours of addresses that are no real server are ignored.
  const n0 = neigh().length;
  r.netlink.setNeighbour({ ifname: 'eth1', address: '198.18.1.77', mac: '02:00:00:00:77:77', state: 'reachable' });
  await settle();
  assert.equal(neigh().length, n0);
  await r.fwd.stop('test');
});

test('lvs: counters per service and real server; -Z zeroes the listing (a baseline) while the Prometheus totals keep growing', async () => {
  const r = await makeRig();
  await startRig(r, makeModel(standardSpec()));
  const w = r.workers.live()[0]!;
  for (let i = 0; i < 4; i++) assert.equal(syn(w, 2000 + i), A_TX);
  const svcOf = async (zero = false) => (await r.fwd.lvs({ zero })).services.find((s) => s.key === SVC)!;
  let s = await svcOf();
  assert.equal(s.stats.conns, 4);
  assert.equal(s.stats.inpkts, 4);
  assert.deepEqual(s.reals.map((x) => [x.key, x.stats.conns]).sort(), [['198.18.1.11:8080', 2], ['198.18.1.12:8080', 2]]);
  w.tick();
  s = await svcOf();
  assert.equal(s.reals.find((x) => x.key === '198.18.1.12:8080')!.activeConns, 2, 'gauges from the worker (SYN_RECV is active)');
  const reg = new Registry();
  registerForwardingMetrics(reg, () => r.fwd.lvs());
  // One lvs() per scrape is shared until the next turn of the event loop (metrics.ts): scrape after it.
  const metric = async () => (await settle(1), Number(/lvsd_lvs_service_connections_total\{service="tcp:198\.18\.0\.10:80"\} (\d+)/.exec(await reg.metrics())![1]));
  assert.equal(await metric(), 4);
  // ipvsadm -Z
  s = await svcOf(true);
  assert.equal(s.stats.conns, 0);
  assert.equal(s.totals.conns, 4);
  assert.equal((await svcOf()).stats.conns, 0);
  assert.equal(await metric(), 4, 'a Prometheus counter never goes back');
  syn(w, 2100);
  s = await svcOf();
  assert.equal(s.stats.conns, 1);
  assert.equal(s.reals.reduce((n, x) => n + x.stats.conns, 0), 1);
  assert.equal(await metric(), 5);
  // The registered command does the same.
  const cmd = r.registry.get('lvs')!;
  const z = (await cmd.handler({ action: 'zero' })) as { services: { key: string; stats: { conns: number } }[] };
  assert.equal(z.services.find((x) => x.key === SVC)!.stats.conns, 0);
  await r.fwd.stop('test');
});

test('reload: health and quorum are posted again after the new model, so the workers keep them', async () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, sorry: { address: '198.18.1.99', port: 80 }, reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.12', port: 8080 }] }];
  const r = await makeRig();
  const m0 = makeModel(spec);
  await startRig(r, m0);
  const w = r.workers.live()[0]!;
  assert.ok(r.fwd.setRealHealth(SVC, '198.18.1.12:8080', { up: false }));
  assert.equal(r.fwd.setRealHealth(SVC, '198.18.9.9:1', { up: false }), false, 'unknown real server');
  await settle();
  // A reload that changes the service (another weight): the workers' dests are re-read from the model.
  const spec2: ModelSpec = { ...spec, services: [{ ...spec.services[0]!, reals: [{ address: '198.18.1.11', port: 8080, weight: 3 }, { address: '198.18.1.12', port: 8080 }] }] };
  const m1 = makeModel(spec2);
  const n0 = w.received.length;
  await r.fwd.apply(m1, diff(m0, m1));
  await settle();
  const after = w.received.slice(n0).map((m) => m.type);
  assert.ok(after.indexOf('model') >= 0 && after.indexOf('health') > after.indexOf('model'), after.join(','));
  const d12 = w.pl.service(SVC)!.dests.find((d) => d.key === '198.18.1.12:8080')!;
  assert.equal(d12.healthUp, false, 'still down after the reload');
  for (let i = 0; i < 4; i++) { syn(w, 3000 + i); assert.equal(lastDst(w), '198.18.1.11'); }
  // Quorum lost: posted again after a reload too; the sorry server takes the new flows.
  assert.ok(r.fwd.setServiceQuorum(SVC, false));
  await settle();
  const n1 = w.received.length;
  await r.fwd.apply(m0, diff(m1, m0));
  await settle();
  const after2 = w.received.slice(n1).map((m) => m.type);
  assert.ok(after2.indexOf('quorum') > after2.indexOf('model'), after2.join(','));
  syn(w, 3100);
  assert.equal(lastDst(w), '198.18.1.99');
  // A real server removed by the reload loses its stored health.
  const spec3: ModelSpec = { ...spec, services: [{ ...spec.services[0]!, reals: [{ address: '198.18.1.11', port: 8080 }] }] };
  const m3 = makeModel(spec3);
  const n2 = w.received.length;
  await r.fwd.apply(m3, diff(m0, m3));
  await settle();
  assert.ok(!w.received.slice(n2).some((m) => m.type === 'health' && m.real === '198.18.1.12:8080'));
  await r.fwd.stop('test');
});

test('a worker that crashes is restarted after a backoff, with the workers after it (fanout renumbering); state is posted again; log lines say so', async () => {
  const r = await makeRig({ deps: { workers: 2 } });
  await startRig(r, makeModel(standardSpec()));
  assert.equal(r.workers.live().length, 2);
  r.fwd.setRealHealth(SVC, '198.18.1.12:8080', { up: false });
  await settle();
  const [w0] = r.workers.live();
  w0!.crash('boom');
  await settle();
  const crashed = r.events.filter((e) => e.type === 'forward.worker_crashed');
  assert.equal(crashed.length, 1, 'one line per crash (error and exit are one crash)');
  assert.deepEqual(crashed[0], { type: 'forward.worker_crashed', worker: 0, reason: 'error: boom', restartInMs: 1000, restarting: [0, 1] });
  assert.equal(r.workers.made.length, 2, 'nothing restarted before the backoff');
  r.clock.advance(999);
  await settle();
  assert.equal(r.workers.made.length, 2);
  r.clock.advance(1);
  await settle();
  assert.equal(r.workers.made.length, 4, 'workers 0 and 1 started again');
  const live = r.workers.live();
  assert.deepEqual(live.map((w) => w.init.index), [0, 1]);
  assert.ok(r.workers.made[1]!.dead, 'worker 1 was stopped: the kernel moved it into slot 0 when worker 0 left');
  for (const w of live) {
    const types = w.received.map((m) => m.type);
    for (const t of ['model', 'neigh', 'claim', 'health'] as const) assert.ok(types.includes(t), `${t} posted to the new worker ${w.init.index}: ${types.join(',')}`);
    assert.equal(w.pl.service(SVC)!.dests.find((d) => d.key === '198.18.1.12:8080')!.healthUp, false, 'health survives the restart');
    assert.equal(w.init.stats, r.workers.made[0]!.init.stats, 'same shared counters');
  }
  assert.deepEqual(r.events.filter((e) => e.type === 'forward.worker_restarted'), [{ type: 'forward.worker_restarted', workers: [0, 1], attempt: 1 }]);
  // The new workers forward.
  assert.equal(syn(live[0]!, 4000), A_TX);
  // A second crash soon after: the backoff doubles; only the last worker restarts.
  live[1]!.crash('again');
  await settle();
  assert.deepEqual(r.events.filter((e) => e.type === 'forward.worker_crashed').slice(-1)[0], { type: 'forward.worker_crashed', worker: 1, reason: 'error: again', restartInMs: 2000, restarting: [1] });
  r.clock.advance(2000);
  await settle();
  assert.equal(r.workers.made.length, 5);
  assert.equal(live[0]!.dead, false, 'worker 0 kept running');
  // After a minute without a crash the backoff starts from the minimum again.
  r.clock.advance(60_000);
  r.workers.live()[1]!.crash('later');
  await settle();
  assert.equal((r.events.filter((e) => e.type === 'forward.worker_crashed').slice(-1)[0] as { restartInMs: number }).restartInMs, 1000);
  await r.fwd.stop('test');
  assert.equal(r.workers.live().length, 0);
  assert.equal(r.clock.armed, 0, 'no restart pending after stop');
});

test('routed real servers: the kernel\'s route gives the egress and the gateway, whose MAC is resolved; DR behind a gateway is refused clearly', async () => {
  const GW = '198.18.1.254';
  const GW_MAC = '02:00:00:00:fe:54';
  const r = await makeRig();
  r.netlink.routes.set('198.18.9.11', { ifname: 'eth1', gateway: GW, type: 'unicast' });
  r.netlink.routes.set('198.18.9.21', { ifname: 'eth1', gateway: GW, type: 'unicast' });
  r.netlink.routes.set('198.18.9.31', { ifname: 'lo', gateway: null, type: 'unreachable' });
  const spec: ModelSpec = {
    services: [
      { match: { kind: 'addr', address: VIP, port: 80 }, method: 'NAT', reals: [{ address: '198.18.9.11', port: 8080 }] },
      { match: { kind: 'addr', address: '198.18.0.11', port: 80 }, method: 'DR', reals: [{ address: '198.18.9.21', port: 80 }] },
      { match: { kind: 'addr', address: '198.18.0.12', port: 80 }, method: 'NAT', reals: [{ address: '198.18.9.31', port: 80 }] },
    ],
    coreVips: [{ address: VIP, interface: 'eth0' }, { address: '198.18.0.11', interface: 'eth0' }, { address: '198.18.0.12', interface: 'eth0' }],
  };
  await startRig(r, makeModel(spec));
  const w = r.workers.live()[0]!;
  const types = w.received.map((m) => m.type);
  assert.ok(types.indexOf('route') >= 0 && types.indexOf('route') < types.indexOf('model'), `routes before the model: ${types.join(',')}`);
  assert.deepEqual(r.netlink.routeLookups.sort(), ['198.18.9.11', '198.18.9.21', '198.18.9.31'], 'only real servers outside the connected networks');
  const errors = r.events.filter((e) => e.type === 'forward.error').map((e) => (e as { message: string }).message);
  assert.ok(errors.some((m) => /198\.18\.9\.31: no unicast route \(unreachable\)/.test(m)), errors.join('\n'));
  assert.ok(errors.some((m) => /DR real server 198\.18\.9\.21 is reached through gateway 198\.18\.1\.254; DR needs it on a network of the director/.test(m)), errors.join('\n'));
  // The gateway's MAC is asked for (not the real server's).
  assert.ok(r.netlink.calls.some((c) => c.op === 'resolveNeighbour' && c.address === GW && c.ifname === 'eth1'));
  assert.ok(!r.netlink.calls.some((c) => c.op === 'resolveNeighbour' && c.address.startsWith('198.18.9.')));
  assert.equal(syn(w, 5000), A_DROP, 'no MAC yet');
  r.netlink.setNeighbour({ ifname: 'eth1', address: GW, mac: GW_MAC, state: 'reachable' });
  await settle();
  assert.equal(syn(w, 5001), A_TX);
  const out = w.sent[w.sent.length - 1]!;
  assert.equal(out.ifSlot, 1, 'out of eth1, the route\'s interface');
  assert.equal([...out.bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':'), GW_MAC, 'to the gateway\'s MAC');
  assert.equal(lastDst(w), '198.18.9.11', 'NAT to the routed real server');
  // DR behind a gateway: not forwarded (no_egress).
  const before = w.pl.counters().no_egress!;
  assert.equal(syn(w, 5002, '198.18.0.11'), A_DROP);
  assert.equal(w.pl.counters().no_egress, before + 1);
  await r.fwd.stop('test');
});

test('routed real servers on reload: a route that went away is withdrawn from the workers (no stale next hop)', async () => {
  const GW = '198.18.1.254';
  const r = await makeRig();
  r.netlink.routes.set('198.18.9.11', { ifname: 'eth1', gateway: GW, type: 'unicast' });
  const spec: ModelSpec = {
    services: [
      { match: { kind: 'addr', address: VIP, port: 80 }, method: 'NAT', reals: [{ address: '198.18.9.11', port: 8080 }] },
      // A real server on eth1's own network keeps eth1 served (no data-plane restart).
      { match: { kind: 'addr', address: '198.18.0.11', port: 80 }, method: 'NAT', reals: [{ address: '198.18.1.11', port: 8080 }] },
    ],
    coreVips: [{ address: VIP, interface: 'eth0' }, { address: '198.18.0.11', interface: 'eth0' }],
  };
  const m1 = makeModel(spec);
  await startRig(r, m1);
  const w = r.workers.live()[0]!;
  r.netlink.setNeighbour({ ifname: 'eth1', address: GW, mac: '02:00:00:00:fe:54', state: 'reachable' });
  await settle();
  assert.equal(syn(w, 5100), A_TX, 'through the gateway');
  r.netlink.routes.set('198.18.9.11', { ifname: 'lo', gateway: null, type: 'unreachable' });
  const m2 = makeModel(spec);
  await r.fwd.apply(m2, diff(m1, m2));
  await settle();
  assert.equal(r.workers.live()[0], w, 'same worker: no restart');
  assert.ok(w.received.some((m) => m.type === 'route' && m.address === '198.18.9.11' && m.route === null), 'route withdrawn');
  const before = w.pl.counters().no_egress!;
  assert.equal(syn(w, 5101), A_DROP, 'no route: not forwarded to the old gateway');
  assert.equal(w.pl.counters().no_egress, before + 1);
  await r.fwd.stop('test');
});

test('the sorry server in lvs(): listed while quorum is lost (weight 1), with its own counters and rates; Prometheus counts it as real="sorry:ADDR:PORT"', async () => {
  const spec: ModelSpec = { ...standardSpec() };
  spec.services = [{ match: { kind: 'addr', address: VIP, port: 80 }, sorry: { address: '198.18.1.99', port: 80 }, reals: [{ address: '198.18.1.11', port: 8080 }] }];
  const r = await makeRig();
  await startRig(r, makeModel(spec));
  const w = r.workers.live()[0]!;
  const sorryRow = async () => (await r.fwd.lvs()).services[0]!.reals.find((x) => x.sorry);
  assert.equal(await sorryRow(), undefined, 'not in the list while quorum is up (no sorry_server_inhibit)');
  r.fwd.setServiceQuorum(SVC, false);
  await settle();
  for (let i = 0; i < 2; i++) { syn(w, 6000 + i); assert.equal(lastDst(w), '198.18.1.99'); }
  w.tick();
  const s = (await sorryRow())!;
  assert.equal(s.key, 'sorry:198.18.1.99:80');
  assert.deepEqual([s.weight, s.inService, s.stats.conns, s.stats.inpkts, s.activeConns], [1, true, 2, 2, 2]);
  const real = (await r.fwd.lvs()).services[0]!.reals.find((x) => x.key === '198.18.1.11:8080')!;
  assert.deepEqual([real.inService, real.weight], [false, 0], 'the alive real server left the pool (perform_quorum_state)');
  // Rates come from the estimator over 2-second ticks.
  r.clock.advance(2000);
  syn(w, 6002);
  r.clock.advance(2000);
  assert.ok((await sorryRow())!.rates.inbps > 0, JSON.stringify((await sorryRow())!.rates));
  const reg = new Registry();
  registerForwardingMetrics(reg, () => r.fwd.lvs());
  assert.match(await reg.metrics(), /lvsd_lvs_real_connections_total\{service="tcp:198\.18\.0\.10:80",real="sorry:198\.18\.1\.99:80"\} 3/);
  await r.fwd.stop('test');
});

test('a worker that does not start again is retried with the next backoff', async () => {
  const r = await makeRig();
  await startRig(r, makeModel(standardSpec()));
  r.workers.live()[0]!.crash('boom');
  await settle();
  r.workers.failNext = 1;
  r.clock.advance(1000);
  await settle();
  const err = r.events.filter((e) => e.type === 'forward.error').map((e) => (e as { message: string }).message);
  assert.ok(err.some((m) => /worker 0 did not start again \(forwarding worker 0: socket: injected failure\); next try in 2000 ms/.test(m)), err.join('\n'));
  assert.equal(r.workers.live().length, 0);
  r.clock.advance(2000);
  await settle();
  assert.equal(r.workers.live().length, 1, 'started on the second try');
  assert.deepEqual(r.events.filter((e) => e.type === 'forward.worker_restarted'), [{ type: 'forward.worker_restarted', workers: [0], attempt: 2 }]);
  assert.equal(syn(r.workers.live()[0]!, 7000), A_TX);
  await r.fwd.stop('test');
});

test('reload: a new service fits the counter layout (no data-plane restart); one that outgrows it restarts the data plane and the counts carry over', async () => {
  const r = await makeRig();
  const m0 = makeModel(standardSpec());
  await startRig(r, m0);
  for (let i = 0; i < 3; i++) syn(r.workers.live()[0]!, 8000 + i);
  const spec1 = standardSpec();
  spec1.services.push({ match: { kind: 'addr', address: VIP, port: 81 }, reals: [{ address: '198.18.1.11', port: 8081 }] });
  const m1 = makeModel(spec1);
  await r.fwd.apply(m1, diff(m0, m1));
  await settle();
  assert.equal(r.workers.made.length, 1, 'same worker: no restart');
  syn(r.workers.live()[0]!, 8003);
  assert.equal((await r.fwd.lvs()).services.find((s) => s.key === SVC)!.stats.conns, 4);
  // A group of 1 100 addresses: 1 100 more IPVS services than the 1 024 rows.
  const spec2 = standardSpec();
  spec2.services.push({ match: { kind: 'group', group: 'many' }, reals: [{ address: '198.18.1.11', port: 80 }] });
  spec2.groups = [{ name: 'many', entries: [{ kind: 'range', first: '198.18.16.0', last: '198.18.20.75', port: 80 }] }];
  const m2 = makeModel(spec2);
  await r.fwd.apply(m2, diff(m1, m2));
  await settle();
  assert.equal(r.workers.made.length, 2, 'restarted with a larger layout');
  const res = await r.fwd.lvs();
  assert.equal(res.services.filter((s) => s.virtualServer === 'group:tcp:many').length, 1100);
  assert.equal(res.services.find((s) => s.key === SVC)!.stats.conns, 4, 'counts carried over the restart');
  assert.equal(res.services.find((s) => s.key === SVC)!.totals.conns, 4);
  assert.equal(res.counters.conns_created, 4, 'the pipeline\'s counters carry over too (Prometheus counters never go down)');
  assert.equal(res.counters.forwarded_in, 4);
  syn(r.workers.live()[0]!, 8004);
  const after = await r.fwd.lvs();
  assert.equal(after.services.find((s) => s.key === SVC)!.stats.conns, 5);
  assert.deepEqual([after.counters.conns_created, after.counters.forwarded_in], [5, 5]);
  await r.fwd.stop('test');
});
