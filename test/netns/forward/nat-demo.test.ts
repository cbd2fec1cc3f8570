/**
 * The NAT demo in real namespaces, with the real daemon: `node bin/lvsd.js -f FILE` from a
 * keepalived.conf file (one director, `lvs_interface`, HTTP_GET checks), the real CLI
 * `node bin/lvsadm.js` against its control socket, three Node HTTP real servers (each
 * answering its own name) behind it, rr. Successive requests alternate; `lvsadm -L -n
 * --stats` shows them in ipvsadm's layout; a stopped real server is detected by the real
 * checks within their configured timing and no request fails after detection; the nft table
 * keeps the kernel from leaking un-NATed replies; a multi-MB transfer (GSO super-frames,
 * partial checksums) arrives intact; a reload (SIGHUP via `lvsadm reload`) moves real
 * servers and ports while the untouched service keeps its counters; `lvsadm -Z` zeroes them.
 *
 *   client (198.18.0.100) ── d:eth0 198.18.0.2 [VIP .10, core] ── director ── d:eth1 198.18.1.2 ── switch ── r1 r2 r3 (198.18.1.11-13:8080)
 *   The real servers' default route is the director's eth1 address: the core sees their replies.
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
const SVC = 'tcp:198.18.0.10:80';
/** The check timing of the config below. */
const CHECK = { delayLoopS: 1, connectTimeoutS: 1, retry: 1, delayBeforeRetryS: 0.5 };

function realBlock(address: string, port = 8080): string {
  return `  real_server ${address} ${port} {
    weight 1
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

function config(services: { port: number; reals: string[] }[]): string {
  return `global_defs {
  router_id nat-demo
  lvs_interface eth0
  forwarding_workers 1
}
${services.map((s) => `virtual_server ${VIP} ${s.port} {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  delay_loop ${CHECK.delayLoopS}
${s.reals.map((r) => realBlock(r)).join('')}}
`).join('')}`;
}

async function get(path = '/', port = 80): Promise<{ code: number; body: string }> {
  const r = await t.exec('c', ['curl', '-s', '--max-time', '4', `http://${VIP}:${port}${path}`], 10_000);
  return { code: r.code, body: r.stdout.trim() };
}

async function lvsadm(...args: string[]): Promise<string> {
  const r = await d.lvsadm(args);
  assert.equal(r.code, 0, `lvsadm ${args.join(' ')}: exit ${r.code} ${r.stderr}`);
  return r.stdout;
}

/** The rows of an ipvsadm listing: service rows with their real server rows. */
function rows(listing: string): { svc: string; cols: string[]; reals: { addr: string; cols: string[] }[] }[] {
  const out: { svc: string; cols: string[]; reals: { addr: string; cols: string[] }[] }[] = [];
  for (const line of listing.split('\n').slice(3)) {
    if (!line.trim()) continue;
    if (line.startsWith('  -> ')) {
      const [addr, ...cols] = line.slice(5).trim().split(/\s+/);
      out[out.length - 1]!.reals.push({ addr: addr!, cols });
    } else {
      const m = /^(TCP|UDP) {2}(\S+)\s+(.*)$/.exec(line)!;
      out.push({ svc: `${m[1]} ${m[2]}`, cols: m[3]!.trim().split(/\s+/), reals: [] });
    }
  }
  return out;
}

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
  await t.addr('c', 'eth0', '198.18.0.100/24');
  await t.addr('d', 'eth0', '198.18.0.2/24');
  await t.addr('d', 'eth1', '198.18.1.2/24');
  for (const [i, r] of ['r1', 'r2', 'r3'].entries()) {
    await t.addr(r, 'eth0', `198.18.1.${11 + i}/24`);
    // NAT: the replies must come back through the director.
    await t.ok(r, ['ip', 'route', 'add', 'default', 'via', '198.18.1.2']);
    startServer(r, i);
  }
  for (const i of [11, 12, 13]) await waitFor(async () => (await t.exec('d', ['curl', '-s', '--max-time', '1', `http://198.18.1.${i}:8080/`])).code === 0, 10_000, 100, `real ${i}`);
  const configFile = join(dir, 'lvsd.conf');
  writeFileSync(configFile, config([{ port: 80, reals: ['198.18.1.11', '198.18.1.12', '198.18.1.13'] }]));
  d = new LvsdDirector(t, 'd', { configFile, controlPath: join(dir, 'lvsd.sock'), logFile: join(dir, 'lvsd.log') });
  d.start();
  await d.waitStarted();
  await d.waitEvent((e) => e.event === 'vip.added' && e.address === VIP, 10_000, 'VIP claimed');
  await waitFor(async () => (await get()).code === 0, 10_000, 100, 'the VIP answers');
  await lvsadm('-Z');
});

