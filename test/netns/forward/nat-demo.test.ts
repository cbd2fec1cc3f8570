/**
 * The NAT demo in real namespaces: client → VIP 198.18.0.10:80 → three Node HTTP real
 * servers (each answering its own name) behind the director, rr; the director is lvsd's
 * forwarding core (a ForwardingSubsystem in a harness process: AF_PACKET workers, nft table,
 * netlink neighbours). Successive requests alternate, the counters show them, a stopped real
 * server stops getting traffic once its health says so and no request fails, and a multi-MB
 * transfer (GSO super-frames, partial checksums) arrives intact.
 *
 *   client (198.18.0.100) ── d:eth0 198.18.0.2 [VIP .10] ── director ── d:eth1 198.18.1.2 [gw VIP .1] ── switch ── r1 r2 r3 (198.18.1.11-13:8080)
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
const servers = new Map<string, import('node:child_process').ChildProcess>();
const SVC = 'tcp:198.18.0.10:80';

const model = makeModel({
  services: [{
    match: { kind: 'addr', address: '198.18.0.10', port: 80 }, method: 'NAT', scheduler: 'rr', interface: 'eth0',
    reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.12', port: 8080 }, { address: '198.18.1.13', port: 8080 }],
  }],
  coreVips: [{ address: '198.18.0.10', interface: 'eth0' }, { address: '198.18.1.1', interface: 'eth1' }],
});

async function get(path = '/'): Promise<{ code: number; body: string }> {
  const r = await t.exec('c', ['curl', '-s', '--max-time', '4', `http://198.18.0.10${path}`], 10_000);
  return { code: r.code, body: r.stdout.trim() };
}

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
    // NAT: the real servers' gateway is the core-owned gateway VIP on the director.
    await t.ok(r, ['ip', 'route', 'add', 'default', 'via', '198.18.1.1']);
    servers.set(r, t.spawn(r, [process.execPath, SERVER, r, `198.18.1.${11 + i}`, '8080']));
  }
  d = new Director(t, 'd', model, dir);
  await d.ready();
  for (const i of [11, 12, 13]) await waitFor(async () => (await t.exec('d', ['curl', '-s', '--max-time', '1', `http://198.18.1.${i}:8080/`])).code === 0, 10_000, 100, `real ${i}`);
});

after(async () => {
  if (!skip) await d?.quit();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('rr: successive requests alternate over the three real servers, the counters show them', { skip }, async () => {
  const names: string[] = [];
  for (let i = 0; i < 9; i++) {
    const r = await get();
    assert.equal(r.code, 0, `request ${i} failed`);
    names.push(r.body);
  }
  assert.deepEqual(new Set(names), new Set(['r1', 'r2', 'r3']));
  for (let i = 3; i < 9; i++) assert.equal(names[i], names[i - 3], `rr period 3: ${names.join(',')}`);
  const res = (await d.cmd({ cmd: 'lvs' })).result as { services: { key: string; stats: { conns: number; inpkts: number; outpkts: number }; reals: { key: string; stats: { conns: number } }[] }[] };
  const svc = res.services.find((s) => s.key === SVC)!;
  assert.equal(svc.stats.conns, 9);
  assert.ok(svc.stats.inpkts >= 9 * 4 && svc.stats.outpkts >= 9 * 3, JSON.stringify(svc.stats));
  for (const r of svc.reals) assert.equal(r.stats.conns, 3, r.key);
});

test('the kernel does not answer for the VIP: no RST leaks (nft table), ping answered by the core', { skip }, async () => {
  const ping = await t.exec('c', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '198.18.0.10']);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  const nft = await t.ok('d', ['nft', 'list', 'table', 'netdev', 'lvsd']);
  assert.match(nft, /198\.18\.0\.10/);
  assert.match(nft, /198\.18\.1\.11 \. 8080/);
});

test('a real server stopped: after its health goes down, its traffic stops and no request fails', { skip }, async () => {
  // The server process really stops (its port then refuses); the checks' verdict is driven here.
  await t.kill(servers.get('r2')!);
  assert.notEqual((await t.exec('d', ['curl', '-s', '--max-time', '1', 'http://198.18.1.12:8080/'])).code, 0, 'r2 is down');
  await d.cmd({ cmd: 'health', service: SVC, real: '198.18.1.12:8080', up: false });
  const names: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await get();
    assert.equal(r.code, 0);
    names.push(r.body);
  }
  assert.ok(!names.includes('r2'), names.join(','));
  assert.deepEqual(new Set(names), new Set(['r1', 'r3']));
  const tr = (await d.cmd({ cmd: 'trace', flow: 'tcp 198.18.0.100:1234 198.18.0.10:80' })).result as { dest: string; service: string };
  assert.equal(tr.service, SVC);
  assert.notEqual(tr.dest, '198.18.1.12:8080');
  servers.set('r2', t.spawn('r2', [process.execPath, SERVER, 'r2', '198.18.1.12', '8080']));
  await waitFor(async () => (await t.exec('d', ['curl', '-s', '--max-time', '1', 'http://198.18.1.12:8080/'])).code === 0, 10_000, 100, 'r2 back');
  await d.cmd({ cmd: 'health', service: SVC, real: '198.18.1.12:8080', up: true });
  const back = new Set<string>();
  for (let i = 0; i < 6; i++) back.add((await get()).body);
  assert.ok(back.has('r2'));
});

test('a bulk TCP transfer (8 MB) through NAT arrives intact (GSO super-frames, partial checksums)', { skip }, async () => {
  const r = await t.exec('c', ['sh', '-c', 'curl -s --max-time 20 http://198.18.0.10/big?n=8388608 | sha256sum'], 30_000);
  assert.equal(r.code, 0, r.stderr);
  // The same bytes computed locally.
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  const chunk = Buffer.alloc(65536);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + 3) & 255;
  for (let left = 8388608; left > 0; left -= 65536) h.update(chunk.subarray(0, Math.min(left, 65536)));
  assert.equal(r.stdout.split(/\s/)[0], h.digest('hex'));
  const res = (await d.cmd({ cmd: 'lvs', conns: true })).result as { counters: Record<string, number>; conns: { state: string }[] };
  assert.ok(res.conns.length > 0);
  assert.equal(res.counters.no_neighbour ?? 0, res.counters.no_neighbour, 'counters readable');
});

test('D4 measured: with forwarding on, the nft table keeps the kernel from leaking NAT replies (client RSTs)', { skip }, async () => {
  const rsts = async () => Number(/TcpOutRsts\s+(\d+)/.exec((await t.ok('c', ['nstat', '-az', 'TcpOutRsts'])).toString())?.[1] ?? 0);
  await t.sysctl('d', 'net.ipv4.ip_forward', '1');
  try {
    const a0 = await rsts();
    for (let i = 0; i < 5; i++) assert.equal((await get()).code, 0);
    const withRule = (await rsts()) - a0;
    await t.ok('d', ['nft', 'delete', 'table', 'netdev', 'lvsd']);
    const b0 = await rsts();
    for (let i = 0; i < 5; i++) await get();
    const withoutRule = (await rsts()) - b0;
    console.log(`client RSTs for 5 requests: with the lvsd table ${withRule}, without it ${withoutRule}`);
    assert.equal(withRule, 0);
    assert.ok(withoutRule > 0, 'without the table the kernel forwards un-NATed replies and the client resets them');
  } finally {
    await t.sysctl('d', 'net.ipv4.ip_forward', '0');
    // Any claim rebuilds the table.
    await d.cmd({ cmd: 'claim', vips: [{ address: '198.18.0.10', family: 'ipv4', interface: 'eth0', instance: null, reason: 'virtual_server' }] });
  }
  assert.match(await t.ok('d', ['nft', 'list', 'table', 'netdev', 'lvsd']), /vip4/);
});

test('reload: a real server removed from the config stops getting traffic; a new port is served; state survives', { skip }, async () => {
  const next = makeModel({
    services: [
      { match: { kind: 'addr', address: '198.18.0.10', port: 80 }, method: 'NAT', scheduler: 'rr', interface: 'eth0',
        reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.13', port: 8080 }] },
      { match: { kind: 'addr', address: '198.18.0.10', port: 81 }, method: 'NAT', scheduler: 'rr', interface: 'eth0',
        reals: [{ address: '198.18.1.12', port: 8080 }] },
    ],
    coreVips: [{ address: '198.18.0.10', interface: 'eth0' }, { address: '198.18.1.1', interface: 'eth1' }],
  });
  const before = (await d.cmd({ cmd: 'lvs' })).result as { services: { key: string; stats: { conns: number } }[] };
  const r = await d.cmd({ cmd: 'apply', model: next });
  assert.deepEqual(r.problems, []);
  const names = new Set<string>();
  for (let i = 0; i < 6; i++) names.add((await get()).body);
  assert.deepEqual(names, new Set(['r1', 'r3']));
  const r81 = await t.exec('c', ['curl', '-s', '--max-time', '4', 'http://198.18.0.10:81/'], 10_000);
  assert.equal(r81.stdout.trim(), 'r2');
  const after = (await d.cmd({ cmd: 'lvs' })).result as { services: { key: string; stats: { conns: number } }[] };
  const c0 = before.services.find((s) => s.key === SVC)!.stats.conns;
  assert.equal(after.services.find((s) => s.key === SVC)!.stats.conns, c0 + 6, 'counters of the untouched service continue');
  assert.match(await t.ok('d', ['nft', 'list', 'table', 'netdev', 'lvsd']), /198\.18\.1\.12 \. 8080/);
  // ipvsadm -Z: counters restart from zero.
  await d.cmd({ cmd: 'lvs', zero: true });
  const z = (await d.cmd({ cmd: 'lvs' })).result as { services: { key: string; stats: { conns: number; inpkts: number } }[] };
  assert.deepEqual(z.services.map((s) => s.stats.conns), [0, 0]);
  await get();
  const z2 = (await d.cmd({ cmd: 'lvs' })).result as { services: { key: string; stats: { conns: number } }[] };
  assert.equal(z2.services.find((s) => s.key === SVC)!.stats.conns, 1);
});
