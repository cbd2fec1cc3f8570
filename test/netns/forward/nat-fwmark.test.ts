/**
 * NAT for a firewall-mark service in real namespaces: its real servers have port 0 (they keep
 * the packet's port), so their replies leave from every port of the mark's rules. The
 * `table netdev lvsd` must drop those un-NATed replies at ingress too (ARCHITECTURE D4), or a
 * director with forwarding on leaks them and the client answers each with a RST.
 *
 *   client (198.18.0.100) ── d:eth0 198.18.0.2 [VIPs .12 .13] ── director ── d:eth1 198.18.1.2 [gw VIP .1] ── switch ── r1 r2 r3 (198.18.1.11-13 :80, :443)
 *   fwmark 7 = VIP .12 tcp 80 and tcp 443, NAT, rr, real servers r1 r2 at port 0;
 *   VIP .13 port 0 (all ports, persistent), real server r3 at port 0.
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
const VIP = '198.18.0.12';
const VIP0 = '198.18.0.13';

const model = makeModel({
  services: [{
    match: { kind: 'fwmark', fwmark: 7 }, method: 'NAT', scheduler: 'rr', interface: 'eth0',
    reals: [{ address: '198.18.1.11', port: 0 }, { address: '198.18.1.12', port: 0 }],
  }, {
    match: { kind: 'addr', address: VIP0, port: 0 }, method: 'NAT', scheduler: 'rr', interface: 'eth0', persistenceTimeoutS: 60,
    reals: [{ address: '198.18.1.13', port: 0 }],
  }],
  fwmarkRules: [
    { fwmark: 7, address: VIP, prefixLen: 32, protocol: 'tcp', portMin: 80, portMax: 80 },
    { fwmark: 7, address: VIP, prefixLen: 32, protocol: 'tcp', portMin: 443, portMax: 443 },
  ],
  coreVips: [{ address: VIP, interface: 'eth0' }, { address: VIP0, interface: 'eth0' }, { address: '198.18.1.1', interface: 'eth1' }],
});

async function get(port: number, vip = VIP): Promise<{ code: number; body: string }> {
  const r = await t.exec('c', ['curl', '-s', '--max-time', '4', `http://${vip}:${port}/`], 10_000);
  return { code: r.code, body: r.stdout.trim() };
}
const rsts = async () => Number(/TcpOutRsts\s+(\d+)/.exec(await t.ok('c', ['nstat', '-az', 'TcpOutRsts']))?.[1] ?? 0);

before(async () => {
  if (skip) return;
  await t.addHosts('c', 'd', 'r1', 'r2', 'r3');
  await t.link('c', 'eth0', 'd', 'eth0');
  const plug = await t.addSwitch('sw');
  await plug('d', 'eth1');
  for (const r of ['r1', 'r2', 'r3']) await plug(r, 'eth0');
  await t.addr('c', 'eth0', '198.18.0.100/24');
  await t.addr('d', 'eth0', '198.18.0.2/24');
  await t.addr('d', 'eth1', '198.18.1.2/24');
  for (const [i, r] of ['r1', 'r2', 'r3'].entries()) {
    await t.addr(r, 'eth0', `198.18.1.${11 + i}/24`);
    await t.ok(r, ['ip', 'route', 'add', 'default', 'via', '198.18.1.1']);
    t.spawn(r, [process.execPath, SERVER, r, `198.18.1.${11 + i}`, '80', '443']);
  }
  d = new Director(t, 'd', model, dir);
  await d.ready();
  for (const i of [11, 12, 13]) for (const p of [80, 443]) {
    await waitFor(async () => (await t.exec('d', ['curl', '-s', '--max-time', '1', `http://198.18.1.${i}:${p}/`])).code === 0, 10_000, 100, `real ${i}:${p}`);
  }
});

after(async () => {
  if (!skip) await d?.quit();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('fwmark and VIP:0 NAT with port-0 real servers: replies from every virtual port are dropped at ingress, 0 client RSTs', { skip }, async () => {
  const nft = await t.ok('d', ['nft', 'list', 'table', 'netdev', 'lvsd']);
  assert.match(nft, /198\.18\.1\.11 \. 80/);
  assert.match(nft, /198\.18\.1\.12 \. 443/);
  assert.match(nft, /flags interval/, 'the VIP:0 real server needs a port range');
  assert.match(nft, /198\.18\.1\.13 \. 0-65535/);
  await t.sysctl('d', 'net.ipv4.ip_forward', '1');
  try {
    const a0 = await rsts();
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(i % 2 ? 443 : 80);
      assert.equal(r.code, 0, `request ${i}`);
      names.push(r.body);
    }
    for (const p of [80, 443]) assert.equal((await get(p, VIP0)).body, 'r3', `VIP:0 service, port ${p}`);
    const withRule = (await rsts()) - a0;
    assert.deepEqual(new Set(names), new Set(['r1', 'r2']), names.join(','));
    // Control: the same requests without the table; the kernel forwards un-NATed replies.
    await t.ok('d', ['nft', 'delete', 'table', 'netdev', 'lvsd']);
    const b0 = await rsts();
    for (let i = 0; i < 6; i++) await get(i % 2 ? 443 : 80);
    for (const p of [80, 443]) await get(p, VIP0);
    const withoutRule = (await rsts()) - b0;
    console.log(`fwmark NAT, client RSTs for 8 requests: with the lvsd table ${withRule}, without it ${withoutRule}`);
    assert.equal(withRule, 0);
    assert.ok(withoutRule > 0, 'without the table the kernel leaks the port-0 real servers\' replies');
  } finally {
    await t.sysctl('d', 'net.ipv4.ip_forward', '0');
    await d.cmd({ cmd: 'claim', vips: [{ address: VIP, family: 'ipv4', interface: 'eth0', instance: null, reason: 'virtual_server' }] });
  }
  assert.match(await t.ok('d', ['nft', 'list', 'table', 'netdev', 'lvsd']), /198\.18\.1\.11 \. 443/, 'table rebuilt');
});
