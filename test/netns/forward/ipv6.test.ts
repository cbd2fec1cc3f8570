/**
 * IPv6 NAT in real namespaces: the core answers neighbour solicitations for its IPv6 VIPs
 * (the service VIP on the client side, the real servers' gateway on the other), forwards
 * with 128-bit address rewrites, and relays ICMPv6 echo for the VIP.
 *
 *   client 2001:db8::100 ── d:eth0 2001:db8::2 [VIP ::10] ── director ── d:eth1 2001:db8:1::2 [gw ::1] ── r1 2001:db8:1::11:8080
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Topology, canUseNetns, waitFor } from '../lib/netns.js';
import { makeModel } from '../../unit/forward/lib/model.js';
import { Director } from './lib/director.js';

const SERVER = fileURLToPath(new URL('./fixtures/http-name.mjs', import.meta.url));
const skip = !canUseNetns() && 'needs root and iproute2';
const t = new Topology('fwd');
const dir = mkdtempSync(join(tmpdir(), 'lvt-fwd-'));
let d: Director;

const model = makeModel({
  services: [{ match: { kind: 'addr', address: '2001:db8::10', port: 80 }, method: 'NAT', interface: 'eth0', reals: [{ address: '2001:db8:1::11', port: 8080 }] }],
  coreVips: [{ address: '2001:db8::10', interface: 'eth0' }, { address: '2001:db8:1::1', interface: 'eth1' }],
});

before(async () => {
  if (skip) return;
  await t.addHosts('c', 'd', 'r1');
  await t.link('c', 'eth0', 'd', 'eth0');
  await t.link('d', 'eth1', 'r1', 'eth0');
  await t.ok('c', ['ip', 'addr', 'add', '2001:db8::100/64', 'dev', 'eth0', 'nodad']);
  await t.ok('d', ['ip', 'addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad']);
  await t.ok('d', ['ip', 'addr', 'add', '2001:db8:1::2/64', 'dev', 'eth1', 'nodad']);
  await t.ok('r1', ['ip', 'addr', 'add', '2001:db8:1::11/64', 'dev', 'eth0', 'nodad']);
  await t.ok('r1', ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1']);
  t.spawn('r1', [process.execPath, SERVER, 'r1', '2001:db8:1::11', '8080']);
  await waitFor(async () => (await t.exec('d', ['curl', '-s', '-g', '--max-time', '1', 'http://[2001:db8:1::11]:8080/'])).code === 0, 10_000, 100, 'r1');
  d = new Director(t, 'd', model, dir);
  await d.ready();
});

after(async () => {
  if (!skip) await d?.quit();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('IPv6 NAT: ND for the VIP and the gateway answered by the core, requests served', { skip }, async () => {
  for (let i = 0; i < 3; i++) {
    const r = await t.exec('c', ['curl', '-s', '-g', '--max-time', '4', 'http://[2001:db8::10]/'], 10_000);
    assert.equal(r.code, 0, `request ${i}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'r1');
  }
  const neigh = await t.ok('c', ['ip', '-6', 'neigh', 'show', '2001:db8::10']);
  assert.match(neigh, /lladdr/, 'the client resolved the VIP through our neighbour advertisement');
  const ping = await t.exec('c', ['ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', '2001:db8::10']);
  assert.equal(ping.code, 0, ping.stdout);
  const res = (await d.cmd({ cmd: 'lvs' })).result as { counters: Record<string, number>; services: { stats: { conns: number } }[] };
  assert.equal(res.services[0]!.stats.conns, 3);
  assert.ok(res.counters.nd_adverts! >= 2, `nd_adverts ${res.counters.nd_adverts}`);
});
