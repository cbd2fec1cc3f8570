/**
 * Routed real servers in real namespaces (ARCHITECTURE D7): a NAT real server that is not
 * on a connected network of the director is reached through the kernel's route to it
 * (RTM_GETROUTE in the director's namespace): out of the route's interface, to the gateway's
 * MAC from the neighbour table. A DR real server behind that gateway is refused (DR needs the
 * real server on the director's segment) with a forward.error naming it.
 *
 *   client c 198.18.0.100 ── d:eth0 198.18.0.2 [VIPs .10 NAT, .11 DR] ── director
 *   d:eth1 198.18.1.2 ── switch ── r1 198.18.1.11:8080 (connected)
 *                              └── router g eth0 198.18.1.254 ── g eth1 198.18.9.1 ── s 198.18.9.11:8080 (routed)
 *   director: 198.18.9.0/24 via 198.18.1.254; router: 198.18.0.0/24 via 198.18.1.2 (the director).
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
    { match: { kind: 'addr', address: '198.18.0.10', port: 80 }, method: 'NAT', scheduler: 'rr', interface: 'eth0',
      reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.9.11', port: 8080 }] },
    { match: { kind: 'addr', address: '198.18.0.11', port: 80 }, method: 'DR', scheduler: 'rr', interface: 'eth0',
      reals: [{ address: '198.18.9.11', port: 80 }] },
  ],
  coreVips: [{ address: '198.18.0.10', interface: 'eth0' }, { address: '198.18.0.11', interface: 'eth0' }, { address: '198.18.1.1', interface: 'eth1' }],
});

before(async () => {
  if (skip) return;
  await t.addHosts('c', 'd', 'r1', 'g', 's');
  await t.link('c', 'eth0', 'd', 'eth0');
  const plug = await t.addSwitch('sw');
  await plug('d', 'eth1');
  await plug('r1', 'eth0');
  await plug('g', 'eth0');
  await t.link('g', 'eth1', 's', 'eth0');
  await t.addr('c', 'eth0', '198.18.0.100/24');
  await t.addr('d', 'eth0', '198.18.0.2/24');
  await t.addr('d', 'eth1', '198.18.1.2/24');
  await t.addr('r1', 'eth0', '198.18.1.11/24');
  await t.addr('g', 'eth0', '198.18.1.254/24');
  await t.addr('g', 'eth1', '198.18.9.1/24');
  await t.addr('s', 'eth0', '198.18.9.11/24');
  await t.sysctl('g', 'net.ipv4.ip_forward', '1');
  // The connected real server's gateway is the core-owned VIP; the routed one's is the router,
  // whose route back to the clients is the director (its kernel address: the core sees the frames).
  await t.ok('r1', ['ip', 'route', 'add', 'default', 'via', '198.18.1.1']);
  await t.ok('s', ['ip', 'route', 'add', 'default', 'via', '198.18.9.1']);
  await t.ok('g', ['ip', 'route', 'add', '198.18.0.0/24', 'via', '198.18.1.2']);
  await t.ok('d', ['ip', 'route', 'add', '198.18.9.0/24', 'via', '198.18.1.254']);
  t.spawn('r1', [process.execPath, SERVER, 'r1', '198.18.1.11', '8080']);
  t.spawn('s', [process.execPath, SERVER, 's', '198.18.9.11', '8080', '80']);
  await waitFor(async () => (await t.exec('d', ['curl', '-s', '--max-time', '1', 'http://198.18.1.11:8080/'])).code === 0, 10_000, 100, 'r1');
  await waitFor(async () => (await t.exec('d', ['curl', '-s', '--max-time', '1', 'http://198.18.9.11:8080/'])).code === 0, 10_000, 100, 's (routed)');
  d = new Director(t, 'd', model, dir);
  await d.ready();
});

after(async () => {
  if (!skip) await d?.quit();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('NAT to a routed real server: through the kernel\'s route and the gateway\'s MAC; requests alternate with the connected one', { skip }, async () => {
  const names: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await t.exec('c', ['curl', '-s', '--max-time', '4', 'http://198.18.0.10/'], 10_000);
    assert.equal(r.code, 0, `request ${i}: curl ${r.code} ${r.stderr}`);
    names.push(r.stdout.trim());
  }
  assert.deepEqual(new Set(names), new Set(['r1', 's']), names.join(','));
  for (let i = 2; i < 6; i++) assert.equal(names[i], names[i - 2], `rr: ${names.join(',')}`);
  const res = (await d.cmd({ cmd: 'lvs' })).result as { services: { key: string; reals: { key: string; stats: { conns: number } }[] }[]; counters: Record<string, number> };
  const svc = res.services.find((s) => s.key === 'tcp:198.18.0.10:80')!;
  assert.equal(svc.reals.find((r) => r.key === '198.18.9.11:8080')!.stats.conns, 3);
  // The NAT replies from the routed real server arrive from the router: the nft table drops their kernel copies too.
  assert.match(await t.ok('d', ['nft', 'list', 'table', 'netdev', 'lvsd']), /198\.18\.9\.11 \. 8080/);
  // The director asked the kernel for the gateway's MAC (NTF_USE), not for the real server's.
  const neigh = await t.ok('d', ['ip', 'neigh', 'show', 'dev', 'eth1']);
  assert.match(neigh, /198\.18\.1\.254 lladdr/);
  assert.doesNotMatch(neigh, /198\.18\.9\.11/);
});

test('DR to a real server behind a gateway is refused clearly and not forwarded (no_egress)', { skip }, async () => {
  const err = d.events.find((e) => e.type === 'forward.error' && /DR real server 198\.18\.9\.11 is reached through gateway 198\.18\.1\.254/.test(String(e.message)));
  assert.ok(err, JSON.stringify(d.events.filter((e) => e.type === 'forward.error')));
  const before = ((await d.cmd({ cmd: 'lvs' })).result as { counters: Record<string, number> }).counters.no_egress ?? 0;
  const r = await t.exec('c', ['curl', '-s', '--max-time', '1', 'http://198.18.0.11/'], 10_000);
  assert.notEqual(r.code, 0);
  const after = ((await d.cmd({ cmd: 'lvs' })).result as { counters: Record<string, number> }).counters.no_egress ?? 0;
  assert.ok(after > before, `no_egress ${before} -> ${after}`);
});
