/**
 * ARCHITECTURE D4 at start: every configured VIP present as a kernel address is removed and
 * logged, whoever owns it (a kernel VIP a crashed run left, a core VIP that must never be a
 * kernel address); a reload cleans up for new instances without touching the VIPs a running
 * MASTER holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/clock.js';
import { MemoryWire } from '../../../src/vrrp/memory-transport.js';
import type { ChangeSet } from '../../../src/model/changes.js';
import { instance, model, vip } from './lib/fixtures.js';
import { director, run, stateOf } from './lib/director.js';

const A = '198.18.0.1';

function changes(added: string[]): ChangeSet {
  const none = { added: [], removed: [], changed: [] };
  return {
    global: false, vrrpScripts: none, vrrpTrackFiles: none, syncGroups: none, instances: { added, removed: [], changed: [] }, virtualServerGroups: none,
    virtualServers: none, realServers: {}, fwmarkRules: false, coreVips: none,
  };
}

test('start: kernel- and core-owned VIPs present as kernel addresses are removed first, each logged; other addresses stay', async () => {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A, wire, clock);
  await a.netlink.addAddress({ ifname: 'eth0', address: '198.18.0.100', prefixLen: 24 }); // kernel VIP left by a crash
  await a.netlink.addAddress({ ifname: 'eth0', address: '198.18.0.200', prefixLen: 32 }); // core VIP left by keepalived, other prefix
  await a.netlink.addAddress({ ifname: 'eth0', address: '198.18.0.77', prefixLen: 24 }); // not a VIP
  const m = model({ instances: [instance('VI_1', { vips: [vip('198.18.0.100/24'), vip('198.18.0.200/24', 'eth0', { owner: 'core', ownerReason: 'virtual_server' })] })] });
  const removed = await a.sub.removeStaleVips(m);
  assert.equal(removed, 2);
  assert.deepEqual(a.addresses().sort(), [A, '198.18.0.77']);
  const logs = a.events.filter((e) => e.type === 'log' && e.fields?.stale === true) as Array<{ msg: string; fields: Record<string, unknown> }>;
  assert.deepEqual(logs.map((l) => [l.fields.address, l.fields.owner]), [['198.18.0.100', 'kernel'], ['198.18.0.200', 'core']]);
  assert.match(logs[1]!.msg, /198\.18\.0\.200\/32 on eth0: a kernel address although the forwarding core serves it/);
  const delCalls = a.netlink.calls.filter((c) => c.op === 'delAddress').length;
  await a.sub.start(m); // already done for this start: not again
  assert.equal(a.netlink.calls.filter((c) => c.op === 'delAddress').length, delCalls);
  await a.sub.stop('t');
});

test('start() alone (no daemon wiring) still removes stale VIPs before the instances run', async () => {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A, wire, clock);
  await a.netlink.addAddress({ ifname: 'eth0', address: '198.18.0.100', prefixLen: 24 });
  await a.sub.start(model({ instances: [instance('VI_1')] }));
  assert.deepEqual(a.addresses(), [A]);
  await a.sub.stop('t');
});

test('reload: a new instance\'s stale VIP goes, the VIPs a running MASTER installed stay', async () => {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A, wire, clock);
  const one = instance('VI_1', { priority: 150 });
  await a.sub.start(model({ instances: [one] }));
  await run(clock, 5000);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  assert.ok(a.addresses().includes('198.18.0.100'));
  await a.netlink.addAddress({ ifname: 'eth0', address: '198.18.0.150', prefixLen: 24 }); // appeared meanwhile
  // VI_2 lists its own VIP and (wrongly, but possible in a file being edited) VI_1's
  const two = instance('VI_2', { vrid: 52, vips: [vip('198.18.0.150/24'), vip('198.18.0.100/24')] });
  await a.sub.apply(model({ instances: [one, two] }), changes(['VI_2']));
  await run(clock, 10);
  assert.ok(!a.addresses().includes('198.18.0.150'), 'stale VIP of the new instance removed');
  assert.ok(a.addresses().includes('198.18.0.100'), 'the MASTER\'s VIP kept');
  await a.sub.stop('t');
});
