/**
 * TUN (IPVS ip_vs_tunnel_xmit) in real namespaces. This kernel has no ipip/gre/fou modules,
 * so each real server runs the userspace decapsulator lib/tun-decap.py: AF_PACKET in, the
 * inner packet into a TUN device that carries the VIPs (arp_ignore/arp_announce as for DR),
 * and the real server's own stack answers from the VIP straight to the client.
 *
 *   one LAN (bridge): client c 198.18.2.100, director d 198.18.2.2 [core VIPs .10-.13],
 *   real servers r1 r2 r3 198.18.2.21-.23, router g 198.18.2.254 ── 198.18.9.1 ── s 198.18.9.31
 *   .10: TUN ipip rr r1 r2 r3 · .11: TUN to s, routed through g · .12: GRE with checksum to r1
 *   · .13: GUE (UDP 6080) with checksum to r2
 *
 * r1's decapsulator completes partial inner checksums itself and hands the packets over as
 * complete, so r1's TCP verifies every checksum the director wrote (pseudo-header sums
 * included); r2 and r3 pass them on partial, as the kernel's ipip would.
 *
 * A last test narrows the g ── s link to 1400 bytes: g's "fragmentation needed" about the
 * outer packets must reach the client through the director (ip_vs_in_icmp's tunnel case).
 *
 * The director's egress MTU is 1500: the real servers advertise MSS 1460 (their tunl0 has MTU
 * 1500), so full-sized segments do not fit the tunnel (1480) and the client learns the path
 * MTU from lvsd's "fragmentation needed".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Topology, canUseNetns, waitFor } from '../lib/netns.js';
import { makeModel } from '../../unit/forward/lib/model.js';
import { Director } from './lib/director.js';

const SERVER = fileURLToPath(new URL('./fixtures/http-name.mjs', import.meta.url));
const DECAP = fileURLToPath(new URL('./lib/tun-decap.py', import.meta.url));
const skip = !canUseNetns() && 'needs root and iproute2';
const t = new Topology('fwd');
const dir = mkdtempSync(join(tmpdir(), 'lvt-fwd-'));
let d: Director;
const RS_MAC: Record<string, string> = { r1: '02:54:00:00:00:21', r2: '02:54:00:00:00:22', r3: '02:54:00:00:00:23' };
const VIPS = ['198.18.2.10', '198.18.2.11', '198.18.2.12', '198.18.2.13'];

const model = makeModel({
  services: [
    { match: { kind: 'addr', address: '198.18.2.10', port: 80 }, method: 'TUN', scheduler: 'rr', interface: 'eth0',
      reals: [{ address: '198.18.2.21', port: 80 }, { address: '198.18.2.22', port: 80 }, { address: '198.18.2.23', port: 80 }] },
    { match: { kind: 'addr', address: '198.18.2.11', port: 80 }, method: 'TUN', scheduler: 'rr', interface: 'eth0',
      reals: [{ address: '198.18.9.31', port: 80 }] },
    { match: { kind: 'addr', address: '198.18.2.12', port: 80 }, method: 'TUN', scheduler: 'rr', interface: 'eth0',
      reals: [{ address: '198.18.2.21', port: 80, tunnel: { type: 'gre', port: 0, csum: 'csum' } }] },
    { match: { kind: 'addr', address: '198.18.2.13', port: 80 }, method: 'TUN', scheduler: 'rr', interface: 'eth0',
      reals: [{ address: '198.18.2.22', port: 80, tunnel: { type: 'gue', port: 6080, csum: 'csum' } }] },
  ],
  coreVips: VIPS.map((address) => ({ address, interface: 'eth0' })),
});

interface Lvs { services: { key: string; stats: { conns: number; inpkts: number; outpkts: number }; reals: { key: string; forward: string; stats: { conns: number } }[] }[]; counters: Record<string, number | undefined> }
const lvs = async () => (await d.cmd({ cmd: 'lvs' })).result as Lvs;

async function get(url: string): Promise<string> {
  const r = await t.exec('c', ['curl', '-s', '--max-time', '5', url], 10_000);
  assert.equal(r.code, 0, `${url}: curl exit ${r.code} ${r.stderr}`);
  return r.stdout.trim();
}

/** POSTs a file from the client; returns the server's answer (name, length, sha256) and the time taken. */
async function upload(url: string, file: string): Promise<{ answer: string; ms: number }> {
  const t0 = Date.now();
  const r = await t.exec('c', ['curl', '-s', '--max-time', '60', '-H', 'Expect:', '--data-binary', `@${file}`, url], 70_000);
  assert.equal(r.code, 0, `upload to ${url}: curl exit ${r.code} ${r.stderr}`);
  return { answer: r.stdout.trim(), ms: Date.now() - t0 };
}

