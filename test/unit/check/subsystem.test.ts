import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckSubsystem } from '../../../src/check/subsystem.js';
import { recordingBus } from '../../../src/events/bus.js';
import type { LvsdEvent } from '../../../src/events/types.js';
import { ManualClock } from '../../../src/lib/clock.js';
import { FakeScripts } from '../../../src/io/doubles.js';
import { CommandRegistry } from '../../../src/control/registry.js';
import type { VirtualServer } from '../../../src/model/types.js';
import type { ChecksReport } from '../../../src/check/report.js';
import { cmd, miscChecker, model, noChanges, realServer, tcpChecker, virtualServer } from './fixtures.js';
import { FakeProbes, OK, REFUSED, S503, advance } from './probe-double.js';
import { loadConfigText } from '../../../src/config/load.js';

function setup(vss: VirtualServer[], opts: { verboseResults?: boolean } = {}) {
  const clock = new ManualClock(0);
  const { bus, events } = recordingBus();
  const scripts = new FakeScripts();
  const registry = new CommandRegistry();
  const probes = new FakeProbes(clock);
  const sub = new CheckSubsystem({ bus, clock, scripts, registry, probes: probes.factory, random: () => 0.5, ...opts });
  const of = <T extends LvsdEvent['type']>(type: T) => events.filter((e) => e.type === type) as Array<Extract<LvsdEvent, { type: T }>>;
  return { clock, bus, events, scripts, registry, probes, sub, of, m: model(vss) };
}

const T = { delayLoopMs: 1000, connectTimeoutMs: 200, retry: 1, delayBeforeRetryMs: 100 };

test('a real server is up only when all its checkers are up; real.down names the checker and reason', async () => {
  const tcp = tcpChecker('198.18.1.1', 80, T);
  const misc = miscChecker('198.18.1.1', 80, '/bin/true', T);
  const vs = virtualServer('198.18.0.10', 80, [realServer('198.18.1.1', 80, [tcp, misc], { notifyUp: cmd('/n/up'), notifyDown: cmd('/n/down') })]);
  const { sub, probes, of, clock, scripts } = setup([vs]);
  await sub.start(model([vs]));
  await advance(clock, 50);
  assert.deepEqual(sub.health(), [{ service: 'tcp:198.18.0.10:80', real: '198.18.1.1:80', up: true, weight: 1, inPool: true }]);

  probes.set(misc.key, { ok: false, reason: 'script_exit', detail: 'exit 1', latencyMs: 4 });
  await advance(clock, 1200); // check at 1000 fails, retry at ~1100 fails → down
  const down = of('real.down');
  assert.equal(down.length, 1);
  assert.deepEqual(down[0], {
    type: 'real.down', service: vs.key, real: '198.18.1.1:80', checker: misc.key, reason: 'script_exit', detail: 'exit 1', latencyMs: 4,
  });
  assert.deepEqual(sub.health()[0], { service: vs.key, real: '198.18.1.1:80', up: false, weight: 0, inPool: false });
  assert.deepEqual(scripts.callsOf('/n/down').length, 1);

  // the TCP checker failing too changes nothing more at the real-server level
  probes.set(tcp.key, REFUSED);
  await advance(clock, 1000);
  assert.equal(of('real.down').length, 1);

  probes.set(misc.key, OK);
  await advance(clock, 1000);
  assert.equal(of('real.up').length, 0, 'still down: the TCP checker is down');
  probes.set(tcp.key, OK);
  await advance(clock, 1000);
  const up = of('real.up');
  assert.equal(up.length, 1);
  assert.equal(up[0]!.checker, tcp.key);
  assert.equal(scripts.callsOf('/n/up').length, 1);
  await sub.stop('shutdown');
});

