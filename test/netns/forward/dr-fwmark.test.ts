/**
 * DR in real namespaces, and persistence across the ports of a firewall-mark group.
 *
 *   one LAN (bridge): client 198.18.2.100 (+ .101), director 198.18.2.2 [core VIPs .10 .11],
 *   real servers r4 198.18.2.21, r5 198.18.2.22 with the VIPs on lo (arp_ignore=1, arp_announce=2)
 *
 * DR rewrites only the destination MAC; the real servers answer the client directly.
 * fwmark 5 = VIP .11 ports 80 and 443 (lvsd's own classification rules), persistent 60 s.
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
  services: [
    { match: { kind: 'addr', address: '198.18.2.10', port: 80 }, method: 'DR', scheduler: 'rr', interface: 'eth0',
      reals: [{ address: '198.18.2.21', port: 80 }, { address: '198.18.2.22', port: 80 }] },
    { match: { kind: 'fwmark', fwmark: 5 }, method: 'DR', scheduler: 'rr', interface: 'eth0', persistenceTimeoutS: 60,
      reals: [{ address: '198.18.2.21', port: 0 }, { address: '198.18.2.22', port: 0 }] },
  ],
  coreVips: [{ address: '198.18.2.10', interface: 'eth0' }, { address: '198.18.2.11', interface: 'eth0' }],
  fwmarkRules: [
    { fwmark: 5, address: '198.18.2.11', prefixLen: 32, protocol: 'tcp', portMin: 80, portMax: 80 },
    { fwmark: 5, address: '198.18.2.11', prefixLen: 32, protocol: 'tcp', portMin: 443, portMax: 443 },
  ],
});

async function get(url: string, from = '198.18.2.100'): Promise<string> {
  const r = await t.exec('c', ['curl', '-s', '--max-time', '4', '--interface', from, url], 10_000);
  assert.equal(r.code, 0, `${url} from ${from}: curl exit ${r.code} ${r.stderr}`);
  return r.stdout.trim();
}

before(async () => {
  if (skip) return;
  await t.addHosts('c', 'd', 'r4', 'r5');
  const plug = await t.addSwitch('lan');
  for (const h of ['c', 'd', 'r4', 'r5']) await plug(h, 'eth0');
  await t.addr('c', 'eth0', '198.18.2.100/24');
  await t.addr('c', 'eth0', '198.18.2.101/24');
  await t.addr('d', 'eth0', '198.18.2.2/24');
  for (const [i, r] of ['r4', 'r5'].entries()) {
    await t.addr(r, 'eth0', `198.18.2.${21 + i}/24`);
    // LVS-DR real server: the VIPs on lo, never answered in ARP.
    await t.sysctl(r, 'net.ipv4.conf.all.arp_ignore', '1');
    await t.sysctl(r, 'net.ipv4.conf.all.arp_announce', '2');
    await t.sysctl(r, 'net.ipv4.conf.eth0.arp_ignore', '1');
    await t.sysctl(r, 'net.ipv4.conf.eth0.arp_announce', '2');
    await t.addr(r, 'lo', '198.18.2.10/32');
    await t.addr(r, 'lo', '198.18.2.11/32');
    t.spawn(r, [process.execPath, SERVER, r, '198.18.2.10', '80']);
    t.spawn(r, [process.execPath, SERVER, r, '198.18.2.11', '80', '443']);
  }
  d = new Director(t, 'd', model, dir);
  await d.ready();
  await waitFor(async () => (await t.exec('r4', ['curl', '-s', '--max-time', '1', 'http://198.18.2.11:443/'])).code === 0, 10_000, 100, 'servers');
  await waitFor(async () => (await t.exec('r5', ['curl', '-s', '--max-time', '1', 'http://198.18.2.11:443/'])).code === 0, 10_000, 100, 'servers');
});

after(async () => {
  if (!skip) await d?.quit();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('DR: requests alternate over the real servers, which answer the client directly', { skip }, async () => {
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push(await get('http://198.18.2.10/'));
  assert.deepEqual(new Set(names), new Set(['r4', 'r5']));
  for (let i = 2; i < 6; i++) assert.equal(names[i], names[i - 2], names.join(','));
  const res = (await d.cmd({ cmd: 'lvs' })).result as { services: { key: string; stats: { conns: number; outpkts: number }; reals: { forward: string }[] }[] };
  const svc = res.services.find((s) => s.key === 'tcp:198.18.2.10:80')!;
  assert.equal(svc.stats.conns, 6);
  assert.equal(svc.stats.outpkts, 0, 'DR: replies never pass the director');
  assert.equal(svc.reals[0]!.forward, 'Route');
});

test('persistence keeps a client on one real server across the ports of a firewall-mark group', { skip }, async () => {
  const a: string[] = [];
  for (let i = 0; i < 3; i++) {
    a.push(await get('http://198.18.2.11:80/'));
    a.push(await get('http://198.18.2.11:443/'));
  }
  assert.equal(new Set(a).size, 1, `one client, one real server: ${a.join(',')}`);
  const b: string[] = [];
  for (let i = 0; i < 2; i++) {
    b.push(await get('http://198.18.2.11:443/', '198.18.2.101'));
    b.push(await get('http://198.18.2.11:80/', '198.18.2.101'));
  }
  assert.equal(new Set(b).size, 1);
  assert.notEqual(b[0], a[0], 'the second client got its own template (rr moved on)');
  const tr = (await d.cmd({ cmd: 'trace', flow: 'tcp 198.18.2.100:5555 198.18.2.11:443' })).result as { service: string; persistence: { hit: boolean }; dest: string };
  assert.equal(tr.service, 'fwmark:5');
  assert.equal(tr.persistence.hit, true);
  assert.equal(tr.dest.split(':')[0], a[0] === 'r4' ? '198.18.2.21' : '198.18.2.22');
});