after(async () => {
  if (!skip && d?.running) await d.stop('SIGTERM');
  d?.close();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('rr: successive requests alternate over the three real servers; lvsadm -L -n --stats shows them in ipvsadm\'s layout', { skip }, async () => {
  const names: string[] = [];
  for (let i = 0; i < 9; i++) {
    const r = await get();
    assert.equal(r.code, 0, `request ${i} failed`);
    names.push(r.body);
  }
  assert.deepEqual(new Set(names), new Set(['r1', 'r2', 'r3']));
  for (let i = 3; i < 9; i++) assert.equal(names[i], names[i - 3], `rr period 3: ${names.join(',')}`);
  const stats = await lvsadm('-L', '-n', '--stats');
  const lines = stats.split('\n');
  assert.match(lines[0]!, /^IP Virtual Server version 1\.2\.1 \(size=\d+\)$/);
  assert.equal(lines[1], 'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes');
  assert.equal(lines[2], '  -> RemoteAddress:Port');
  const [svc] = rows(stats);
  assert.equal(svc!.svc, 'TCP 198.18.0.10:80');
  assert.equal(lines[3]!.length, 33 + 5 * 9, 'print_largenum columns: %-33s then five %9');
  const [conns, inpkts, outpkts, inbytes, outbytes] = svc!.cols.map(Number);
  assert.equal(conns, 9);
  assert.ok(inpkts! >= 9 * 4 && outpkts! >= 9 * 3, svc!.cols.join(' '));
  assert.ok(inbytes! > inpkts! * 40 && outbytes! > outpkts! * 40);
  assert.deepEqual(svc!.reals.map((r) => [r.addr, r.cols[0]]), [['198.18.1.11:8080', '3'], ['198.18.1.12:8080', '3'], ['198.18.1.13:8080', '3']]);
  // The default layout: scheduler, forward method, weights.
  const list = await lvsadm('-L', '-n');
  assert.deepEqual(list.split('\n').slice(1, 4), [
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  198.18.0.10:80 rr',
  ]);
  for (const r of rows(list)[0]!.reals) assert.deepEqual(r.cols.slice(0, 2), ['Masq', '1'], r.addr);
  // --rate has its titles; -c lists connections; --json is the raw result.
  // print_title: "%-33s %8s %8s %8s %8s %8s"
  assert.equal((await lvsadm('-L', '-n', '--rate')).split('\n')[1], `${'Prot LocalAddress:Port'.padEnd(33)} ${['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((x) => x.padStart(8)).join(' ')}`);
  assert.match(await lvsadm('-L', '-n', '-c'), /^IPVS connection entries\npro expire state/);
  const json = JSON.parse(await lvsadm('--json', '-L', '-n')) as { services: { key: string; stats: { conns: number } }[] };
  assert.equal(json.services.find((s) => s.key === SVC)!.stats.conns, 9);
});

test('the kernel does not answer for the VIP: no RST leaks (nft table), ping answered by the core', { skip }, async () => {
  const ping = await t.exec('c', ['ping', '-c', '2', '-i', '0.2', '-W', '2', VIP]);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  const nft = await t.ok('d', ['nft', 'list', 'table', 'netdev', 'lvsd']);
  assert.match(nft, /198\.18\.0\.10/);
  assert.match(nft, /198\.18\.1\.11 \. 8080/);
});

test('a real server stopped: the real checks detect it within delay_loop + connect_timeout + retry × (delay_before_retry + connect_timeout); no request fails after detection', { skip }, async (tc) => {
  const boundMs = 1000 * (CHECK.delayLoopS + CHECK.connectTimeoutS + CHECK.retry * (CHECK.delayBeforeRetryS + CHECK.connectTimeoutS));
  const MARGIN_MS = 1000;
  const probe = await Probe.start(t, 'c', { target: `${VIP}:80`, intervalMs: 20, timeoutMs: 800 });
  await new Promise((r) => setTimeout(r, 1000));
  const killAt = Date.now();
  await t.kill(servers.get('r2')!, 'SIGKILL');
  const down = await d.waitEvent((e: LogEvent) => e.event === 'real.down' && e.real === '198.18.1.12:8080' && e.t >= killAt, boundMs + MARGIN_MS + 2000, 'r2 down');
  const detectedMs = down.t - killAt;
  await new Promise((r) => setTimeout(r, 2000));
  const records = await probe.stop();
  // The health reaches the forwarding worker by message: a request sent in that instant may
  // still be scheduled to the dead server (as in test/netns/e2e/real-down.test.ts).
  const PROPAGATION_MS = 5;
  const afterDetect = tally(records, down.t + PROPAGATION_MS);
  const beforeDetect = tally(records, killAt, down.t);
  tc.diagnostic(`detected ${detectedMs} ms after the kill (bound ${boundMs} + ${MARGIN_MS} ms), reason ${String(down.reason)}; before detection ${beforeDetect.failed} of ${beforeDetect.sent} failed; after: ${afterDetect.failed} of ${afterDetect.sent}`);
  assert.ok(detectedMs <= boundMs + MARGIN_MS, `detected after ${detectedMs} ms, bound ${boundMs} + ${MARGIN_MS} ms`);
  assert.ok(afterDetect.sent > 50, `traffic kept flowing (${afterDetect.sent})`);
  assert.equal(afterDetect.failed, 0, `failed after detection: ${JSON.stringify(afterDetect.reasons)}`);
  assert.equal(afterDetect.perReal.r2 ?? 0, 0, 'nothing from the dead server after detection');
  assert.ok((afterDetect.perReal.r1 ?? 0) > 10 && (afterDetect.perReal.r3 ?? 0) > 10, JSON.stringify(afterDetect.perReal));
  // The listing: r2 left the service (keepalived removes a failed real server).
  assert.deepEqual(rows(await lvsadm('-L', '-n'))[0]!.reals.map((r) => r.addr), ['198.18.1.11:8080', '198.18.1.13:8080']);
  const tr = JSON.parse(await lvsadm('--json', 'trace', 'tcp', '198.18.0.100:1234', `${VIP}:80`)) as { dest: string; service: string };
  assert.equal(tr.service, SVC);
  assert.notEqual(tr.dest, '198.18.1.12:8080');
  // Back: the first passing check brings it up, and it takes traffic again.
  const backAt = Date.now();
  startServer('r2', 1);
  await d.waitEvent((e) => e.event === 'real.up' && e.real === '198.18.1.12:8080' && e.t >= backAt, 10_000, 'r2 up');
  const back = new Set<string>();
  for (let i = 0; i < 6; i++) back.add((await get()).body);
  assert.ok(back.has('r2'), [...back].join(','));
});

test('a bulk TCP transfer (8 MB) through NAT arrives intact (GSO super-frames, partial checksums)', { skip }, async () => {
  const r = await t.exec('c', ['sh', '-c', `curl -s --max-time 20 http://${VIP}/big?n=8388608 | sha256sum`], 30_000);
  assert.equal(r.code, 0, r.stderr);
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  const chunk = Buffer.alloc(65536);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + 3) & 255;
  for (let left = 8388608; left > 0; left -= 65536) h.update(chunk.subarray(0, Math.min(left, 65536)));
  assert.equal(r.stdout.split(/\s/)[0], h.digest('hex'));
});

test('reload: a real server removed from the config stops getting traffic; a new port is served; counters survive; lvsadm -Z zeroes them', { skip }, async () => {
  const before = rows(await lvsadm('-L', '-n', '--stats'))[0]!;
  const c0 = Number(before.cols[0]);
  const reloadAt = Date.now();
  writeFileSync(d.files.configFile, config([
    { port: 80, reals: ['198.18.1.11', '198.18.1.13'] },
    { port: 81, reals: ['198.18.1.12'] },
  ]));
  await lvsadm('reload');
  await d.waitEvent((e) => e.event === 'config.applied' && e.trigger !== 'startup' && e.t >= reloadAt, 10_000, 'reload applied');
  const names = new Set<string>();
  for (let i = 0; i < 6; i++) names.add((await get()).body);
  assert.deepEqual(names, new Set(['r1', 'r3']));
  let last: { code: number; body: string } = { code: -1, body: '' };
  for (let i = 0; i < 50 && last.body !== 'r2'; i++) {
    last = await get('/', 81);
    if (last.body !== 'r2') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(last.body, 'r2', `port 81: curl ${last.code}; ${await lvsadm('-L', '-n')}\n${d.lastLines(20)}`);
  const after = rows(await lvsadm('-L', '-n', '--stats'));
  assert.deepEqual(after.map((s) => s.svc), ['TCP 198.18.0.10:80', 'TCP 198.18.0.10:81']);
  assert.equal(Number(after[0]!.cols[0]), c0 + 6, 'counters of the untouched service continue');
  assert.match(await t.ok('d', ['nft', 'list', 'table', 'netdev', 'lvsd']), /198\.18\.1\.12 \. 8080/);
  // ipvsadm -Z: the listing's counters restart from zero.
  await lvsadm('-Z');
  assert.deepEqual(rows(await lvsadm('-L', '-n', '--stats')).map((s) => Number(s.cols[0])), [0, 0]);
  await get();
  assert.equal(Number(rows(await lvsadm('-L', '-n', '--stats'))[0]!.cols[0]), 1);
});

test('D4 measured: with forwarding on, the nft table keeps the kernel from leaking NAT replies (client RSTs)', { skip }, async () => {
  const rsts = async () => Number(/TcpOutRsts\s+(\d+)/.exec(await t.ok('c', ['nstat', '-az', 'TcpOutRsts']))?.[1] ?? 0);
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
    // Last test: the table stays deleted (the daemon's next claim, reload or stop rebuilds or removes it).
    await t.sysctl('d', 'net.ipv4.ip_forward', '0');
  }
});