test('check.result is emitted on changes only (first failure, another reason, verdict change), never in steady state', async () => {
  const tcp = tcpChecker('198.18.1.1', 80, { ...T, retry: 2 });
  const vs = virtualServer('198.18.0.10', 80, [realServer('198.18.1.1', 80, [tcp])]);
  const { sub, probes, of, clock } = setup([vs]);
  await sub.start(model([vs]));
  await advance(clock, 10_000);
  assert.equal(of('check.result').length, 1, 'only the first result (nothing before it)');
  probes.set(tcp.key, (n) => (n % 2 ? REFUSED : S503));
  await advance(clock, 1500);
  const r = of('check.result').slice(1);
  // attempt refused/503 alternate: each is a change; the third decides (verdict change carries it)
  assert.ok(r.length >= 2);
  assert.equal(r.at(-1)!.ok, false);
  assert.equal(of('real.down').length, 1);
  const before = of('check.result').length;
  probes.set(tcp.key, REFUSED);
  await advance(clock, 5000);
  assert.ok(of('check.result').length - before <= 1, 'a steady failure is not repeated');
  await sub.stop('shutdown');
});

test('verboseResults emits every attempt', async () => {
  const tcp = tcpChecker('198.18.1.1', 80, T);
  const vs = virtualServer('198.18.0.10', 80, [realServer('198.18.1.1', 80, [tcp])]);
  const { sub, of, clock } = setup([vs], { verboseResults: true });
  await sub.start(model([vs]));
  await advance(clock, 4500);
  assert.equal(of('check.result').length, 5);
  await sub.stop('shutdown');
});

test('inhibit_on_failure keeps the server in the pool with weight 0 (real.weight), restores it on recovery', async () => {
  const tcp = tcpChecker('198.18.1.1', 80, { ...T, retry: 0 });
  const vs = virtualServer('198.18.0.10', 80, [realServer('198.18.1.1', 80, [tcp], { weight: 7, inhibitOnFailure: true })]);
  const { sub, probes, of, clock } = setup([vs]);
  await sub.start(model([vs]));
  probes.set(tcp.key, REFUSED);
  await advance(clock, 10);
  assert.deepEqual(sub.health()[0], { service: vs.key, real: '198.18.1.1:80', up: false, weight: 0, inPool: true });
  assert.deepEqual(of('real.weight').map((e) => [e.from, e.to, e.reason]), [[7, 0, 'inhibit_on_failure']]);
  assert.deepEqual(of('real.weight').map((e) => [e.checker, e.detail, e.latencyMs, e.exitCode]), [[tcp.key, 'ECONNREFUSED', 1, null]], 'the outcome that decided');
  probes.set(tcp.key, OK);
  await advance(clock, 1000);
  assert.deepEqual(sub.health()[0], { service: vs.key, real: '198.18.1.1:80', up: true, weight: 7, inPool: true });
  assert.deepEqual(of('real.weight').map((e) => [e.from, e.to, e.reason]), [[7, 0, 'inhibit_on_failure'], [0, 7, 'recovered']]);
  await sub.stop('shutdown');
});

test('misc_dynamic: exit 2..255 sets weight exit−2, exit 0 keeps it, exit 1 fails; quorum counts the dynamic weight', async () => {
  const misc = miscChecker('198.18.1.1', 80, '/chk', { ...T, retry: 0 }, { dynamic: true });
  const vs = virtualServer('198.18.0.10', 80, [realServer('198.18.1.1', 80, [misc], { weight: 3 })], { quorum: 5 });
  const { sub, probes, of, clock } = setup([vs]);
  await sub.start(model([vs]));
  assert.equal(sub.quorum()[0]!.quorumUp, false, 'weight 3 < quorum 5 at start');
  probes.set(misc.key, { ok: true, reason: 'ok', detail: 'exit 12', latencyMs: 1, weight: 10, exitCode: 12 });
  await advance(clock, 10);
  assert.equal(sub.health()[0]!.weight, 10);
  assert.deepEqual(of('real.weight').map((e) => [e.from, e.to, e.reason]), [[3, 10, 'misc_dynamic']]);
  // which checker set it, with which exit status
  assert.deepEqual(of('real.weight')[0], {
    type: 'real.weight', service: vs.key, real: '198.18.1.1:80', from: 3, to: 10, reason: 'misc_dynamic',
    checker: misc.key, detail: 'exit 12', latencyMs: 1, exitCode: 12,
  });
  // and the quorum it moved says so
  assert.deepEqual(of('service.quorum').map((e) => [e.up, e.real, e.checker, e.reason]), [[false, null, null, 'startup'], [true, '198.18.1.1:80', misc.key, 'misc_dynamic']]);
  assert.equal(sub.quorum()[0]!.quorumUp, true);
  assert.equal(sub.quorum()[0]!.aliveWeight, 10);
  probes.set(misc.key, OK); // exit 0: weight unchanged
  await advance(clock, 1000);
  assert.equal(sub.health()[0]!.weight, 10);
  probes.set(misc.key, { ok: true, reason: 'ok', detail: 'exit 2', latencyMs: 1, weight: 0 });
  await advance(clock, 1000);
  assert.equal(sub.health()[0]!.weight, 0);
  assert.equal(sub.health()[0]!.up, true);
  const q = of('service.quorum');
  assert.deepEqual(q.map((e) => e.up), [false, true, false]);
  await sub.stop('shutdown');
});

