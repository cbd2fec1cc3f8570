/**
 * FULLNAT in real namespaces with the real daemon (`node bin/lvsd.js -f FILE`, a
 * keepalived-dpvs style config: `local_address_group` + `laddr_group_name`, `lvs_method
 * FNAT`), two forwarding workers, HTTP_GET checks, and the real `lvsadm`.
 *
 *   client c 198.18.0.100-.107 ── d:eth0 198.18.0.2 [VIP .10, core] ── director
 *   d:eth1 198.18.1.2 [local addresses .200 .201, core] ── switch ── r1 r2 r3 (198.18.1.11-13:8080)
 *
 * The real servers have no default route at all: the point of FULLNAT is that they only
 * need to reach the local addresses (here on-link), never the clients.
 *
 * Needs dist/ built (`npx tsc -p tsconfig.build.json`): bin/lvsd.js and the probe run it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Topology, canUseNetns, waitFor } from '../lib/netns.js';
import { LvsdDirector, type LogEvent } from '../../../src/lab/director.js';
import { Probe, tally } from '../../../src/lab/probe.js';

const SERVER = fileURLToPath(new URL('./fixtures/http-name.mjs', import.meta.url));
const skip = !canUseNetns() && 'needs root and iproute2';
const t = new Topology('fwd');
const dir = mkdtempSync(join(tmpdir(), 'lvt-fwd-'));
const servers = new Map<string, ChildProcess>();
let d: LvsdDirector;
const VIP = '198.18.0.10';
const LIPS = ['198.18.1.200', '198.18.1.201'];
const CLIENTS = Array.from({ length: 8 }, (_, i) => `198.18.0.${100 + i}`);
const CHECK = { delayLoopS: 1, connectTimeoutS: 1, retry: 1, delayBeforeRetryS: 0.5 };

function realBlock(address: string): string {
  return `    real_server ${address} 8080 {
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout ${CHECK.connectTimeoutS}
            retry ${CHECK.retry}
            delay_before_retry ${CHECK.delayBeforeRetryS}
        }
    }
`;
}

const CONFIG = `global_defs {
    router_id fnat-demo
    lvs_interface eth0
    forwarding_workers 2
}
local_address_group laddr_g1 {
    198.18.1.200 eth1
    198.18.1.201 eth1
}
virtual_server ${VIP} 80 {
    protocol TCP
    lb_algo rr
    lb_kind FNAT
    laddr_group_name laddr_g1
    delay_loop ${CHECK.delayLoopS}
${['198.18.1.11', '198.18.1.12', '198.18.1.13'].map(realBlock).join('')}}
virtual_server ${VIP} 81 {
    protocol TCP
    lb_algo rr
    lb_kind FNAT
    laddr_group_name laddr_g1
    persistence_timeout 60
    delay_loop ${CHECK.delayLoopS}
${['198.18.1.11', '198.18.1.12', '198.18.1.13'].map(realBlock).join('')}}
`;

async function get(path = '/', port = 80, from = CLIENTS[0]!): Promise<{ code: number; body: string }> {
  const r = await t.exec('c', ['curl', '-s', '--max-time', '4', '--interface', from, `http://${VIP}:${port}${path}`], 10_000);
  return { code: r.code, body: r.stdout.trim() };
}

async function lvsadm(...args: string[]): Promise<string> {
  const r = await d.lvsadm(args);
  assert.equal(r.code, 0, `lvsadm ${args.join(' ')}: exit ${r.code} ${r.stderr}`);
  return r.stdout;
}

interface Json { services: { key: string; stats: { conns: number; inpkts: number; outpkts: number }; reals: { key: string; forward: string }[] }[]; counters: Record<string, number>; conns?: { source: string; local?: string; worker?: number; method: string; destination: string; template: boolean }[] }
const json = async (...args: string[]) => JSON.parse(await lvsadm('--json', ...args)) as Json;
/** What the core counts as a frame it could not forward. */
const DROPS = ['no_dest', 'no_neighbour', 'no_egress', 'table_full', 'no_local_port', 'vlan_cross_if', 'tx_short', 'rx_kernel_drops', 'icmp_no_conn', 'no_conn'];
const drops = (c: Record<string, number>) => Object.fromEntries(DROPS.map((k) => [k, c[k] ?? 0]));