/** Starts the decapsulator on a real server and waits for its TUN device. */
async function decap(host: string, local: string, vips: string[], extra: string[] = []): Promise<void> {
  const child = t.spawn(host, ['python3', DECAP, '--dev', 'eth0', '--tun', 'tunl0', '--local', local, ...vips.flatMap((v) => ['--vip', v]), '--lifetime', '900', ...extra]);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  await waitFor(async () => out.includes('ready') || child.exitCode !== null, 10_000, 50, `decapsulator on ${host}`);
  if (!out.includes('ready')) throw new Error(`decapsulator on ${host} failed: ${err}`);
}

async function realServer(host: string, address: string, vips: string[], extra: string[] = []): Promise<void> {
  // LVS-TUN real server: the VIPs on the tunnel device, never answered in ARP on the LAN;
  // no reverse-path filter (the client's packets arrive on tunl0, the route back is eth0).
  for (const [k, v] of [['all.arp_ignore', '1'], ['all.arp_announce', '2'], ['all.rp_filter', '0'], ['default.rp_filter', '0'], ['eth0.rp_filter', '0']]) {
    await t.sysctl(host, `net.ipv4.conf.${k}`, v!);
  }
  await decap(host, address, vips, extra);
  await t.sysctl(host, 'net.ipv4.conf.tunl0.rp_filter', '0');
  for (const v of vips) t.spawn(host, [process.execPath, SERVER, host, v, '80']);
  await waitFor(async () => (await t.exec(host, ['curl', '-s', '--max-time', '1', `http://${vips[0]}/`])).code === 0, 10_000, 100, `${host} server`);
}

before(async () => {
  if (skip) return;
  await t.addHosts('c', 'd', 'r1', 'r2', 'r3', 'g', 's');
  const plug = await t.addSwitch('lan');
  for (const h of ['c', 'd', 'r1', 'r2', 'r3', 'g']) await plug(h, 'eth0', RS_MAC[h]);
  await t.link('g', 'eth1', 's', 'eth0');
  await t.addr('c', 'eth0', '198.18.2.100/24');
  await t.addr('d', 'eth0', '198.18.2.2/24');
  await t.addr('g', 'eth0', '198.18.2.254/24');
  await t.addr('g', 'eth1', '198.18.9.1/24');
  await t.addr('s', 'eth0', '198.18.9.31/24');
  await t.sysctl('g', 'net.ipv4.ip_forward', '1');
  await t.ok('s', ['ip', 'route', 'add', 'default', 'via', '198.18.9.1']);
  await t.ok('d', ['ip', 'route', 'add', '198.18.9.0/24', 'via', '198.18.2.254']);
  await t.ok('c', ['ip', 'route', 'add', '198.18.9.0/24', 'via', '198.18.2.254']);
  for (const [i, h] of ['r1', 'r2', 'r3'].entries()) {
    await t.addr(h, 'eth0', `198.18.2.${21 + i}/24`);
    await realServer(h, `198.18.2.${21 + i}`, h === 'r1' ? ['198.18.2.10', '198.18.2.12'] : h === 'r2' ? ['198.18.2.10', '198.18.2.13'] : ['198.18.2.10'],
      h === 'r2' ? ['--gue-port', '6080'] : h === 'r1' ? ['--complete'] : []);
  }
  await realServer('s', '198.18.9.31', ['198.18.2.11']);
  d = new Director(t, 'd', model, dir);
  await d.ready();
});