test('quorum with hysteresis, sorry server and quorum scripts (ipwrapper.c update_quorum_state)', async () => {
  const t = { ...T, retry: 0 };
  const reals = [1, 2, 3].map((i) => realServer(`198.18.1.${i}`, 80, [tcpChecker(`198.18.1.${i}`, 80, t)]));
  const vs = virtualServer('198.18.0.10', 80, reals, {
    quorum: 2,
    hysteresis: 1,
    quorumUp: cmd('/q/up'),
    quorumDown: cmd('/q/down'),
    sorryServer: { address: '198.18.0.99', port: 8080, method: 'NAT', inhibit: false },
  });
  const { sub, probes, of, clock, scripts } = setup([vs]);
  await sub.start(model([vs]));
  assert.equal(of('service.quorum').length, 0, 'starts with quorum (3 ≥ 2+1)');
  const keys = reals.map((r) => r.checkers[0]!.key);
  probes.set(keys[0]!, REFUSED);
  probes.set(keys[1]!, REFUSED);
  await advance(clock, 10);
  assert.equal(sub.quorum()[0]!.quorumUp, true, '1 alive ≥ 2−1: kept');
  probes.set(keys[2]!, REFUSED);
  await advance(clock, 1000);
  let q = of('service.quorum');
  assert.equal(q.length, 1);
  assert.deepEqual(q[0], {
    type: 'service.quorum', service: vs.key, up: false, aliveWeight: 0, quorum: 2, hysteresis: 1, sorryServer: '198.18.0.99:8080',
    real: '198.18.1.3:80', checker: keys[2], reason: 'refused',
  });
  assert.equal(scripts.callsOf('/q/down').length, 1);
  assert.equal(sub.quorum()[0]!.sorryServer, '198.18.0.99:8080');
  probes.set(keys[0]!, OK);
  probes.set(keys[1]!, OK);
  await advance(clock, 1000);
  assert.equal(sub.quorum()[0]!.quorumUp, false, '2 alive < 2+1: still lost');
  probes.set(keys[2]!, OK);
  await advance(clock, 1000);
  q = of('service.quorum');
  assert.equal(q.length, 2);
  assert.equal(q[1]!.up, true);
  assert.equal(q[1]!.sorryServer, null);
  assert.equal(scripts.callsOf('/q/up').length, 1);
  await sub.stop('shutdown');
});