function startServer(r: string, i: number): void {
  servers.set(r, t.spawn(r, [process.execPath, SERVER, r, `198.18.1.${11 + i}`, '8080']));
}

before(async () => {
  if (skip) return;
  await t.addHosts('c', 'd', 'r1', 'r2', 'r3');
  await t.link('c', 'eth0', 'd', 'eth0');
  const plug = await t.addSwitch('sw');
  await plug('d', 'eth1');
  for (const r of ['r1', 'r2', 'r3']) await plug(r, 'eth0');
  for (const a of CLIENTS) await t.addr('c', 'eth0', `${a}/24`);
  await t.addr('d', 'eth0', '198.18.0.2/24');
  await t.addr('d', 'eth1', '198.18.1.2/24');
  for (const [i, r] of ['r1', 'r2', 'r3'].entries()) {
    // No default route: a real server reaches the local addresses on-link, never the clients.
    await t.addr(r, 'eth0', `198.18.1.${11 + i}/24`);
    startServer(r, i);
  }
  for (const i of [11, 12, 13]) await waitFor(async () => (await t.exec('d', ['curl', '-s', '--max-time', '1', `http://198.18.1.${i}:8080/`])).code === 0, 10_000, 100, `real ${i}`);
  const configFile = join(dir, 'lvsd.conf');
  writeFileSync(configFile, CONFIG);
  d = new LvsdDirector(t, 'd', { configFile, controlPath: join(dir, 'lvsd.sock'), logFile: join(dir, 'lvsd.log') });
  d.start();
  await d.waitStarted();
  await d.waitEvent((e) => e.event === 'vip.added' && e.address === VIP, 10_000, 'VIP claimed');
  for (const l of LIPS) await d.waitEvent((e) => e.event === 'vip.added' && e.address === l, 10_000, `local address ${l} claimed`);
  await waitFor(async () => (await get()).code === 0, 10_000, 100, 'the VIP answers');
  await lvsadm('-Z');
});