after(async () => {
  if (!skip) await d?.quit();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('TUN: HTTP alternates over three real servers, which answer the client directly (no reply passes the director)', { skip }, async () => {
  // The client's capture: every frame from the VIP must come from a real server's MAC.
  const cap = t.exec('c', ['timeout', '15', 'tcpdump', '-l', '-e', '-n', '-i', 'eth0', '-c', '12', 'src host 198.18.2.10 and tcp'], 20_000);
  await new Promise((r) => setTimeout(r, 800));
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push(await get('http://198.18.2.10/'));
  assert.deepEqual(new Set(names), new Set(['r1', 'r2', 'r3']), names.join(','));
  for (let i = 3; i < 6; i++) assert.equal(names[i], names[i - 3], `rr: ${names.join(',')}`);
  const res = await lvs();
  const svc = res.services.find((s) => s.key === 'tcp:198.18.2.10:80')!;
  assert.equal(svc.stats.conns, 6);
  assert.ok(svc.stats.inpkts >= 6 * 4, `inpkts ${svc.stats.inpkts}`);
  assert.equal(svc.stats.outpkts, 0, 'TUN: replies never pass the director');
  assert.ok(svc.reals.every((r) => r.forward === 'Tunnel' && r.stats.conns === 2), JSON.stringify(svc.reals));
  // No real server complained about the tunnel packets (their errors would be relayed to the client).
  assert.equal(res.counters.tun_icmp_relayed ?? 0, 0);
  const frames = (await cap).stdout.split('\n').filter((l) => l.includes('198.18.2.10.80 >'));
  assert.ok(frames.length >= 6, `captured ${frames.length} frames from the VIP`);
  for (const l of frames) {
    const src = l.split(' ')[1]!;
    assert.ok(Object.values(RS_MAC).includes(src), `a reply frame from ${src}, not a real server: ${l}`);
  }
});

test('TUN: a DF segment too big for the tunnel gets "fragmentation needed" with MTU 1480; the client\'s TCP adapts and the upload completes', { skip }, async () => {
  await t.ok('c', ['ip', 'route', 'flush', 'cache']);
  const before = (await lvs()).counters.frag_needed_sent ?? 0;
  const file = join(dir, 'pmtu.bin');
  const data = randomBytes(2 << 20);
  writeFileSync(file, data);
  const { answer } = await upload('http://198.18.2.10/up', file);
  const [, n, sha] = answer.split(' ');
  assert.equal(Number(n), data.length);
  assert.equal(sha, createHash('sha256').update(data).digest('hex'));
  const after = (await lvs()).counters.frag_needed_sent ?? 0;
  assert.ok(after > before, `frag_needed_sent ${before} -> ${after}`);
  // The client's kernel keeps the learned path MTU for the VIP.
  assert.match(await t.ok('c', ['ip', 'route', 'get', '198.18.2.10']), /mtu 1480/);
});

test('TUN: 4 MiB uploads to each real server (GSO super-frames from the client, cut in software) arrive intact; r1\'s TCP verified every checksum', { skip }, async () => {
  const c0 = (await lvs()).counters;
  const names: string[] = [];
  let ms = 0;
  let bytes = 0;
  for (let i = 0; i < 3; i++) {
    const file = join(dir, `big${i}.bin`);
    const data = randomBytes(4 << 20);
    writeFileSync(file, data);
    const r = await upload('http://198.18.2.10/up', file);
    const [name, n, sha] = r.answer.split(' ');
    assert.equal(Number(n), data.length, `upload ${i} to ${name}`);
    assert.equal(sha, createHash('sha256').update(data).digest('hex'), `upload ${i} to ${name}`);
    names.push(name!);
    ms += r.ms;
    bytes += data.length;
  }
  assert.deepEqual(new Set(names), new Set(['r1', 'r2', 'r3']));
  const c1 = (await lvs()).counters;
  const supers = (c1.gso_segmented ?? 0) - (c0.gso_segmented ?? 0);
  const segs = (c1.gso_segments ?? 0) - (c0.gso_segments ?? 0);
  assert.ok(supers > 0, 'GSO super-frames crossed and were segmented');
  // r1 got its segments with complete checksums (its decapsulator completed the partial ones).
  const snmp = (await t.ok('r1', ['cat', '/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Tcp:'));
  const tcp = Object.fromEntries(snmp[0]!.split(/\s+/).slice(1).map((k, i) => [k, Number(snmp[1]!.split(/\s+/)[i + 1])]));
  assert.ok(tcp.InSegs! > 2000, `r1 InSegs ${tcp.InSegs}`);
  assert.equal(tcp.InCsumErrors, 0, 'no TCP checksum error at r1');
  process.stdout.write(`# ${bytes >> 20} MiB uploaded through TUN in ${ms} ms (${((bytes * 8) / ms / 1000).toFixed(0)} Mbit/s, Python decapsulators); ${supers} GSO frames cut into ${segs} segments\n`);
});

test('TUN: a real server behind a router (routed TUN): through the kernel\'s route and the gateway\'s MAC', { skip }, async () => {
  const names: string[] = [];
  for (let i = 0; i < 3; i++) names.push(await get('http://198.18.2.11/'));
  assert.deepEqual(names, ['s', 's', 's']);
  const neigh = await t.ok('d', ['ip', 'neigh', 'show', 'dev', 'eth0']);
  assert.match(neigh, /198\.18\.2\.254 lladdr/);
  assert.doesNotMatch(neigh, /198\.18\.9\.31/);
  const svc = (await lvs()).services.find((s) => s.key === 'tcp:198.18.2.11:80')!;
  assert.equal(svc.stats.conns, 3);
  assert.equal(svc.stats.outpkts, 0);
});

test('TUN: GRE with checksum and GUE with checksum reach their real servers', { skip }, async () => {
  assert.equal(await get('http://198.18.2.12/'), 'r1');
  assert.equal(await get('http://198.18.2.13/'), 'r2');
  const res = await lvs();
  for (const k of ['tcp:198.18.2.12:80', 'tcp:198.18.2.13:80']) assert.equal(res.services.find((s) => s.key === k)!.stats.conns, 1, k);
});

test('TUN: a router between the director and a real server with a smaller MTU: its "fragmentation needed" about the outer packets reaches the client (less the tunnel header) and the upload completes', { skip }, async () => {
  // g ── s now carries 1400 bytes at most; the director's egress still 1500.
  await t.ok('g', ['ip', 'link', 'set', 'eth1', 'mtu', '1400']);
  await t.ok('s', ['ip', 'link', 'set', 'eth0', 'mtu', '1400']);
  await t.ok('c', ['ip', 'route', 'flush', 'cache']);
  const before = (await lvs()).counters.tun_icmp_relayed ?? 0;
  const file = join(dir, 'routed.bin');
  const data = randomBytes(1 << 20);
  writeFileSync(file, data);
  const { answer } = await upload('http://198.18.2.11/up', file);
  const [name, n, sha] = answer.split(' ');
  assert.equal(name, 's');
  assert.equal(Number(n), data.length);
  assert.equal(sha, createHash('sha256').update(data).digest('hex'));
  const after = (await lvs()).counters.tun_icmp_relayed ?? 0;
  assert.ok(after > before, `tun_icmp_relayed ${before} -> ${after}`);
  // 1400 less the 20-byte outer header.
  assert.match(await t.ok('c', ['ip', 'route', 'get', '198.18.2.11']), /mtu 1380/);
});
