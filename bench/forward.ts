/**
 * Forwarding benchmark: lvsd NAT against direct (routed) access, kernel nftables DNAT
 * (`numgen inc mod 3`) and HAProxy (TCP mode), on one namespace topology
 * (bench/lib/topology.ts) with the same three nginx real servers (bench/lib/servers.ts) and
 * the same client (wrk in namespace c) for every variant:
 *   - HTTP keep-alive requests/s and latency percentiles (wrk --latency)
 *   - new connections/s (wrk with `Connection: close`) and their latency
 *   - 64-byte UDP packets/s delivered to the real servers (AF_PACKET sendmmsg blaster; HAProxy n/a)
 *   - where the CPU goes in each run (client, balancer and its threads, servers, machine
 *     softirq/system/idle, from /proc: bench/lib/cpu.ts)
 *   - connection table bytes per entry at 1 M connections, lookup ns at 1 k vs 1 M against
 *     the memory-access floor (bench/lib/conn-table-bench.ts)
 * Variants run in rotated order, `--reps` times; the table shows medians (and min–max).
 *
 *   node --expose-gc --import tsx bench/forward.ts [--seconds 4] [--reps 3] [--connections 32]
 *       [--variants lvsd,lvsd2,direct,nft,haproxy] [--lvsd '{"name":"x","opts":{...}}' ...]
 *       [--clients 8] [--server nginx|node] [--no-table] [--json FILE]
 *
 * `--lvsd` (repeatable) replaces the default lvsd variants with named ForwardingDeps option
 * sets, for experiments (e.g. `--lvsd '{"name":"v2","opts":{"io":{"rx":"v2"}}}'`; `"sync":true` runs
 * connection sync's master role beside the data plane, docs/sync.md).
 * Needs root. The machine is small and shared (2 vCPUs here): client, balancer and servers
 * compete for the same cores, so read ratios and the CPU split, not absolutes.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { Topology } from '../test/netns/lib/netns.js';
import { canUseNetns } from '../test/netns/lib/netns.js';
import { makeModel } from '../test/unit/forward/lib/model.js';
import type { Model } from '../src/model/types.js';
import { BENCH, buildBenchTopology, ifCounter } from './lib/topology.js';
import { measureConnTable, memoryFloor, memoryLatency, type ConnTableFigures } from './lib/conn-table-bench.js';
import { childPids, cpuWindow, type CpuGroup, type CpuReport } from './lib/cpu.js';
import { serverKind, startRealServers, type RealServerProc } from './lib/servers.js';
import { LvsdProcess, type LvsdOptions } from './lib/lvsd.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
function args(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => { if (a === `--${name}` && process.argv[i + 1]) out.push(process.argv[i + 1]!); });
  return out;
}
const SECONDS = Number(arg('seconds', '4'));
const REPS = Number(arg('reps', '3'));
const CONNS = Number(arg('connections', '32'));
const JSON_FILE = arg('json', '');
const VARIANTS = arg('variants', 'lvsd,lvsd2,direct,nft,haproxy').split(',');
const SERVER = serverKind(arg('server', ''));
const TABLE = !process.argv.includes('--no-table');
/** Client addresses the client host's connections leave from in turn (bench/lib/topology.ts). */
const CLIENTS = Number(arg('clients', '8'));
const BLAST = fileURLToPath(new URL('./lib/udp-blast.ts', import.meta.url));
const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'].some((p) => existsSync(p));

interface HttpFigures { rps: number; p50Ms: number; p90Ms: number; p99Ms: number; errors: number; cpu: CpuReport; io?: IoFigures }
interface UdpFigures { pps: number; cpu: CpuReport; io?: IoFigures }
/** lvsd's own I/O counters over one phase. */
interface IoFigures { framesPerWakeup: number; framesPerBatch: number; kernelDrops: number; txShort: number; frames: number }
interface Sample { variant: string; rep: number; keepalive: HttpFigures; close: HttpFigures; udp: UdpFigures | null; note?: string }

interface Variant {
  readonly name: string;
  readonly kind: 'lvsd' | 'direct' | 'nft' | 'haproxy';
  readonly url: string;
  readonly udpDst: string | null;
  readonly lvsd?: LvsdOptions;
}

