import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeAnnounce, FakeCoreVip, FakeNetlink, FakeScripts } from '../../../src/io/doubles.js';
import type { LinkInfo, NeighbourInfo } from '../../../src/io/ports.js';

test('FakeNetlink: links fire onLinkChange on add, flip and removal; unsubscribe stops them', async () => {
  const nl = new FakeNetlink();
  const seen: LinkInfo[] = [];
  const off = nl.onLinkChange((l) => seen.push(l));
  nl.addLink('eth0');
  nl.setLinkUp('eth0', false);
  nl.setLinkUp('eth0', false); // no change, no event
  nl.setLinkUp('eth0', true);
  nl.removeLink('eth0');
  assert.deepEqual(seen.map((l) => [l.name, l.operUp]), [['eth0', true], ['eth0', false], ['eth0', true], ['eth0', false]]);
  off();
  nl.addLink('eth1');
  assert.equal(seen.length, 4);
  assert.equal((await nl.getLink('eth1'))?.mac, '02:00:00:00:00:02');
  assert.equal(await nl.getLink('eth0'), null);
});

test('FakeNetlink: addresses are idempotent, canonical, recorded; failNext rejects once', async () => {
  const nl = new FakeNetlink();
  nl.addLink('eth0');
  await nl.addAddress({ ifname: 'eth0', address: '198.18.0.10', prefixLen: 24, label: 'eth0:1' });
  await nl.addAddress({ ifname: 'eth0', address: '198.18.0.10', prefixLen: 24 });
  await nl.addAddress({ ifname: 'eth0', address: '2001:DB8::0:1', prefixLen: 64 });
  assert.deepEqual((await nl.listAddresses('eth0')).map((a) => [a.address, a.family, a.label]), [
    ['198.18.0.10', 'ipv4', 'eth0:1'],
    ['2001:db8::1', 'ipv6', null],
  ]);
  await nl.delAddress({ ifname: 'eth0', address: '198.18.0.10', prefixLen: 24 });
  await nl.delAddress({ ifname: 'eth0', address: '198.18.0.10', prefixLen: 24 });
  assert.equal(nl.addresses.length, 1);
  assert.deepEqual(nl.calls.map((c) => c.op), ['addAddress', 'addAddress', 'addAddress', 'delAddress', 'delAddress']);
  nl.failNext('addAddress', new Error('EPERM'));
  await assert.rejects(nl.addAddress({ ifname: 'eth0', address: '198.18.0.11', prefixLen: 24 }), /EPERM/);
  await nl.addAddress({ ifname: 'eth0', address: '198.18.0.11', prefixLen: 24 });
  await assert.rejects(nl.addAddress({ ifname: 'nope', address: '198.18.0.11', prefixLen: 24 }), /no link/);
});

test('FakeNetlink: neighbours settable, looked up, change events, resolve recorded', async () => {
  const nl = new FakeNetlink();
  const seen: NeighbourInfo[] = [];
  nl.onNeighbourChange((n) => seen.push(n));
  nl.setNeighbour({ ifname: 'eth0', address: '198.18.0.2', mac: '02:AA:00:00:00:01', state: 'reachable' });
  assert.equal((await nl.getNeighbour('eth0', '198.18.0.2'))?.mac, '02:aa:00:00:00:01');
  assert.equal(await nl.getNeighbour('eth0', '198.18.0.3'), null);
  await nl.resolveNeighbour('eth0', '198.18.0.3');
  assert.deepEqual(nl.calls.at(-1), { op: 'resolveNeighbour', ifname: 'eth0', address: '198.18.0.3' });
  nl.removeNeighbour('eth0', '198.18.0.2');
  assert.deepEqual(seen.map((n) => n.state), ['reachable', 'failed']);
  assert.equal((await nl.listNeighbours()).length, 0);
});

test('FakeAnnounce and FakeCoreVip record calls', () => {
  const a = new FakeAnnounce();
  assert.deepEqual(a.announce('eth0', ['198.18.0.10', '198.18.0.11']), { sent: 2, failed: 0 });
  a.failing.add('eth1');
  assert.deepEqual(a.announce('eth1', ['198.18.0.10']), { sent: 0, failed: 1 });
  assert.equal(a.countFor('198.18.0.10'), 2);
  const c = new FakeCoreVip();
  const vip = { address: '198.18.0.10', family: 'ipv4' as const, interface: 'eth0', instance: 'VI_1', reason: 'virtual_server' as const };
  c.claim('VI_1', [vip]);
  assert.equal(c.claimed.get('198.18.0.10'), 'VI_1');
  c.release('VI_1', [vip]);
  assert.equal(c.claimed.size, 0);
  assert.deepEqual(c.calls.map((x) => x.op), ['claim', 'release']);
});

test('FakeScripts: outcomes per argv[0] in order, last repeats, calls recorded with extra args', async () => {
  const s = new FakeScripts().script('/bin/check', { exitCode: 1 }, { exitCode: 0 }).script('/bin/slow', { timedOut: true, exitCode: null, signal: 'SIGTERM' });
  const cmd = (argv: string[]) => ({ line: argv.join(' '), argv });
  assert.equal((await s.run(cmd(['/bin/check']), { timeoutMs: 1000 })).exitCode, 1);
  assert.equal((await s.run(cmd(['/bin/check']), { timeoutMs: 1000 })).exitCode, 0);
  assert.equal((await s.run(cmd(['/bin/check']), { timeoutMs: 1000 })).exitCode, 0);
  assert.equal((await s.run(cmd(['/bin/slow']), { timeoutMs: 1000 })).timedOut, true);
  assert.equal((await s.run(cmd(['/bin/other', 'x']), { timeoutMs: 1000, extraArgs: ['INSTANCE', 'VI_1'] })).exitCode, 0);
  assert.deepEqual(s.callsOf('/bin/other')[0]!.argv, ['/bin/other', 'x', 'INSTANCE', 'VI_1']);
  s.strict = true;
  assert.equal((await s.run(cmd(['/bin/missing']), { timeoutMs: 1000 })).spawnError, 'ENOENT');
  s.script('/bin/fn', (call) => ({ exitCode: call.argv.length }));
  assert.equal((await s.run(cmd(['/bin/fn', 'a', 'b']), { timeoutMs: 1000 })).exitCode, 3);
});
