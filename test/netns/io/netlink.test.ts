import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Topology, waitFor } from '../lib/netns.js';
import { inNetns } from '../../../src/io/af-packet.js';
import { RtNetlink } from '../../../src/io/netlink.js';
import type { LinkInfo, NeighbourInfo } from '../../../src/io/ports.js';

const t = new Topology('io');
let nl: RtNetlink;

interface IpAddr { ifname: string; addr_info: { family: string; local: string; prefixlen: number; label?: string; broadcast?: string; scope: string }[] }
async function ipAddrs(ifname: string) {
  const rows = JSON.parse(await t.ok('a', ['ip', '-j', 'addr', 'show', 'dev', ifname])) as IpAddr[];
  return rows[0]?.addr_info ?? [];
}

before(async () => {
  await t.addHosts('a', 'b');
  await t.link('a', 'v0', 'b', 'v1', { macA: '02:20:00:00:00:0a', macB: '02:20:00:00:00:0b' });
  await t.addr('a', 'v0', '198.18.1.1/24');
  await t.addr('b', 'v1', '198.18.1.2/24');
  await t.ok('a', ['ip', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'v0', 'nodad']);
  await t.ok('b', ['ip', 'addr', 'add', '2001:db8:1::2/64', 'dev', 'v1', 'nodad']);
  nl = inNetns(`/run/netns/${t.ns('a')}`, () => new RtNetlink());
});
after(async () => {
  await nl?.close();
  await nl?.close(); // twice is safe
  await t.cleanup();
});

test('links: list and get match `ip -j link`', async () => {
  const links = await nl.listLinks();
  const ip = JSON.parse(await t.ok('a', ['ip', '-j', 'link'])) as { ifname: string; ifindex: number; address: string; mtu: number; flags: string[] }[];
  for (const row of ip) {
    const l = links.find((x) => x.name === row.ifname);
    assert.ok(l, `link ${row.ifname} listed`);
    assert.equal(l.index, row.ifindex);
    assert.equal(l.mtu, row.mtu);
    if (row.ifname !== 'lo') assert.equal(l.mac, row.address);
  }
  const v0 = await nl.getLink('v0');
  assert.deepEqual(v0, { name: 'v0', index: v0!.index, mac: '02:20:00:00:00:0a', adminUp: true, operUp: true, mtu: 1500 });
  assert.equal(await nl.getLink('nope0'), null);
});

test('addresses: IPv4 with label, brd and scope; idempotent add and del; verified with `ip -j addr`', async () => {
  const spec = { ifname: 'v0', address: '198.18.1.10', prefixLen: 24, label: 'v0:vip', brd: '+', scope: 'global' };
  await nl.addAddress(spec);
  await nl.addAddress(spec); // already present: success
  let rows = await ipAddrs('v0');
  const a = rows.find((r) => r.local === '198.18.1.10');
  assert.ok(a, JSON.stringify(rows));
  assert.equal(a.prefixlen, 24);
  assert.equal(a.label, 'v0:vip');
  assert.equal(a.broadcast, '198.18.1.255');
  assert.equal(a.scope, 'global');
  const listed = await nl.listAddresses('v0');
  assert.deepEqual(listed.find((x) => x.address === '198.18.1.10'), { ifname: 'v0', address: '198.18.1.10', family: 'ipv4', prefixLen: 24, label: 'v0:vip' });
  assert.equal(listed.find((x) => x.address === '198.18.1.1')?.label, null);
  await nl.addAddress({ ifname: 'v0', address: '198.18.1.11', prefixLen: 32, scope: 'host' });
  assert.equal((await ipAddrs('v0')).find((r) => r.local === '198.18.1.11')?.scope, 'host');
  await nl.delAddress(spec);
  await nl.delAddress(spec); // already absent: success
  await nl.delAddress({ ifname: 'v0', address: '198.18.1.11', prefixLen: 32 });
  await nl.delAddress({ ifname: 'gone0', address: '198.18.1.11', prefixLen: 32 }); // no interface: absent
  rows = await ipAddrs('v0');
  assert.ok(!rows.some((r) => r.local === '198.18.1.10' || r.local === '198.18.1.11'), JSON.stringify(rows));
});

test('addresses: IPv6 added without DAD (usable at once), listed, removed', async () => {
  await nl.addAddress({ ifname: 'v0', address: '2001:db8:1::10', prefixLen: 64 });
  await nl.addAddress({ ifname: 'v0', address: '2001:db8:1::10', prefixLen: 64 });
  const row = (await ipAddrs('v0')).find((r) => r.local === '2001:db8:1::10') as (Record<string, unknown> | undefined);
  assert.ok(row);
  assert.ok(!row['tentative'], 'not tentative: nodad');
  assert.ok((await nl.listAddresses()).some((x) => x.address === '2001:db8:1::10' && x.family === 'ipv6' && x.ifname === 'v0'));
  const ping = await t.exec('b', ['ping', '-6', '-c', '1', '-W', '2', '2001:db8:1::10']);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  await nl.delAddress({ ifname: 'v0', address: '2001:db8:1::10', prefixLen: 64 });
  await nl.delAddress({ ifname: 'v0', address: '2001:db8:1::10', prefixLen: 64 });
  assert.ok(!(await ipAddrs('v0')).some((r) => r.local === '2001:db8:1::10'));
});