test('alpha: starts down, first success brings it up; a first failure still runs notify_down once', async () => {
  const a = tcpChecker('198.18.1.1', 80, T);
  const b = tcpChecker('198.18.1.2', 80, T);
  const vs = virtualServer('198.18.0.10', 80, [
    realServer('198.18.1.1', 80, [a], { alpha: true, notifyUp: cmd('/a/up') }),
    realServer('198.18.1.2', 80, [b], { alpha: true, notifyDown: cmd('/b/down') }),
  ]);
  const { sub, probes, of, clock, scripts } = setup([vs]);
  probes.set(b.key, REFUSED);
  await sub.start(model([vs]));
  assert.deepEqual(sub.health().map((h) => h.up), [false, false]);
  assert.equal(of('service.quorum')[0]!.up, false, 'starts with quorum lost (all alpha)');
  await advance(clock, 3000);
  assert.deepEqual(sub.health().map((h) => h.up), [true, false]);
  assert.deepEqual(of('real.up').map((e) => e.real), ['198.18.1.1:80']);
  assert.equal(of('real.down').length, 0, 'never was up');
  assert.equal(scripts.callsOf('/a/up').length, 1);
  assert.equal(scripts.callsOf('/b/down').length, 1, 'notify_down once for the alpha server whose first check failed');
  assert.equal(of('service.quorum').at(-1)!.up, true);
  await sub.stop('shutdown');
});

test('ha_suspend: checks pause while the owning VRRP instance is not MASTER', async () => {
  const tcp = tcpChecker('198.18.1.1', 80, T);
  const vs = virtualServer('198.18.0.10', 80, [realServer('198.18.1.1', 80, [tcp])], { haSuspend: true, ownerInstance: 'VI_1' });
  const other = tcpChecker('198.18.2.1', 80, T);
  const vs2 = virtualServer('198.18.0.11', 80, [realServer('198.18.2.1', 80, [other])], { ownerInstance: 'VI_1' });
  const { sub, probes, clock, bus } = setup([vs, vs2]);
  await sub.start(model([vs, vs2]));
  await advance(clock, 3000);
  assert.equal(probes.runsOf(tcp.key).length, 0, 'suspended before any VRRP state is known');
  assert.equal(probes.runsOf(other.key).length, 4, 'without ha_suspend checks run on BACKUP too');
  assert.equal(sub.quorum()[0]!.suspended, true);
  bus.emit({ type: 'vrrp.transition', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 100, masterAddress: null });
  await advance(clock, 2500);
  assert.equal(probes.runsOf(tcp.key).length, 3);
  bus.emit({ type: 'vrrp.transition', instance: 'VI_1', from: 'MASTER', to: 'BACKUP', reason: 'higher_priority_advert', priority: 100, masterAddress: '198.18.0.2' });
  await advance(clock, 5000);
  assert.equal(probes.runsOf(tcp.key).length, 3);
  const rep = sub.report().services[0]!;
  assert.equal(rep.suspended, true);
  assert.equal(rep.reals[0]!.checkers[0]!.suspended, true);
  await sub.stop('shutdown');
});

test('warmup: the first check at a random point in [0, warmup]', async () => {
  const tcp = tcpChecker('198.18.1.1', 80, { ...T, warmupMs: 1000 });
  const vs = virtualServer('198.18.0.10', 80, [realServer('198.18.1.1', 80, [tcp])]);
  const { sub, probes, clock } = setup([vs]); // random() = 0.5
  await sub.start(model([vs]));
  await advance(clock, 2600);
  assert.deepEqual(probes.runsOf(tcp.key), [500, 1500, 2500]);
  await sub.stop('shutdown');
});

