/**
 * Forwarding benchmark: lvsd NAT against direct (routed) access, kernel nftables DNAT
 * (`numgen inc mod 3`) and HAProxy (TCP mode), on one namespace topology
 * (bench/lib/topology.ts), in one run, printed side by side and as ratios:
 *   - HTTP keep-alive requests/s and latency percentiles (wrk --latency)
 *   - new connections/s (wrk with `Connection: close`)
 *   - 64-byte UDP packets/s delivered to the real servers (sendmmsg blaster; HAProxy n/a)
 *   - connection table bytes per entry at 1 M connections, lookup ns at 1 k vs 1 M
 *
 *   node --expose-gc --import tsx bench/forward.ts [--seconds 5] [--connections 32] [--json]
 *
 * Needs root. The machine is shared and small (2 vCPUs here): every variant's client,
 * balancer and servers compete for the same cores, so read ratios, not absolutes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../test/netns/lib/netns.js';
import { canUseNetns } from '../test/netns/lib/netns.js';
import { Director } from '../test/netns/forward/lib/director.js';
import { makeModel } from '../test/unit/forward/lib/model.js';
import { BENCH, buildBenchTopology, ifCounter } from './lib/topology.js';
import { measureConnTable } from './lib/conn-table-bench.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const SECONDS = Number(arg('seconds', '5'));
const CONNS = Number(arg('connections', '32'));
const JSON_OUT = process.argv.includes('--json');
/** --only lvsd: the lvsd rows only (for quick experiments). */
const ONLY = arg('only', '');
/** --ring on|off|both (default both). */
const RINGS = arg('ring', 'both');
const BLAST = fileURLToPath(new URL('./lib/udp-blast.ts', import.meta.url));

class Done extends Error {}

interface HttpFigures { rps: number; p50Ms: number; p90Ms: number; p99Ms: number; errors: number }
interface Row { variant: string; keepalive: HttpFigures | null; close: HttpFigures | null; udpPps: number | null; note?: string }