after(async () => {
  if (!skip && d?.running) await d.stop('SIGTERM');
  d?.close();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('FNAT: rr over three real servers that have no route to the clients; they see the local addresses as the source; replies are NATed back; the director drops nothing', { skip }, async () => {
  const d0 = drops((await json('-L', '-n')).counters);
  const seen: { name: string; src: string; port: number }[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await get('/whoami');
    assert.equal(r.code, 0, `request ${i}: curl ${r.code}`);
    const [name, src, port] = r.body.split(' ');
    seen.push({ name: name!, src: src!, port: Number(port) });
  }
  assert.deepEqual(new Set(seen.map((s) => s.name)), new Set(['r1', 'r2', 'r3']));
  for (let i = 3; i < 12; i++) assert.equal(seen[i]!.name, seen[i - 3]!.name, `rr: ${seen.map((s) => s.name).join(',')}`);
  for (const s of seen) assert.ok(LIPS.includes(s.src), `the real server saw ${s.src}, not a local address`);
  assert.deepEqual(new Set(seen.map((s) => s.src)), new Set(LIPS), 'both local addresses in turn');
  const res = await json('-L', '-n');
  const svc = res.services.find((s) => s.key === `tcp:${VIP}:80`)!;
  assert.equal(svc.stats.conns, 12);
  assert.ok(svc.stats.outpkts >= 12 * 3, 'the replies came back through the director');
  assert.ok(svc.reals.every((r) => r.forward === 'FullNat'));
  assert.deepEqual(drops(res.counters), d0, 'no frame the core could not forward');
  // ipvsadm's name in the listing.
  assert.match(await lvsadm('-L', '-n'), /-> 198\.18\.1\.11:8080 +FullNat +1 /);
  // The local addresses are the core's (D4): the nft table drops their frames for the kernel.
  const nft = await t.ok('d', ['nft', 'list', 'table', 'netdev', 'lvsd']);
  for (const l of LIPS) assert.ok(nft.includes(l), `${l} in the table: ${nft}`);
});

test('FNAT: persistence keeps a client on one real server; other clients spread', { skip }, async () => {
  const per = new Map<string, Set<string>>();
  for (const c of CLIENTS.slice(0, 4)) {
    const s = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await get('/', 81, c);
      assert.equal(r.code, 0);
      s.add(r.body);
    }
    per.set(c, s);
  }
  for (const [c, s] of per) assert.equal(s.size, 1, `client ${c} moved: ${[...s].join(',')}`);
  assert.ok(new Set([...per.values()].map((s) => [...s][0])).size > 1, 'the templates spread clients over real servers');
});

test('FNAT with two workers: both hold connections, each connection\'s local port is its worker\'s (lport ≡ worker mod 2), lvsadm -c shows the local address', { skip }, async () => {
  // Keep-alive connections from eight client addresses (the fanout program spreads clients).
  const runs = CLIENTS.map((c) => t.exec('c', ['curl', '-s', '--max-time', '6', '--interface', c, '-w', '%{http_code}\\n',
    ...Array.from({ length: 4 }, () => ['-o', '/dev/null', `http://${VIP}/`]).flat()], 15_000));
  const outs = await Promise.all(runs);
  for (const o of outs) assert.deepEqual(o.stdout.trim().split('\n'), ['200', '200', '200', '200'], o.stderr);
  const res = await json('-L', '-n', '-c');
  const conns = (res.conns ?? []).filter((c) => c.method === 'FullNat' && !c.template);
  assert.ok(conns.length >= 8, `${conns.length} FullNat connections listed`);
  const workers = new Set(conns.map((c) => c.worker));
  assert.deepEqual(workers, new Set([0, 1]), 'both workers hold connections');
  for (const c of conns) {
    const [lip, lport] = c.local!.split(':');
    assert.ok(LIPS.includes(lip!), c.local);
    assert.equal(Number(lport) % 2, c.worker, `connection ${c.source} on worker ${c.worker} has local port ${lport}`);
  }
  const text = await lvsadm('-L', '-n', '-c');
  assert.match(text, /^IPVS connection entries\npro expire state {7}source {13}virtual {12}local {14}destination\n/);
  assert.match(text, /198\.18\.1\.20[01]:\d+ +198\.18\.1\.1[123]:8080/);
  const tr = JSON.parse(await lvsadm('--json', 'trace', 'tcp', '198.18.0.100:1234', `${VIP}:80`)) as { local: { address: string; why: string } };
  assert.ok(LIPS.includes(tr.local.address), JSON.stringify(tr));
  assert.match(tr.local.why, /round-robin over the service's 2 local addresses/);
});

test('FNAT: a real server stopped is detected by the real checks; no request fails after detection', { skip }, async (tc) => {
  const boundMs = 1000 * (CHECK.delayLoopS + CHECK.connectTimeoutS + CHECK.retry * (CHECK.delayBeforeRetryS + CHECK.connectTimeoutS));
  const MARGIN_MS = 1000;
  const probe = await Probe.start(t, 'c', { target: `${VIP}:80`, intervalMs: 20, timeoutMs: 800 });
  await new Promise((r) => setTimeout(r, 1000));
  const killAt = Date.now();
  await t.kill(servers.get('r2')!, 'SIGKILL');
  const down = await d.waitEvent((e: LogEvent) => e.event === 'real.down' && e.real === '198.18.1.12:8080' && e.service === `tcp:${VIP}:80` && e.t >= killAt,
    boundMs + MARGIN_MS + 2000, 'r2 down');
  await new Promise((r) => setTimeout(r, 2000));
  const records = await probe.stop();
  const afterDetect = tally(records, down.t + 5);
  const beforeDetect = tally(records, killAt, down.t);
  tc.diagnostic(`detected ${down.t - killAt} ms after the kill; before detection ${beforeDetect.failed} of ${beforeDetect.sent} failed; after: ${afterDetect.failed} of ${afterDetect.sent}`);
  assert.ok(afterDetect.sent > 50, `traffic kept flowing (${afterDetect.sent})`);
  assert.equal(afterDetect.failed, 0, `failed after detection: ${JSON.stringify(afterDetect.reasons)}`);
  assert.equal(afterDetect.perReal.r2 ?? 0, 0);
  assert.ok((afterDetect.perReal.r1 ?? 0) > 10 && (afterDetect.perReal.r3 ?? 0) > 10, JSON.stringify(afterDetect.perReal));
});