test('reload keeps state and history of unchanged checkers; timing-only changes migrate; changed ones restart', async () => {
  const t = { ...T, retry: 0 };
  const a = tcpChecker('198.18.1.1', 80, t);
  const b = tcpChecker('198.18.1.2', 80, t);
  const c = tcpChecker('198.18.1.3', 80, t);
  const mk = (o: { bDelay?: number; cPort?: number; extra?: boolean } = {}) =>
    virtualServer('198.18.0.10', 80, [
      realServer('198.18.1.1', 80, [tcpChecker('198.18.1.1', 80, t)], { notifyDown: cmd('/a/down') }),
      realServer('198.18.1.2', 80, [tcpChecker('198.18.1.2', 80, { ...t, delayLoopMs: o.bDelay ?? 1000 })]),
      realServer('198.18.1.3', 80, [{ ...tcpChecker('198.18.1.3', o.cPort ?? 80, t), key: c.key }]),
      ...(o.extra ? [realServer('198.18.1.4', 80, [tcpChecker('198.18.1.4', 80, t)], { alpha: true })] : []),
    ]);
  const { sub, probes, of, clock, scripts } = setup([mk()]);
  probes.set(b.key, REFUSED);
  probes.set(c.key, REFUSED);
  await sub.start(model([mk()]));
  await advance(clock, 2500); // checks at 0, 1000, 2000
  assert.deepEqual(sub.health().map((h) => h.up), [true, false, false]);
  const eventsBefore = of('real.up').length + of('real.down').length;
  const attemptsBefore = sub.report().services[0]!.reals.map((r) => r.checkers[0]!.attempts);
  assert.deepEqual(attemptsBefore, [3, 3, 3]);

  // 1. the same config, rebuilt (new objects, equal content): nothing changes, nothing restarts
  await sub.apply(model([mk()]), noChanges);
  assert.equal(probes.closed.length, 0);
  assert.deepEqual(sub.health().map((h) => h.up), [true, false, false]);
  await advance(clock, 1000);
  assert.deepEqual(sub.report().services[0]!.reals.map((r) => r.checkers[0]!.attempts), [4, 4, 4], 'history continues');
  assert.equal(of('real.up').length + of('real.down').length, eventsBefore);

  // 2. b's delay_loop changes (keepalived migrates timing); c's port changes (a new checker); d is added
  probes.set(b.key, OK);
  const upsBefore = of('real.up').length;
  await sub.apply(model([mk({ bDelay: 300, cPort: 8080, extra: true })]), noChanges);
  assert.deepEqual(probes.closed, [c.key], 'only the changed checker was replaced');
  const rep = sub.report().services[0]!.reals;
  assert.equal(rep[1]!.checkers[0]!.attempts, 4, 'b kept its history');
  assert.equal(rep[2]!.checkers[0]!.attempts, 0, 'c starts over');
  assert.equal(rep[2]!.up, false, 'the replacement of a down checker starts down: a reload alone brings nothing up');
  assert.equal(of('real.up').length, upsBefore);
  assert.equal(rep[3]!.up, false, 'a new alpha real server starts down');
  const bRuns = probes.runsOf(b.key).length;
  await advance(clock, 700);
  assert.ok(probes.runsOf(b.key).length >= bRuns + 2, 'b now checks every 300 ms');
  assert.equal(sub.health()[1]!.up, true);

  // 3. a is removed: its checker stops, notify_down runs (it was alive)
  await sub.apply(
    model([virtualServer('198.18.0.10', 80, Object.values(mk({ bDelay: 300, cPort: 8080, extra: true }).realServers).slice(1))]),
    noChanges,
  );
  assert.ok(probes.closed.includes(a.key));
  assert.equal(scripts.callsOf('/a/down').length, 1);
  assert.equal(sub.health().length, 3);

  // 4. the whole service is removed
  await sub.apply(model([]), noChanges);
  assert.equal(sub.health().length, 0);
  assert.ok(probes.closed.includes(b.key));
  await sub.stop('shutdown');
});

test('`checks` control command: every real server with per-checker state; unknown service is a coded error', async () => {
  const tcp = tcpChecker('198.18.1.1', 80, { ...T, retry: 0 });
  const vs = virtualServer('198.18.0.10', 80, [realServer('198.18.1.1', 80, [tcp], { weight: 4 })]);
  const { sub, probes, clock, registry } = setup([vs]);
  await sub.start(model([vs]));
  probes.set(tcp.key, S503);
  await advance(clock, 100);
  const spec = registry.get('checks');
  assert.ok(spec);
  const r = (await spec.handler({})) as ChecksReport;
  const ck = r.services[0]!.reals[0]!.checkers[0]!;
  assert.equal(r.services[0]!.service, vs.key);
  assert.equal(r.services[0]!.reals[0]!.configuredWeight, 4);
  assert.deepEqual(
    { up: ck.up, lastOk: ck.lastOk, reason: ck.reason, detail: ck.detail, latencyMs: ck.latencyMs, consecutiveFail: ck.consecutiveFail, consecutiveOk: ck.consecutiveOk, target: ck.target },
    { up: false, lastOk: false, reason: 'status', detail: 'status 503', latencyMs: 3, consecutiveFail: 1, consecutiveOk: 0, target: '198.18.1.1:80' },
  );
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r, 'JSON-serialisable');
  await assert.rejects(async () => spec.handler({ service: 'tcp:1.2.3.4:5' }), { code: 'ERR_CHECK_UNKNOWN_SERVICE' });
  await assert.rejects(async () => spec.handler({ service: 5 }), { code: 'ERR_CONTROL_BAD_ARGS' });
  await sub.stop('shutdown');
  assert.equal(registry.get('checks'), undefined, 'stop unregisters the command');
  const empty = setup([]);
  await empty.sub.start(model([]));
  assert.deepEqual(await empty.registry.get('checks')!.handler({}), { services: [] }, 'no virtual server: an empty report');
  await empty.sub.stop('shutdown');
});