function parseMs(s: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(s);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/**
 * Runs argv in the client namespace under bash and appends bash's `times`, whose second line
 * is the CPU its children used: the client's own CPU, exactly, although it has exited (and
 * left /proc) by the time the window closes.
 */
function spawnClient(t: Topology, argv: string[]): ChildProcess {
  const q = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return t.spawn('c', ['bash', '-c', `${q}; times`]);
}

/** The children's CPU (% of one CPU over `secs`) from bash's `times` output. */
function clientCpu(out: string, secs: number): number {
  const lines = out.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
  if (!m) return NaN;
  return (100 * (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]))) / secs;
}

function waitExit(c: ChildProcess): Promise<string> {
  let out = '';
  c.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve) => c.once('exit', () => resolve(out)));
}

async function wrk(t: Topology, url: string, close: boolean, groups: (client: number) => CpuGroup[], seconds = SECONDS): Promise<HttpFigures> {
  const argv = ['wrk', '-t2', `-c${CONNS}`, `-d${seconds}s`, '--latency', ...(close ? ['-H', 'Connection: close'] : []), url];
  const c = spawnClient(t, argv);
  const done = waitExit(c);
  const end = cpuWindow(groups(c.pid!));
  const out = await done;
  const cpu = end();
  cpu.groups.client = clientCpu(out, cpu.seconds);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const pct = (p: string) => parseMs(new RegExp(`\\s${p}%\\s+(\\S+)`).exec(out)?.[1] ?? '');
  const err = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  // A `Connection: close` run counts the server's close as a read error: only count real ones.
  const errors = (err ? Number(err[1]) + Number(err[3]) + Number(err[4]) + (close ? 0 : Number(err[2])) : 0) + non2xx;
  return { rps, p50Ms: pct('50'), p90Ms: pct('90'), p99Ms: pct('99'), errors, cpu };
}