test('addresses: errors carry codes', async () => {
  await assert.rejects(nl.addAddress({ ifname: 'nope0', address: '198.18.1.12', prefixLen: 24 }), { code: 'ERR_IO_NO_INTERFACE' });
  await assert.rejects(nl.addAddress({ ifname: 'v0', address: '198.18.1', prefixLen: 24 }), { code: 'ERR_IO_BAD_ADDRESS' });
  await assert.rejects(nl.addAddress({ ifname: 'v0', address: '198.18.1.12', prefixLen: 33 }), { code: 'ERR_IO_BAD_ADDRESS' });
  await assert.rejects(nl.addAddress({ ifname: 'v0', address: '198.18.1.12', prefixLen: 24, scope: 'galaxy' }), { code: 'ERR_IO_BAD_ADDRESS' });
});

test('neighbours: resolve triggers ARP/ND, get/list match `ip -j neigh`, change events arrive', async () => {
  const events: NeighbourInfo[] = [];
  const off = nl.onNeighbourChange((n) => events.push(n));
  for (const [addr, fam] of [['198.18.1.2', '-4'], ['2001:db8:1::2', '-6']] as const) {
    await t.ok('a', ['ip', fam, 'neigh', 'flush', 'dev', 'v0']);
    assert.equal(await nl.getNeighbour('v0', addr), null);
    await nl.resolveNeighbour('v0', addr);
    const n = await waitFor(async () => {
      const x = await nl.getNeighbour('v0', addr);
      return x && x.mac ? x : null;
    }, 3000, 20, `${addr} resolved`);
    assert.equal(n.mac, '02:20:00:00:00:0b');
    assert.equal(n.ifname, 'v0');
    assert.ok(['reachable', 'stale', 'delay'].includes(n.state), n.state);
    const ip = JSON.parse(await t.ok('a', ['ip', '-j', 'neigh', 'show', 'to', addr, 'dev', 'v0'])) as { lladdr: string; state: string[] }[];
    assert.equal(ip[0]?.lladdr, '02:20:00:00:00:0b');
    assert.ok((await nl.listNeighbours('v0')).some((x) => x.address === addr && x.mac === '02:20:00:00:00:0b'));
    await waitFor(() => events.find((e) => e.address === addr && e.mac === '02:20:00:00:00:0b'), 3000, 10, `event for ${addr}`);
  }
  // A permanent entry set by an operator, then deleted: both reported.
  await t.ok('a', ['ip', 'neigh', 'replace', '198.18.1.99', 'lladdr', '02:20:00:00:00:99', 'dev', 'v0', 'nud', 'permanent']);
  await waitFor(() => events.find((e) => e.address === '198.18.1.99' && e.state === 'permanent'), 3000, 10, 'permanent entry event');
  assert.equal((await nl.getNeighbour('v0', '198.18.1.99'))?.state, 'permanent');
  await t.ok('a', ['ip', 'neigh', 'del', '198.18.1.99', 'dev', 'v0']);
  await waitFor(() => events.find((e) => e.address === '198.18.1.99' && e.state === 'failed' && e.mac === ''), 3000, 10, 'deletion event');
  // Resolving an address nobody has leaves an incomplete entry while the kernel probes.
  await nl.resolveNeighbour('v0', '198.18.1.77');
  assert.equal((await nl.getNeighbour('v0', '198.18.1.77'))?.state, 'incomplete');
  off();
});

// Last: taking links down flushes their IPv6 addresses.
test('link change events: carrier loss, admin down/up, a new link and its removal (track_interface)', async () => {
  const seen: LinkInfo[] = [];
  const off = nl.onLinkChange((l) => seen.push(l));
  await new Promise((r) => setTimeout(r, 100)); // cache primed
  const wait = (pred: (l: LinkInfo) => boolean, what: string) => waitFor(() => seen.find(pred), 3000, 10, what);
  await t.ok('b', ['ip', 'link', 'set', 'v1', 'down']); // peer down: v0 loses carrier
  await wait((l) => l.name === 'v0' && l.adminUp && !l.operUp, 'v0 carrier down');
  await t.ok('b', ['ip', 'link', 'set', 'v1', 'up']);
  await wait((l) => l.name === 'v0' && l.operUp, 'v0 carrier up');
  seen.length = 0;
  await t.ok('a', ['ip', 'link', 'set', 'v0', 'down']);
  await wait((l) => l.name === 'v0' && !l.adminUp && !l.operUp, 'v0 admin down');
  await t.ok('a', ['ip', 'link', 'set', 'v0', 'up']);
  await wait((l) => l.name === 'v0' && l.adminUp && l.operUp, 'v0 admin up');
  await t.ok('a', ['ip', 'link', 'add', 'vx0', 'type', 'veth', 'peer', 'name', 'vx1']);
  await wait((l) => l.name === 'vx0', 'new link');
  await t.ok('a', ['ip', 'link', 'del', 'vx0']);
  await wait((l) => l.name === 'vx0' && !l.operUp && !l.adminUp, 'removed link');
  off();
  const n = seen.length;
  await t.ok('a', ['ip', 'link', 'set', 'v0', 'mtu', '1400']);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(seen.length, n, 'no events after unsubscribe');
  await t.ok('a', ['ip', 'link', 'set', 'v0', 'mtu', '1500']);
});

test('about 0.1–0.2 ms per request (ARCHITECTURE D2), against spawning ip', async () => {
  const n = 200;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await nl.getLink('v0');
  const perCallMs = (performance.now() - t0) / n;
  const t1 = performance.now();
  for (let i = 0; i < 10; i++) await t.ok('a', ['ip', '-j', 'link', 'show', 'v0']);
  const spawnMs = (performance.now() - t1) / 10;
  console.log(`netlink getLink: ${perCallMs.toFixed(3)} ms/call; ip netns exec … ip link show: ${spawnMs.toFixed(2)} ms/call`);
  assert.ok(perCallMs < spawnMs, `${perCallMs} < ${spawnMs}`);
});