test('stop: timers cancelled, probes closed; omega runs notify_down and quorum_down at exit', async () => {
  const tcp = tcpChecker('198.18.1.1', 80, T);
  const vs = virtualServer('198.18.0.10', 80, [realServer('198.18.1.1', 80, [tcp], { notifyDown: cmd('/x/down') })], {
    omega: true,
    quorumDown: cmd('/x/qdown'),
  });
  const plain = virtualServer('198.18.0.11', 80, [realServer('198.18.1.2', 80, [tcpChecker('198.18.1.2', 80, T)], { notifyDown: cmd('/y/down') })], {
    quorumDown: cmd('/y/qdown'),
  });
  const { sub, probes, clock, scripts } = setup([vs, plain]);
  await sub.start(model([vs, plain]));
  await advance(clock, 100);
  await sub.stop('shutdown');
  assert.equal(clock.armed, 0);
  assert.equal(probes.closed.length, 2);
  assert.equal(scripts.callsOf('/x/down').length, 1);
  assert.equal(scripts.callsOf('/x/qdown').length, 1);
  assert.equal(scripts.callsOf('/x/down')[0]!.opts.timeoutMs, 1000);
  assert.equal(scripts.callsOf('/y/down').length + scripts.callsOf('/y/qdown').length, 0, 'no omega: nothing at exit');
});

// ───────────── reload identity and start states, with models from the real compiler ─────────────

/** A model compiled from keepalived.conf text (the compiler resolves inheritance and defaults). */
function compiled(vsBody: string) {
  const r = loadConfigText(`global_defs {\n    lvs_interface eth0\n}\nvirtual_server 198.18.0.10 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    warmup 0\n${vsBody}\n}\n`, 'c.conf', 'keepalived', { hostname: 'h', configId: 'h' });
  assert.ok(r.ok, r.ok ? '' : r.diagnostics.map((d) => d.message).join(' | '));
  return r.model;
}
const miscRs = (extra = '') => `    real_server 198.18.1.1 80 {\n        MISC_CHECK {\n            misc_path /bin/check\n${extra}        }\n    }`;

test('reload: a delay_loop-only change keeps a down MISC_CHECK down; its derived misc_timeout is timing, not identity (B1)', async () => {
  const before = compiled(`    delay_loop 2\n${miscRs()}`);
  const after = compiled(`    delay_loop 1\n${miscRs()}`);
  const key = 'misc:198.18.1.1:80#0';
  const c0 = Object.values(before.virtualServers)[0]!.realServers['198.18.1.1:80']!.checkers[0]!;
  const c1 = Object.values(after.virtualServers)[0]!.realServers['198.18.1.1:80']!.checkers[0]!;
  assert.deepEqual([c0.kind === 'misc' && c0.timeoutMs, c1.kind === 'misc' && c1.timeoutMs], [2000, 1000], 'misc_timeout follows delay_loop');
  const { sub, probes, of, clock } = setup([]);
  probes.set(key, { ok: false, reason: 'script_exit', detail: 'exit 1', latencyMs: 3, exitCode: 1 });
  await sub.start(before);
  await advance(clock, 2500);
  assert.equal(sub.health()[0]!.up, false);
  const downs = of('real.down').length;
  await sub.apply(after, noChanges);
  assert.deepEqual(probes.closed, [], 'the checker was kept, not replaced');
  assert.equal(sub.health()[0]!.up, false, 'still down');
  assert.equal(of('real.up').length, 0, 'no real.up from a reload');
  assert.equal(sub.report().services[0]!.reals[0]!.checkers[0]!.attempts, 2, 'history kept');
  const u = probes.updated.at(-1);
  assert.equal(u?.kind === 'misc' ? u.timeoutMs : null, 1000, 'the probe runs with the new misc_timeout');
  const runs = probes.runsOf(key).length;
  await advance(clock, 2100);
  assert.ok(probes.runsOf(key).length >= runs + 2, 'now every second');
  assert.equal(of('real.down').length, downs);
  await sub.stop('shutdown');
});