async function udp(t: Topology, dst: string, groups: (client: number) => CpuGroup[]): Promise<UdpFigures> {
  const before = await Promise.all(['r1', 'r2', 'r3'].map((r) => ifCounter(t, r, 'eth0', 'rx_packets')));
  const secs = Math.max(2, Math.min(SECONDS, 4));
  const c = spawnClient(t, [process.execPath, '--import', 'tsx', BLAST, 'eth0', '02:b0:00:00:00:02', BENCH.client, dst, String(BENCH.udpPort), String(secs), '256', String(CLIENTS)]);
  const done = waitExit(c);
  const end = cpuWindow(groups(c.pid!));
  const out = await done;
  const cpu = end();
  cpu.groups.client = clientCpu(out, cpu.seconds);
  if (!out.includes('sent')) throw new Error('UDP blaster failed');
  await new Promise((res) => setTimeout(res, 300));
  const after = await Promise.all(['r1', 'r2', 'r3'].map((h) => ifCounter(t, h, 'eth0', 'rx_packets')));
  return { pps: after.reduce((s, v, i) => s + v - before[i]!, 0) / secs, cpu };
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function benchModel(workers: number): Model {
  const model = makeModel({
    services: [
      { match: { kind: 'addr', address: BENCH.lvsVip, port: BENCH.httpPort }, method: 'NAT', scheduler: 'rr', interface: 'eth0',
        reals: BENCH.reals.map((a) => ({ address: a, port: BENCH.httpPort })) },
      { match: { kind: 'addr', address: BENCH.lvsVip, port: BENCH.udpPort }, protocol: 'udp', method: 'NAT', scheduler: 'rr', interface: 'eth0',
        reals: BENCH.reals.map((a) => ({ address: a, port: BENCH.udpPort })) },
    ],
    coreVips: [{ address: BENCH.lvsVip, interface: 'eth0' }, { address: BENCH.gw, interface: 'eth1' }],
  });
  return { ...model, global: { ...model.global, connTableSize: 1 << 20, forwardingWorkers: workers } };
}

function variants(): Variant[] {
  const lvsUrl = `http://${BENCH.lvsVip}:${BENCH.httpPort}/`;
  const custom = args('lvsd').map((s) => JSON.parse(s) as { name: string; opts: LvsdOptions });
  const out: Variant[] = [];
  if (custom.length) {
    for (const c of custom) out.push({ name: `lvsd ${c.name}`, kind: 'lvsd', url: lvsUrl, udpDst: BENCH.lvsVip, lvsd: c.opts });
  } else {
    if (VARIANTS.includes('lvsd')) out.push({ name: 'lvsd NAT (1 worker)', kind: 'lvsd', url: lvsUrl, udpDst: BENCH.lvsVip, lvsd: { workers: 1 } });
    if (VARIANTS.includes('lvsd2')) out.push({ name: 'lvsd NAT (2 workers)', kind: 'lvsd', url: lvsUrl, udpDst: BENCH.lvsVip, lvsd: { workers: 2 } });
  }
  if (VARIANTS.includes('direct')) out.push({ name: 'direct (routed, r1)', kind: 'direct', url: `http://${BENCH.reals[0]}:${BENCH.httpPort}/`, udpDst: BENCH.reals[0]! });
  if (VARIANTS.includes('nft')) out.push({ name: 'nftables DNAT', kind: 'nft', url: `http://${BENCH.nftVip}:${BENCH.httpPort}/`, udpDst: BENCH.nftVip });
  if (VARIANTS.includes('haproxy') && !HAPROXY) console.error('haproxy is not installed: the HAProxy variant is skipped (apt-get install -y haproxy)');
  if (VARIANTS.includes('haproxy') && HAPROXY) out.push({ name: 'HAProxy (tcp)', kind: 'haproxy', url: `http://${BENCH.haVip}:${BENCH.httpPort}/`, udpDst: null });
  return out;
}

async function main(): Promise<void> {
  if (!canUseNetns()) {
    console.error('bench/forward.ts needs root and iproute2');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'lvt-bench-'));
  const t = await buildBenchTopology(CLIENTS);
  const samples: Sample[] = [];
  const vs = variants();
  let servers: RealServerProc[] = [];
  let haproxy: ChildProcess | null = null;
  try {
    servers = await startRealServers(t, dir, SERVER, ['r1', 'r2', 'r3'], BENCH.reals, BENCH.httpPort);
    const serverGroup: CpuGroup = { name: 'servers', pids: () => servers.flatMap((s) => [s.child.pid!, ...childPids(s.child.pid!)]) };
    // The real servers sink the UDP load without answering (no ICMP noise).
    for (const r of ['r1', 'r2', 'r3']) {
      const f = join(dir, `${r}.nft`);
      writeFileSync(f, `table netdev lvtbench {\n  chain i { type filter hook ingress device "eth0" priority 0; udp dport ${BENCH.udpPort} drop; }\n}\n`);
      await t.ok(r, ['nft', '-f', f]);
    }
    // Kernel variants: the gateway is a kernel address on d:eth1, forwarding on. lvsd runs
    // remove it (a core-owned VIP is never a kernel address, ARCHITECTURE D4) and put it back.
    await t.addr('d', 'eth1', `${BENCH.gw}/24`);
    await t.sysctl('d', 'net.ipv4.ip_forward', '1');
    await t.addr('d', 'eth0', `${BENCH.nftVip}/24`);
    await t.addr('d', 'eth0', `${BENCH.haVip}/24`);
    const nftOn = join(dir, 'dnat.nft');
    const map = BENCH.reals.map((a, i) => `${i} : ${a}`).join(', ');
    writeFileSync(nftOn, [
      'table ip lvtbench {', '  chain pre {', '    type nat hook prerouting priority -100;',
      `    ip daddr ${BENCH.nftVip} tcp dport ${BENCH.httpPort} dnat to numgen inc mod 3 map { ${map} }`,
      `    ip daddr ${BENCH.nftVip} udp dport ${BENCH.udpPort} dnat to numgen inc mod 3 map { ${map} }`,
      '  }', '}', '',
    ].join('\n'));
    if (vs.some((v) => v.kind === 'haproxy')) {
      const hc = join(dir, 'haproxy.cfg');
      writeFileSync(hc, [
        'global', '  maxconn 8000', 'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 30s', '  timeout server 30s',
        'frontend f', `  bind ${BENCH.haVip}:${BENCH.httpPort}`, '  default_backend b',
        'backend b', '  balance roundrobin', ...BENCH.reals.map((a, i) => `  server r${i + 1} ${a}:${BENCH.httpPort}`), '',
      ].join('\n'));
      haproxy = t.spawn('d', ['haproxy', '-db', '-f', hc]);
      let haErr = '';
      haproxy.stderr?.on('data', (d: Buffer) => { haErr += d.toString(); });
      haproxy.stdout?.on('data', (d: Buffer) => { haErr += d.toString(); });
      haproxy.once('exit', (code) => console.error(`haproxy exited (${code}): ${haErr.slice(-500)}`));
      await new Promise((res) => setTimeout(res, 1000));
    }
    for (let rep = 0; rep < REPS; rep++) {
      // Rotate the order so no variant always runs first (or right after the same neighbour).
      const order = vs.map((_, i) => vs[(i + rep) % vs.length]!);
      for (const v of order) {
        let lvsd: LvsdProcess | null = null;
        let balancer: CpuGroup | null = null;
        if (v.kind === 'lvsd') {
          await t.ok('d', ['ip', 'addr', 'del', `${BENCH.gw}/24`, 'dev', 'eth1']);
          lvsd = new LvsdProcess(t, 'd', benchModel(v.lvsd?.workers ?? 1), v.lvsd ?? {}, dir, `${rep}`);
          await lvsd.ready();
          const pid = lvsd.pid;
          balancer = { name: 'lvsd', pids: () => [pid], threads: true };
          await wrk(t, v.url, false, () => [], 1).catch(() => null); // warm up (JIT, neighbours)
        } else if (v.kind === 'nft') {
          await t.ok('d', ['nft', '-f', nftOn]);
        } else if (v.kind === 'haproxy') {
          const pid = haproxy!.pid!;
          balancer = { name: 'haproxy', pids: () => [pid] };
        }
        const groups = (): CpuGroup[] => [...(balancer ? [balancer] : []), serverGroup];
        // lvsd's counters around each phase: frames per wake-up and per receive call, drops.
        const counters = async () => (lvsd ? ((await lvsd.cmd({ cmd: 'lvs' })).counters as Record<string, number>) : null);
        const ioOf = (a: Record<string, number> | null, b: Record<string, number> | null): IoFigures | undefined => {
          if (!a || !b) return undefined;
          const d = (k: string) => (b[k] ?? 0) - (a[k] ?? 0);
          return { frames: d('frames'), framesPerWakeup: d('frames') / Math.max(1, d('wakeups')), framesPerBatch: d('frames') / Math.max(1, d('rx_batches')), kernelDrops: d('rx_kernel_drops'), txShort: d('tx_short') };
        };
        try {
          const c0 = await counters();
          const keepalive = await wrk(t, v.url, false, groups);
          const c1 = await counters();
          keepalive.io = ioOf(c0, c1);
          const close = await wrk(t, v.url, true, groups);
          const c2 = await counters();
          close.io = ioOf(c1, c2);
          const u = v.udpDst ? await udp(t, v.udpDst, groups) : null;
          if (u) u.io = ioOf(c2, await counters());
          const s: Sample = { variant: v.name, rep, keepalive, close, udp: u };
          if (lvsd) {
            const st = await lvsd.cmd({ cmd: 'lvs' });
            const c = st.counters as Record<string, number>;
            s.note = ['table_full', 'no_neighbour', 'scratch_full', 'no_conn', 'rx_kernel_drops', 'tx_short'].filter((k) => c[k]).map((k) => `${k} ${c[k]}`).join(', ');
            if (c.wakeups) s.note += `${s.note ? ', ' : ''}frames/wakeup ${(c.frames! / c.wakeups).toFixed(1)}`;
            const sy = st.sync as { counters: Record<string, number>; workers: Record<string, number> } | null;
            if (sy) s.note += `${s.note ? ', ' : ''}sync ${sy.counters.messagesSent} messages, ${sy.counters.entriesSent} entries, ring full ${sy.workers.ring_full ?? 0}`;
          }
          samples.push(s);
          console.error(`[rep ${rep + 1}/${REPS}] ${v.name}: keep-alive ${keepalive.rps.toFixed(0)} req/s, close ${close.rps.toFixed(0)} conn/s, udp ${u ? u.pps.toFixed(0) : 'n/a'} pps${s.note ? ` (${s.note})` : ''}`);
        } finally {
          if (lvsd) {
            await lvsd.quit();
            await t.kill(lvsd.child);
            await t.addr('d', 'eth1', `${BENCH.gw}/24`);
          } else if (v.kind === 'nft') {
            await t.ok('d', ['nft', 'delete', 'table', 'ip', 'lvtbench']);
          }
        }
      }
    }
  } finally {
    if (haproxy) await t.kill(haproxy);
    for (const s of servers) await t.kill(s.child);
    await t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  let table: TableFigures | null = null;
  if (TABLE) {
    const k1 = measureConnTable(1000);
    const m1 = measureConnTable(1 << 20);
    const m1small = measureConnTable(1 << 20, 2_000_000, false);
    table = {
      k1, m1, m1small, floor1k: memoryFloor(k1.tableBytes), floor1m: memoryFloor(m1.tableBytes),
      latency1k: memoryLatency(k1.tableBytes), latency1m: memoryLatency(m1.tableBytes), latency1mSmall: memoryLatency(m1.tableBytes, 2_000_000, false),
    };
  }
  report(vs, samples, table);
}

interface TableFigures {
  k1: ConnTableFigures; m1: ConnTableFigures; m1small: ConnTableFigures;
  floor1k: number; floor1m: number; latency1k: number; latency1m: number; latency1mSmall: number;
}

function report(vs: Variant[], samples: Sample[], table: TableFigures | null): void {
  const med = (v: string, f: (s: Sample) => number | undefined) => median(samples.filter((s) => s.variant === v).map((s) => f(s) ?? NaN));
  const range = (v: string, f: (s: Sample) => number | undefined) => {
    const xs = samples.filter((s) => s.variant === v).map((s) => f(s) ?? NaN).filter(Number.isFinite);
    return xs.length ? `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}` : 'n/a';
  };
  const n = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const summary = vs.map((v) => ({
    variant: v.name,
    keepaliveRps: med(v.name, (s) => s.keepalive.rps), keepaliveRange: range(v.name, (s) => s.keepalive.rps),
    kaP50: med(v.name, (s) => s.keepalive.p50Ms), kaP90: med(v.name, (s) => s.keepalive.p90Ms), kaP99: med(v.name, (s) => s.keepalive.p99Ms),
    closeRps: med(v.name, (s) => s.close.rps), closeRange: range(v.name, (s) => s.close.rps),
    clP50: med(v.name, (s) => s.close.p50Ms), clP99: med(v.name, (s) => s.close.p99Ms),
    udpPps: med(v.name, (s) => s.udp?.pps), udpRange: range(v.name, (s) => s.udp?.pps),
    errors: samples.filter((s) => s.variant === v.name).reduce((a, s) => a + s.keepalive.errors + s.close.errors, 0),
  }));
  if (JSON_FILE) writeFileSync(JSON_FILE, JSON.stringify({ seconds: SECONDS, reps: REPS, connections: CONNS, server: SERVER, cpus: cpus().length, summary, samples, table }, null, 2));
  console.log(`\nforwarding bench: wrk -t2 -c${CONNS} -d${SECONDS}s from ${CLIENTS} client address(es), ${REPS} rotated repetitions (medians, min–max), 3 ${SERVER} real servers, ${cpus().length} vCPUs shared by everything\n`);
  console.log(`${'variant'.padEnd(22)} ${'keep-alive req/s'.padStart(24)} ${'p50/p90/p99 ms'.padStart(17)} ${'new conn/s'.padStart(20)} ${'p50/p99 ms'.padStart(12)} ${'64 B UDP pps'.padStart(24)} errors`);
  for (const s of summary) {
    console.log(`${s.variant.padEnd(22)} ${`${n(s.keepaliveRps)} (${s.keepaliveRange})`.padStart(24)} ${`${n(s.kaP50, 2)}/${n(s.kaP90, 2)}/${n(s.kaP99, 2)}`.padStart(17)} ` +
      `${`${n(s.closeRps)} (${s.closeRange})`.padStart(20)} ${`${n(s.clP50, 2)}/${n(s.clP99, 2)}`.padStart(12)} ${`${n(s.udpPps)} (${s.udpRange})`.padStart(24)} ${s.errors}`);
  }
  // Where the CPU went: medians over repetitions, % of one CPU.
  console.log(`\nCPU (% of one CPU, medians; machine columns are machine-wide and include other load):`);
  const groupsOf = (c: CpuReport) => ({ ...c.groups, ...c.threads });
  for (const phase of ['keepalive', 'close', 'udp'] as const) {
    for (const v of vs) {
      const reps = samples.filter((s) => s.variant === v.name).map((s) => (phase === 'udp' ? s.udp?.cpu : s[phase].cpu)).filter((c): c is CpuReport => !!c);
      if (!reps.length) continue;
      const keys = [...new Set(reps.flatMap((c) => Object.keys(groupsOf(c))))].filter((k) => !k.includes(':') || /lvsd:(main|lvsd-fwd)/.test(k));
      const cols = keys.map((k) => `${k.replace('lvsd:', '')} ${n(median(reps.map((c) => groupsOf(c)[k] ?? 0)))}`);
      const m = (f: (c: CpuReport) => number) => n(median(reps.map(f)));
      const ios = samples.filter((s) => s.variant === v.name).map((s) => (phase === 'udp' ? s.udp?.io : s[phase].io)).filter((x): x is IoFigures => !!x);
      const io = ios.length ? ` | frames/wakeup ${n(median(ios.map((x) => x.framesPerWakeup)), 1)}, frames/recv ${n(median(ios.map((x) => x.framesPerBatch)), 1)}, kernel drops ${n(median(ios.map((x) => x.kernelDrops)))}` : '';
      console.log(`  ${phase.padEnd(9)} ${v.name.padEnd(22)} ${cols.join(', ')} | softirq ${m((c) => c.machine.softirq)}, sys ${m((c) => c.machine.system)}, user ${m((c) => c.machine.user)}, idle ${m((c) => c.machine.idle)}${io}`);
    }
  }
  const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
  console.log('\nratios (medians):');
  const others = summary.filter((s) => !s.variant.startsWith('lvsd'));
  for (const l of summary.filter((s) => s.variant.startsWith('lvsd'))) {
    for (const o of others) {
      console.log(`  ${l.variant} / ${o.variant}: keep-alive ${ratio(l.keepaliveRps, o.keepaliveRps)}, new conn ${ratio(l.closeRps, o.closeRps)}, UDP ${ratio(l.udpPps, o.udpPps)}, keep-alive p99 ${ratio(l.kaP99, o.kaP99)}`);
    }
  }
  const nft = summary.find((s) => s.variant === 'nftables DNAT');
  const ha = summary.find((s) => s.variant === 'HAProxy (tcp)');
  for (const l of summary.filter((s) => s.variant.startsWith('lvsd'))) {
    const t = (a: number, b: number | undefined, k: number) => (b ? `${(a / b).toFixed(2)}× (target ≥ ${k}×: ${a / b >= k ? 'met' : 'not met'})` : 'n/a');
    console.log(`  targets, ${l.variant}: vs nftables keep-alive ${t(l.keepaliveRps, nft?.keepaliveRps, 0.75)}, new conn ${t(l.closeRps, nft?.closeRps, 0.75)}; ` +
      `vs HAProxy keep-alive ${t(l.keepaliveRps, ha?.keepaliveRps, 1.5)}, new conn ${t(l.closeRps, ha?.closeRps, 1.5)}`);
  }
  if (table) {
    const { k1, m1, m1small } = table;
    console.log(`\nconnection table: ${m1.bytesPerEntry.toFixed(0)} B/entry by layout at 1 M (${m1.measuredBytesPerEntry.toFixed(0)} B measured growth; target ≤ 200 B); huge pages: ${m1.hugePages}`);
    console.log(`  lookup of random existing keys: ${k1.lookupNs.toFixed(0)} ns at 1 k, ${m1.lookupNs.toFixed(0)} ns at 1 M on huge pages (${m1small.lookupNs.toFixed(0)} ns on 4 KiB pages); ` +
      `flow-ordered (each key 8 times in a row, as a flow's packets come) ${k1.localNs.toFixed(0)} ns at 1 k, ${m1.localNs.toFixed(0)} ns at 1 M; insert ${m1.insertNs.toFixed(0)} ns at 1 M`);
    console.log(`  memory floor over a same-sized typed array: one dependent read (latency) ${table.latency1k.toFixed(1)} ns at 1 k, ${table.latency1m.toFixed(0)} ns at 1 M ` +
      `(${table.latency1mSmall.toFixed(0)} ns on 4 KiB pages); independent random reads ${table.floor1k.toFixed(1)} ns at 1 k, ${table.floor1m.toFixed(1)} ns at 1 M. ` +
      `A hit reads an index slot, then its record: two dependent accesses, floor ${(2 * table.latency1m).toFixed(0)} ns at 1 M.`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