function parseMs(s: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(s);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

async function wrk(t: Topology, url: string, close: boolean): Promise<HttpFigures> {
  const args = ['wrk', '-t2', `-c${CONNS}`, `-d${SECONDS}s`, '--latency', ...(close ? ['-H', 'Connection: close'] : []), url];
  const r = await t.exec('c', args, (SECONDS + 30) * 1000);
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const pct = (p: string) => parseMs(new RegExp(`\\s${p}%\\s+(\\S+)`).exec(out)?.[1] ?? '');
  const err = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = (err ? err.slice(1).reduce((s, x) => s + Number(x), 0) : 0) + non2xx;
  return { rps, p50Ms: pct('50'), p90Ms: pct('90'), p99Ms: pct('99'), errors };
}

async function udp(t: Topology, dst: string): Promise<number> {
  const before = await Promise.all(['r1', 'r2', 'r3'].map((r) => ifCounter(t, r, 'eth0', 'rx_packets')));
  const secs = Math.max(2, Math.min(SECONDS, 4));
  const r = await t.exec('c', [process.execPath, '--import', 'tsx', BLAST, 'eth0', '02:b0:00:00:00:02', BENCH.client, dst, String(BENCH.udpPort), String(secs), '256'], (secs + 30) * 1000);
  if (r.code !== 0) throw new Error(`blaster: ${r.stderr}`);
  await new Promise((res) => setTimeout(res, 300));
  const after = await Promise.all(['r1', 'r2', 'r3'].map((h) => ifCounter(t, h, 'eth0', 'rx_packets')));
  const got = after.reduce((s, v, i) => s + v - before[i]!, 0);
  return got / secs;
}

async function main(): Promise<void> {
  if (!canUseNetns()) {
    console.error('bench/forward.ts needs root and iproute2');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'lvt-bench-'));
  const t = await buildBenchTopology();
  const rows: Row[] = [];
  try {
    // The real servers sink the UDP load without answering (no ICMP noise).
    for (const r of ['r1', 'r2', 'r3']) {
      const f = join(dir, `${r}.nft`);
      writeFileSync(f, `table netdev lvtbench {\n  chain i { type filter hook ingress device "eth0" priority 0; udp dport ${BENCH.udpPort} drop; }\n}\n`);
      await t.ok(r, ['nft', '-f', f]);
    }
    // ── lvsd NAT, with each receive path ──
    const model = makeModel({
      services: [
        { match: { kind: 'addr', address: BENCH.lvsVip, port: BENCH.httpPort }, method: 'NAT', scheduler: 'rr', interface: 'eth0',
          reals: BENCH.reals.map((a) => ({ address: a, port: BENCH.httpPort })) },
        { match: { kind: 'addr', address: BENCH.lvsVip, port: BENCH.udpPort }, protocol: 'udp', method: 'NAT', scheduler: 'rr', interface: 'eth0',
          reals: BENCH.reals.map((a) => ({ address: a, port: BENCH.udpPort })) },
      ],
      coreVips: [{ address: BENCH.lvsVip, interface: 'eth0' }, { address: BENCH.gw, interface: 'eth1' }],
    });
    const m2 = { ...model, global: { ...model.global, connTableSize: 1 << 20 } };
    for (const ring of RINGS === 'on' ? [true] : RINGS === 'off' ? [false] : [false, true]) {
      process.env.LVSD_FWD_RING = ring ? '1' : '0';
      const d = new Director(t, 'd', m2, dir);
      await d.ready();
      const lvsUrl = `http://${BENCH.lvsVip}:${BENCH.httpPort}/`;
      await wrk(t, lvsUrl, false).catch(() => null); // warm up (JIT, neighbours)
      const lvs: Row = { variant: `lvsd NAT (${ring ? 'TPACKET_V3' : 'recvmmsg'})`, keepalive: await wrk(t, lvsUrl, false), close: await wrk(t, lvsUrl, true), udpPps: await udp(t, BENCH.lvsVip) };
      const st = (await d.cmd({ cmd: 'lvs' })).result as { counters: Record<string, number> };
      lvs.note = `table_full ${st.counters.table_full ?? 0}, no_neighbour ${st.counters.no_neighbour ?? 0}, scratch_full ${st.counters.scratch_full ?? 0}`;
      rows.push(lvs);
      await d.quit();
      await new Promise((res) => setTimeout(res, 500));
    }
    delete process.env.LVSD_FWD_RING;
    if (ONLY === 'lvsd') throw new Done();
    // ── kernel variants: the gateway becomes a kernel address, forwarding on ──
    await t.addr('d', 'eth1', `${BENCH.gw}/24`);
    await t.sysctl('d', 'net.ipv4.ip_forward', '1');
    const direct = `http://${BENCH.reals[0]}:${BENCH.httpPort}/`;
    rows.push({ variant: 'direct (routed, one server)', keepalive: await wrk(t, direct, false), close: await wrk(t, direct, true), udpPps: await udp(t, BENCH.reals[0]!) });
    // nftables DNAT, numgen round robin.
    await t.addr('d', 'eth0', `${BENCH.nftVip}/24`);
    const nf = join(dir, 'dnat.nft');
    const map = BENCH.reals.map((a, i) => `${i} : ${a}`).join(', ');
    writeFileSync(nf, [
      'table ip lvtbench {',
      '  chain pre {',
      '    type nat hook prerouting priority -100;',
      `    ip daddr ${BENCH.nftVip} tcp dport ${BENCH.httpPort} dnat to numgen inc mod 3 map { ${map} }`,
      `    ip daddr ${BENCH.nftVip} udp dport ${BENCH.udpPort} dnat to numgen inc mod 3 map { ${map} }`,
      '  }',
      '}',
      '',
    ].join('\n'));
    await t.ok('d', ['nft', '-f', nf]);
    const nftUrl = `http://${BENCH.nftVip}:${BENCH.httpPort}/`;
    rows.push({ variant: 'nftables DNAT', keepalive: await wrk(t, nftUrl, false), close: await wrk(t, nftUrl, true), udpPps: await udp(t, BENCH.nftVip) });
    // HAProxy, TCP mode.
    await t.addr('d', 'eth0', `${BENCH.haVip}/24`);
    const hc = join(dir, 'haproxy.cfg');
    writeFileSync(hc, [
      'global', '  maxconn 8000', 'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 30s', '  timeout server 30s',
      'frontend f', `  bind ${BENCH.haVip}:${BENCH.httpPort}`, '  default_backend b',
      'backend b', '  balance roundrobin', ...BENCH.reals.map((a, i) => `  server r${i + 1} ${a}:${BENCH.httpPort}`), '',
    ].join('\n'));
    const ha = t.spawn('d', ['haproxy', '-db', '-f', hc]);
    await new Promise((res) => setTimeout(res, 1000));
    const haUrl = `http://${BENCH.haVip}:${BENCH.httpPort}/`;
    rows.push({ variant: 'HAProxy (tcp)', keepalive: await wrk(t, haUrl, false), close: await wrk(t, haUrl, true), udpPps: null });
    await t.kill(ha);
  } catch (e) {
    if (!(e instanceof Done)) throw e;
  } finally {
    await t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  const ct1k = measureConnTable(1000);
  const ct1m = measureConnTable(1 << 20);
  if (JSON_OUT) {
    console.log(JSON.stringify({ seconds: SECONDS, connections: CONNS, rows, connTable: { k1: ct1k, m1: ct1m } }, null, 2));
    return;
  }
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? (a / b).toFixed(2) + '×' : 'n/a');
  const f = (v: number | null | undefined, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(d));
  console.log(`\nforwarding bench: wrk -t2 -c${CONNS} -d${SECONDS}s, 3 Node HTTP real servers, 2 vCPUs shared by everything\n`);
  console.log(`${'variant'.padEnd(28)} ${'keepalive req/s'.padStart(16)} ${'p50 ms'.padStart(7)} ${'p90 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'new conn/s'.padStart(11)} ${'UDP pps'.padStart(10)} errors`);
  for (const r of rows) {
    console.log(`${r.variant.padEnd(28)} ${f(r.keepalive?.rps).padStart(16)} ${f(r.keepalive?.p50Ms, 2).padStart(7)} ${f(r.keepalive?.p90Ms, 2).padStart(7)} ${f(r.keepalive?.p99Ms, 2).padStart(7)} ${f(r.close?.rps).padStart(11)} ${f(r.udpPps).padStart(10)} ${(r.keepalive?.errors ?? 0) + (r.close?.errors ?? 0)}${r.note ? `  (${r.note})` : ''}`);
  }
  const kernel = rows.filter((r) => !r.variant.startsWith('lvsd'));
  for (const lvs of rows.filter((r) => r.variant.startsWith('lvsd'))) {
    for (const other of kernel) {
      console.log(`${lvs.variant} / ${other.variant}: keepalive ${ratio(lvs.keepalive?.rps, other.keepalive?.rps)}, new conn ${ratio(lvs.close?.rps, other.close?.rps)}, UDP ${ratio(lvs.udpPps, other.udpPps)}`);
    }
  }
  console.log(`\nconnection table: ${ct1m.bytesPerEntry.toFixed(0)} B/entry by layout at 1 M (${ct1m.measuredBytesPerEntry.toFixed(0)} B measured growth), ` +
    `lookup ${ct1k.lookupNs.toFixed(0)} ns at 1 k vs ${ct1m.lookupNs.toFixed(0)} ns at 1 M (random hits), insert ${ct1m.insertNs.toFixed(0)} ns at 1 M`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