test('reload: toggling alpha on the virtual server replaces no checker (alpha is a start state, not identity)', async () => {
  const body = (alpha: string) => `    delay_loop 1\n${alpha}    real_server 198.18.1.1 80 {\n        TCP_CHECK {\n        }\n    }\n    real_server 198.18.1.2 80 {\n        TCP_CHECK {\n        }\n    }`;
  const { sub, probes, of, clock } = setup([]);
  probes.set('tcp:198.18.1.2:80#0', REFUSED);
  await sub.start(compiled(body('')));
  await advance(clock, 1500);
  assert.deepEqual(sub.health().map((h) => h.up), [true, false]);
  await sub.apply(compiled(body('    alpha\n')), noChanges);
  assert.deepEqual(probes.closed, []);
  assert.deepEqual(sub.health().map((h) => h.up), [true, false], 'states unchanged');
  await sub.apply(compiled(body('')), noChanges);
  assert.deepEqual(probes.closed, []);
  assert.equal(of('real.up').length + of('real.down').length, 1, 'only the one real failure');
  await sub.stop('shutdown');
});

test('reload: a changed checker that replaces a down one starts down with one failure enough; one replacing an up one starts up', async () => {
  const body = (path: string) => `    delay_loop 1\n    retry 3\n    real_server 198.18.1.1 80 {\n        MISC_CHECK {\n            misc_path ${path}\n        }\n    }\n    real_server 198.18.1.2 80 {\n        MISC_CHECK {\n            misc_path ${path}\n        }\n    }`;
  const { sub, probes, of, clock } = setup([]);
  const k1 = 'misc:198.18.1.1:80#0';
  const k2 = 'misc:198.18.1.2:80#0';
  probes.set(k1, { ok: false, reason: 'script_exit', detail: 'exit 1', latencyMs: 1, exitCode: 1 });
  await sub.start(compiled(body('/bin/old')));
  await advance(clock, 1500);
  assert.deepEqual(sub.health().map((h) => h.up), [false, true]);
  await sub.apply(compiled(body('/bin/new')), noChanges);
  assert.deepEqual(probes.closed.sort(), [k1, k2], 'both replaced (the script changed)');
  assert.deepEqual(sub.health().map((h) => h.up), [false, true], 'the down one stays down, the up one stays up');
  assert.equal(of('real.up').length, 0);
  // the new checker of the up server: one failure is not enough (it replaced an up checker, nothing failed)
  probes.set(k2, { ok: false, reason: 'script_exit', detail: 'exit 1', latencyMs: 1, exitCode: 1 });
  await advance(clock, 50);
  assert.equal(sub.health()[1]!.up, true, 'retries pending (retry 3)');
  // the down server's replacement comes up on its first success
  probes.set(k1, OK);
  await advance(clock, 1000);
  assert.equal(sub.health()[0]!.up, true);
  await sub.stop('shutdown');
});

