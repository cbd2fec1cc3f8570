/**
 * Two (or three) in-process directors on an in-memory wire with a manual clock: the whole
 * VRRP subsystem (machine, sync groups, driver, trackers, VIPs, notify) against the port
 * doubles, with timing checked to the millisecond.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/clock.js';
import { MemoryWire } from '../../../src/vrrp/memory-transport.js';
import { encodeAdvert, encodeIPv4Packet } from '../../../src/vrrp/packet.js';
import { formatVrrp } from '../../../src/cli/format/vrrp.js';
import { NO_NOTIFY, cmd, instance, model, script, syncGroup, trackFile, vip } from './lib/fixtures.js';
import { director, run, stateOf } from './lib/director.js';
import type { ChangeSet } from '../../../src/model/changes.js';
import type { VrrpInstance } from '../../../src/model/types.js';

const A_ADDR = '198.18.0.1';
const B_ADDR = '198.18.0.2';

function changes(over: Partial<ChangeSet> = {}): ChangeSet {
  const none = { added: [], removed: [], changed: [] };
  return {
    global: false, vrrpScripts: none, vrrpTrackFiles: none, syncGroups: none, instances: none, virtualServerGroups: none,
    virtualServers: none, realServers: {}, fwmarkRules: false, coreVips: none, ...over,
  };
}

async function pair(aOver: Partial<VrrpInstance> = {}, bOver: Partial<VrrpInstance> = {}) {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A_ADDR, wire, clock);
  const b = await director('B', B_ADDR, wire, clock);
  const ma = model({ instances: [instance('VI_1', { priority: 150, ...aOver })] });
  const mb = model({ instances: [instance('VI_1', { priority: 100, ...bOver })] });
  await a.sub.start(ma);
  await b.sub.start(mb);
  return { clock, wire, a, b, ma, mb };
}

test('the higher priority becomes MASTER after its Master_Down_Interval; only it holds the VIP and announces it', async () => {
  const { clock, a, b } = await pair();
  await run(clock, 3300);
  assert.equal(stateOf(a, 'VI_1'), 'BACKUP');
  await run(clock, 200); // A: 3 s + (256-150)/256 s = 3414 ms
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  assert.equal(Math.floor(a.transitions('VI_1').at(-1)!.atMs), 3414); // 3 s + 106/256 s = 3414.062 ms
  await run(clock, 2000);
  assert.equal(stateOf(b, 'VI_1'), 'BACKUP');
  assert.deepEqual(a.addresses().sort(), [A_ADDR, '198.18.0.100']);
  assert.deepEqual(b.addresses(), [B_ADDR]);
  assert.equal(a.announce.countFor('198.18.0.100'), 5, 'first burst of garp_master_repeat');
  await run(clock, 5000);
  assert.equal(a.announce.countFor('198.18.0.100'), 10, 'second burst after garp_master_delay');
  assert.equal(b.announce.countFor('198.18.0.100'), 0);
  const st = b.status().instances[0]!;
  assert.equal(st.masterAddress, A_ADDR);
  assert.equal(st.masterPriority, 150);
  assert.ok(st.counters.advertsReceived >= 6);
  assert.equal(Object.values(st.counters.drops).reduce((x, y) => x + y, 0), 0);
  await a.sub.stop('test');
  await b.sub.stop('test');
});

test('clean stop: priority-0 advert, the BACKUP takes over after its skew time only', async () => {
  const { clock, a, b } = await pair();
  await run(clock, 6000);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  const stopAt = clock.now();
  await a.sub.stop('shutdown');
  assert.deepEqual(a.addresses(), [A_ADDR], 'VIP removed on stop');
  await run(clock, 1000);
  const t = b.transitions('VI_1').at(-1)!;
  assert.equal(t.to, 'MASTER');
  assert.equal(t.reason, 'priority_zero');
  // skew of priority 100 = 609.375 ms (RFC 3768 §6.1); the manual clock ticks in 5 ms slices
  assert.ok(t.atMs - stopAt >= 609 && t.atMs - stopAt <= 615, `takeover after ${t.atMs - stopAt} ms`);
  assert.ok(b.addresses().includes('198.18.0.100'));
  assert.equal(a.status().instances[0]!.counters.priorityZeroSent, 1);
  await b.sub.stop('test');
});

test('crash of the MASTER: the BACKUP takes over after Master_Down_Interval; when the old MASTER comes back it re-asserts and the split brain heals', async () => {
  const { clock, wire, a, b } = await pair();
  await run(clock, 6000);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  wire.setCut('A', true); // A neither sends nor receives: B sees a dead master, A still thinks it is MASTER
  const lastA = Math.max(...wire.sent.filter((s) => s.host === 'A').map((s) => s.atMs));
  await run(clock, 4000);
  const t = b.transitions('VI_1').at(-1)!;
  assert.equal(t.to, 'MASTER');
  assert.equal(t.reason, 'master_down_timer');
  assert.ok(t.atMs - lastA >= 3609 && t.atMs - lastA <= 3615, `takeover ${t.atMs - lastA} ms after the last advert`);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER', 'split brain while cut');
  const garpsBefore = a.announce.countFor('198.18.0.100');
  wire.setCut('A', false);
  await run(clock, 1500);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  assert.equal(stateOf(b, 'VI_1'), 'BACKUP');
  assert.equal(b.transitions('VI_1').at(-1)!.reason, 'higher_priority_advert');
  assert.ok(a.announce.countFor('198.18.0.100') >= garpsBefore + 5, 'A answered the lower-priority advert with gratuitous ARPs');
  assert.ok(!b.addresses().includes('198.18.0.100'));
  await a.sub.stop('test');
  await b.sub.stop('test');
});

test('preempt: a higher priority that starts later takes over; nopreempt: it stays BACKUP', async () => {
  {
    const clock = new ManualClock(0);
    const wire = new MemoryWire(clock);
    const a = await director('A', A_ADDR, wire, clock);
    const b = await director('B', B_ADDR, wire, clock);
    await b.sub.start(model({ instances: [instance('VI_1', { priority: 100 })] }));
    await run(clock, 5000);
    assert.equal(stateOf(b, 'VI_1'), 'MASTER');
    await a.sub.start(model({ instances: [instance('VI_1', { priority: 150 })] }));
    await run(clock, 5000);
    assert.equal(stateOf(a, 'VI_1'), 'MASTER', 'preempt');
    assert.equal(a.transitions('VI_1').at(-1)!.reason, 'preempt');
    assert.equal(stateOf(b, 'VI_1'), 'BACKUP');
    await a.sub.stop('t');
    await b.sub.stop('t');
  }
  {
    const clock = new ManualClock(0);
    const wire = new MemoryWire(clock);
    const a = await director('A', A_ADDR, wire, clock);
    const b = await director('B', B_ADDR, wire, clock);
    await b.sub.start(model({ instances: [instance('VI_1', { priority: 100 })] }));
    await run(clock, 5000);
    await a.sub.start(model({ instances: [instance('VI_1', { priority: 150, preempt: false })] }));
    await run(clock, 10000);
    assert.equal(stateOf(a, 'VI_1'), 'BACKUP', 'nopreempt');
    assert.equal(stateOf(b, 'VI_1'), 'MASTER');
    await a.sub.stop('t');
    await b.sub.stop('t');
  }
});

test('a failing weight-0 track script puts the MASTER in FAULT (priority 0), the peer takes over; notify scripts get keepalived arguments; FIFO lines', async () => {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A_ADDR, wire, clock);
  const b = await director('B', B_ADDR, wire, clock);
  let healthy = true;
  a.scripts.script('/usr/local/bin/chk', () => ({ exitCode: healthy ? 0 : 1 }));
  const notify = { master: cmd('/n/master'), backup: cmd('/n/backup'), fault: cmd('/n/fault'), stop: cmd('/n/stop'), generic: cmd('/n/notify x'), masterRxLowerPri: null };
  await a.sub.start(model({
    instances: [instance('VI_1', { priority: 150, trackScripts: [{ name: 'chk', weight: 0, weightReverse: false }], notify })],
    scripts: [script('chk', '/usr/local/bin/chk', { intervalMs: 1000 })],
    global: { notifyFifo: '/run/lvsd.fifo' },
  }));
  await b.sub.start(model({ instances: [instance('VI_1', { priority: 100 })] }));
  await run(clock, 5000);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  healthy = false;
  await run(clock, 1200);
  assert.equal(stateOf(a, 'VI_1'), 'FAULT');
  assert.equal(a.transitions('VI_1').at(-1)!.reason, 'tracker');
  const faultAt = a.transitions('VI_1').at(-1)!.atMs;
  await run(clock, 1000);
  const tb = b.transitions('VI_1').at(-1)!;
  assert.equal(tb.to, 'MASTER');
  assert.equal(tb.reason, 'priority_zero');
  assert.ok(tb.atMs - faultAt <= 615);
  // keepalived: notify_<state> without arguments, generic notify with INSTANCE NAME STATE PRIORITY
  const argvs = a.scripts.calls.filter((c) => c.cmd.argv[0]!.startsWith('/n/')).map((c) => c.argv.join(' '));
  assert.deepEqual(argvs, ['/n/backup', '/n/notify x INSTANCE VI_1 BACKUP 150', '/n/master', '/n/notify x INSTANCE VI_1 MASTER 150', '/n/fault', '/n/notify x INSTANCE VI_1 FAULT 150']);
  assert.deepEqual(a.fifo.lines.map((l) => l.line), ['INSTANCE "VI_1" BACKUP 150\n', 'INSTANCE "VI_1" MASTER 150\n', 'INSTANCE "VI_1" FAULT 150\n']);
  assert.ok(a.events.some((e) => e.type === 'vrrp.tracker' && e.tracker === 'chk' && !e.up));
  // recovery: back to BACKUP (B keeps MASTER? no: A preempts with 150)
  healthy = true;
  await run(clock, 6000);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  await a.sub.stop('t');
  assert.equal(a.fifo.lines.at(-1)!.line, 'INSTANCE "VI_1" STOP 150\n');
  await b.sub.stop('t');
});

test('weighted tracker: a track file lowers the MASTER below the peer, which preempts', async () => {
  const clock2 = new ManualClock(0);
  const wire = new MemoryWire(clock2);
  const a2 = await director('A', A_ADDR, wire, clock2);
  const b2 = await director('B', B_ADDR, wire, clock2);
  a2.files.set('/run/prio', '0');
  await a2.sub.start(model({ instances: [instance('VI_1', { priority: 150, trackFiles: [{ name: 'prio', weight: 10, weightReverse: false }] })], files: [trackFile('prio', '/run/prio', { weight: 10 })] }));
  await b2.sub.start(model({ instances: [instance('VI_1', { priority: 100 })] }));
  await run(clock2, 5000);
  assert.equal(stateOf(a2, 'VI_1'), 'MASTER');
  a2.files.set('/run/prio', '-6'); // 150 + (-6 × 10) = 90 < 100
  await run(clock2, 10);
  assert.equal(a2.status().instances[0]!.effectivePriority, 90);
  assert.ok(a2.events.some((e) => e.type === 'vrrp.priority' && e.to === 90));
  await run(clock2, 5000);
  assert.equal(stateOf(b2, 'VI_1'), 'MASTER', 'B preempts the lowered A');
  assert.equal(stateOf(a2, 'VI_1'), 'BACKUP');
  await a2.sub.stop('t');
  await b2.sub.stop('t');
});

test('sync group: a fault on one member moves the whole group to FAULT and the peer takes every member', async () => {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A_ADDR, wire, clock, ['eth1']);
  const b = await director('B', B_ADDR, wire, clock, ['eth1']);
  const mk = (prio: number) => model({
    instances: [
      instance('VI_1', { priority: prio, vrid: 51, syncGroup: 'G' }),
      instance('VI_2', { priority: prio, vrid: 52, syncGroup: 'G', vips: [vip('198.18.0.200/24')], trackInterfaces: [{ name: 'eth1', weight: 0, weightReverse: false }] }),
    ],
    syncGroups: [syncGroup('G', ['VI_1', 'VI_2'], { notify: { master: cmd('/g/master'), backup: null, fault: cmd('/g/fault'), stop: null, generic: cmd('/g/notify'), masterRxLowerPri: null } })],
    global: { vrrpNotifyFifo: '/run/vrrp.fifo' },
  });
  await a.sub.start(mk(150));
  await b.sub.start(mk(100));
  await run(clock, 6000);
  assert.deepEqual([stateOf(a, 'VI_1'), stateOf(a, 'VI_2')], ['MASTER', 'MASTER']);
  assert.deepEqual([stateOf(b, 'VI_1'), stateOf(b, 'VI_2')], ['BACKUP', 'BACKUP']);
  a.netlink.setLinkUp('eth1', false);
  await run(clock, 1000);
  assert.deepEqual([stateOf(a, 'VI_1'), stateOf(a, 'VI_2')], ['FAULT', 'FAULT']);
  assert.equal(a.status().syncGroups[0]!.state, 'FAULT');
  assert.deepEqual([stateOf(b, 'VI_1'), stateOf(b, 'VI_2')], ['MASTER', 'MASTER']);
  assert.ok(a.scripts.calls.some((c) => c.argv.join(' ') === '/g/notify GROUP G FAULT 0'));
  assert.ok(a.fifo.lines.some((l) => l.line === 'GROUP "G" FAULT 0\n'));
  a.netlink.setLinkUp('eth1', true);
  await run(clock, 10000);
  assert.deepEqual([stateOf(a, 'VI_1'), stateOf(a, 'VI_2')], ['MASTER', 'MASTER'], 'recovered and preempted again');
  await a.sub.stop('t');
  await b.sub.stop('t');
});

test('reload: an unchanged instance keeps its state; a changed VIP list is applied while MASTER without a transition', async () => {
  const { clock, a, b, ma } = await pair();
  await run(clock, 6000);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  const before = a.transitions('VI_1').length;
  const inst = ma.instances.VI_1!;
  const next = model({ instances: [{ ...inst, vips: [vip('198.18.0.100/24'), vip('198.18.0.101/24')], priority: 160 }] });
  await a.sub.apply(next, changes({ instances: { added: [], removed: [], changed: ['VI_1'] } }));
  await run(clock, 100);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  assert.equal(a.transitions('VI_1').length, before, 'no transition');
  assert.ok(a.addresses().includes('198.18.0.101'));
  assert.ok(a.announce.countFor('198.18.0.101') >= 5);
  assert.equal(a.status().instances[0]!.effectivePriority, 160);
  // the peer still validates the adverts once its own config lists both VIPs
  const nb = model({ instances: [{ ...inst, priority: 100, vips: [vip('198.18.0.100/24'), vip('198.18.0.101/24')] }] });
  await b.sub.apply(nb, changes({ instances: { added: [], removed: [], changed: ['VI_1'] } }));
  await run(clock, 3000);
  assert.equal(b.status().instances[0]!.counters.drops.addr_count, 0);
  assert.equal(stateOf(b, 'VI_1'), 'BACKUP');
  // removing the instance on reload: priority 0 and the VIPs go
  await a.sub.apply(model({ instances: [] }), changes({ instances: { added: [], removed: ['VI_1'], changed: [] } }));
  await run(clock, 1000);
  assert.deepEqual(a.addresses(), [A_ADDR]);
  assert.equal(stateOf(b, 'VI_1'), 'MASTER');
  await a.sub.stop('t');
  await b.sub.stop('t');
});

test('stale kernel VIPs left by a crashed predecessor are removed at start', async () => {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A_ADDR, wire, clock);
  await a.netlink.addAddress({ ifname: 'eth0', address: '198.18.0.100', prefixLen: 24 });
  await a.sub.start(model({ instances: [instance('VI_1', { priority: 100 })] }));
  assert.deepEqual(a.addresses(), [A_ADDR]);
  assert.ok(a.events.some((e) => e.type === 'vip.removed' && e.address === '198.18.0.100'));
  await a.sub.stop('t');
});

test('core-owned VIPs are claimed on MASTER and released on leaving it (D4), never added to the kernel', async () => {
  const { clock, a, b } = await pair({ vips: [vip('198.18.0.100/24', 'eth0', { owner: 'core', ownerReason: 'virtual_server' })] }, { vips: [vip('198.18.0.100/24', 'eth0', { owner: 'core', ownerReason: 'virtual_server' })] });
  await run(clock, 6000);
  assert.equal(a.core.claimed.get('198.18.0.100'), 'VI_1');
  assert.ok(!a.addresses().includes('198.18.0.100'));
  assert.ok(a.announce.countFor('198.18.0.100') >= 5, 'the VIP is still announced');
  await a.sub.stop('t');
  assert.equal(a.core.claimed.size, 0);
  await run(clock, 1000);
  assert.equal(b.core.claimed.get('198.18.0.100'), 'VI_1');
  await b.sub.stop('t');
});

test('bad packets are counted by reason, unknown VRIDs per socket; the vrrp command and formatter show them', async () => {
  const { clock, wire, a, b } = await pair({ auth: { type: 'PASS', password: 'secret' } }, { auth: { type: 'PASS', password: 'secret' } });
  await run(clock, 5000);
  // a third host speaks with a wrong password, another VRID and a broken checksum
  const c = wire.transport('C');
  wire.plug('C', 'eth0', 'lan', ['198.18.0.3']);
  const ch = c.open({ family: 'ipv4', ifname: 'eth0', ifindex: 1, multicastGroup: '224.0.0.18' }, () => {}, () => {});
  const send = (over: Partial<Parameters<typeof encodeAdvert>[0]>, mangle?: (b: Uint8Array) => void) => {
    const v = encodeAdvert({ version: 2, family: 'ipv4', vrid: 51, priority: 200, advertIntervalMs: 1000, addresses: ['198.18.0.100'], password: 'secret', src: '198.18.0.3', dst: '224.0.0.18', ...over });
    mangle?.(v);
    ch.send(encodeIPv4Packet(v, '198.18.0.3', '224.0.0.18', 7), '224.0.0.18');
  };
  send({ password: 'wrong' });
  send({ vrid: 99 });
  send({}, (v) => { v[7] ^= 0xff; });
  send({ advertIntervalMs: 2000 });
  await run(clock, 50);
  const st = b.status();
  const drops = st.instances[0]!.counters.drops;
  assert.equal(drops.auth_failure, 1);
  assert.equal(drops.checksum, 1);
  assert.equal(drops.advert_interval, 1);
  assert.equal(st.channels[0]!.drops.unknown_vrid, 1);
  assert.equal(stateOf(b, 'VI_1'), 'BACKUP', 'no bad packet moved B');
  // the control command
  const res = await b.registry.get('vrrp')!.handler({});
  const text = formatVrrp(res as never);
  assert.match(text, /VI_1/);
  assert.match(text, /BACKUP/);
  assert.match(text, /auth_failure=1/);
  await assert.rejects(async () => b.registry.get('vrrp')!.handler({ instance: 'nope' }), { code: 'ERR_VRRP_NO_INSTANCE' });
  ch.close();
  await a.sub.stop('t');
  await b.sub.stop('t');
});

test('VRRPv3 over IPv6 between two directors, and unicast peers over IPv4', async () => {
  {
    const clock = new ManualClock(0);
    const wire = new MemoryWire(clock);
    const a = await director('A', 'fe80::1', wire, clock);
    const b = await director('B', 'fe80::2', wire, clock);
    const v6 = (prio: number) => model({ instances: [instance('VI_6', { priority: prio, version: 3, family: 'ipv6', vrid: 60, advertIntervalMs: 500, vips: [vip('fe80::60:1/64'), vip('2001:db8::60/64')] })] });
    await a.sub.start(v6(150));
    await b.sub.start(v6(100));
    await run(clock, 4000);
    assert.equal(stateOf(a, 'VI_6'), 'MASTER');
    assert.equal(stateOf(b, 'VI_6'), 'BACKUP');
    assert.equal(b.status().instances[0]!.masterAddress, 'fe80::1');
    assert.equal(Object.values(b.status().instances[0]!.counters.drops).reduce((x, y) => x + y, 0), 0);
    await a.sub.stop('t');
    await b.sub.stop('t');
  }
  {
    const clock = new ManualClock(0);
    const wire = new MemoryWire(clock);
    const a = await director('A', A_ADDR, wire, clock);
    const b = await director('B', B_ADDR, wire, clock);
    await a.sub.start(model({ instances: [instance('VI_U', { priority: 150, version: 3, unicastSrcIp: A_ADDR, unicastPeers: [B_ADDR], checkUnicastSrc: true })] }));
    await b.sub.start(model({ instances: [instance('VI_U', { priority: 100, version: 3, unicastSrcIp: B_ADDR, unicastPeers: [A_ADDR], checkUnicastSrc: true })] }));
    await run(clock, 5000);
    assert.equal(stateOf(a, 'VI_U'), 'MASTER');
    assert.equal(stateOf(b, 'VI_U'), 'BACKUP');
    assert.ok(wire.sent.filter((s) => s.host === 'A').every((s) => s.dst === B_ADDR));
    await a.sub.stop('t');
    await b.sub.stop('t');
  }
});

test('sync group stop: members say STOP, then the group does (its notify_stop, the generic notify GROUP ... STOP 0, the FIFO line), as keepalived 2.2.7 does', async () => {
  // Observed with Debian's keepalived 2.2.7 (vrrp_notify.c notify_shutdown): on SIGTERM it runs the
  // member's `notify ... INSTANCE VI_1 STOP 100`, the group's notify_stop, `notify ... GROUP G1 STOP 0`
  // and writes `INSTANCE "VI_1" STOP 100` then `GROUP "G1" STOP 0` to the FIFO, whatever the man
  // page's "stop only applies to instances" says.
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A_ADDR, wire, clock);
  const m = model({
    instances: [instance('VI_1', { priority: 150, syncGroup: 'G', notify: { ...NO_NOTIFY, generic: cmd('/i/notify') } })],
    syncGroups: [syncGroup('G', ['VI_1'], { notify: { ...NO_NOTIFY, stop: cmd('/g/stop'), generic: cmd('/g/notify') } })],
    global: { vrrpNotifyFifo: '/run/vrrp.fifo' },
  });
  await a.sub.start(m);
  await run(clock, 5000);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  const calls = a.scripts.calls.length;
  const lines = a.fifo.lines.length;
  await a.sub.stop('t');
  assert.deepEqual(a.scripts.calls.slice(calls).map((c) => c.argv.join(' ')), ['/i/notify INSTANCE VI_1 STOP 150', '/g/stop', '/g/notify GROUP G STOP 0']);
  assert.deepEqual(a.fifo.lines.slice(lines).map((l) => l.line), ['INSTANCE "VI_1" STOP 150\n', 'GROUP "G" STOP 0\n']);
});