test('reload: keepalived migrate_checkers — a new checker on a real server with a failed checker: alpha starts down, one failure enough', async () => {
  const body = (extra: string) => `    delay_loop 1\n    retry 2\n    real_server 198.18.1.1 80 {\n        TCP_CHECK {\n        }\n${extra}    }`;
  const { sub, probes, clock } = setup([]);
  probes.set('tcp:198.18.1.1:80#0', REFUSED);
  await sub.start(compiled(body('')));
  await advance(clock, 500);
  assert.equal(sub.health()[0]!.up, false);
  await sub.apply(compiled(body('        MISC_CHECK {\n            misc_path /bin/a\n            alpha\n        }\n        MISC_CHECK {\n            misc_path /bin/b\n        }\n')), noChanges);
  const ck = sub.report().services[0]!.reals[0]!.checkers;
  assert.deepEqual(ck.map((c) => [c.checker, c.up]), [['tcp:198.18.1.1:80#0', false], ['misc:198.18.1.1:80#0', false], ['misc:198.18.1.1:80#1', true]]);
  probes.set('misc:198.18.1.1:80#1', { ok: false, reason: 'script_exit', detail: 'exit 1', latencyMs: 1, exitCode: 1 });
  await advance(clock, 20);
  assert.equal(sub.report().services[0]!.reals[0]!.checkers[2]!.up, false, 'the first failure decided (retry_it = retry)');
  assert.equal(probes.runsOf('misc:198.18.1.1:80#1').length, 1, 'no retry');
  await sub.stop('shutdown');
});

test('alpha set inside a checker block: that checker starts down, the real server is up only when all checkers are (S1)', async () => {
  const m = compiled(`    delay_loop 1\n    real_server 198.18.1.1 80 {\n        TCP_CHECK {\n        }\n        MISC_CHECK {\n            misc_path /bin/check\n            alpha\n        }\n    }\n    real_server 198.18.1.2 80 {\n        alpha\n        TCP_CHECK {\n            alpha off\n        }\n    }`);
  const { sub, probes, of, clock } = setup([]);
  await sub.start(m);
  const rep = () => sub.report().services[0]!.reals.map((r) => [r.up, ...r.checkers.map((c) => c.up)]);
  assert.deepEqual(rep(), [[false, true, false], [true, true]], 'per-checker start states');
  probes.set('misc:198.18.1.1:80#0', { ok: false, reason: 'script_exit', detail: 'exit 1', latencyMs: 1, exitCode: 1 });
  await advance(clock, 1500);
  assert.deepEqual(rep(), [[false, true, false], [true, true]]);
  probes.set('misc:198.18.1.1:80#0', OK);
  await advance(clock, 1000);
  assert.deepEqual(rep(), [[true, true, true], [true, true]]);
  assert.deepEqual(of('real.up').map((e) => [e.real, e.checker]), [['198.18.1.1:80', 'misc:198.18.1.1:80#0']]);
  await sub.stop('shutdown');
});

test('at start one failure is enough (check_data.c validate_check_config); a server added by reload gets its retries', async () => {
  const body = (both: boolean) => `    delay_loop 1\n    retry 2\n    delay_before_retry 1\n    real_server 198.18.1.1 80 {\n        TCP_CHECK {\n        }\n    }\n${both ? '    real_server 198.18.1.2 80 {\n        TCP_CHECK {\n        }\n    }' : ''}`;
  const { sub, probes, clock } = setup([]);
  probes.set('tcp:198.18.1.1:80#0', REFUSED);
  probes.set('tcp:198.18.1.2:80#0', REFUSED);
  await sub.start(compiled(body(false)));
  await advance(clock, 20);
  assert.equal(sub.health()[0]!.up, false, 'down at the first failure');
  assert.equal(probes.runsOf('tcp:198.18.1.1:80#0').length, 1);
  await sub.apply(compiled(body(true)), noChanges);
  await advance(clock, 20);
  assert.equal(sub.health()[1]!.up, true, 'a reload-added server retries first');
  await advance(clock, 2100);
  assert.equal(sub.health()[1]!.up, false);
  assert.deepEqual(probes.runs.filter((r) => r.key === 'tcp:198.18.1.2:80#0').map((r) => r.retry).slice(0, 3), [false, true, true], 'the attempt and two retries');
  await sub.stop('shutdown');
});
