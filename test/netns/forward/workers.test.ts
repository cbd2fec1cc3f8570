/**
 * Two forwarding workers behind a PACKET_FANOUT_CBPF program (src/forward/fanout-program.ts)
 * in real namespaces: 48 client addresses → VIP:80 (NAT, rr, persistent) and VIP:81 (NAT, rr)
 * → three Node HTTP real servers. Every request is answered (NAT replies reach the worker
 * that holds the connection), each client stays on one real server (its template and its
 * connections share a worker), both workers carry clients, each connection sits on the
 * worker that fanoutWorker() predicts (so `trace` asks the right one), and the counters and
 * the connection listing add up across workers.
 *
 *   c (198.18.0.100-147) ── d:eth0 [VIP .10] ── director (2 workers) ── d:eth1 [gw .1] ── switch ── r1 r2 r3 (198.18.1.11-13:8080)
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
import { fanoutSpec, fanoutWorker } from '../../../src/forward/fanout-program.js';
import { parseIPv4 } from '../../../src/lib/ip.js';

const SERVER = fileURLToPath(new URL('./fixtures/http-name.mjs', import.meta.url));
const skip = !canUseNetns() && 'needs root and iproute2';
const t = new Topology('perf');
const dir = mkdtempSync(join(tmpdir(), 'lvt-perf-'));
let d: Director;
const CLIENTS = Array.from({ length: 48 }, (_, i) => `198.18.0.${100 + i}`);
const NAME_OF: Record<string, string> = { '198.18.1.11:8080': 'r1', '198.18.1.12:8080': 'r2', '198.18.1.13:8080': 'r3' };

const base = makeModel({
  services: [
    { match: { kind: 'addr', address: '198.18.0.10', port: 80 }, method: 'NAT', scheduler: 'rr', interface: 'eth0', persistenceTimeoutS: 300,
      reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.12', port: 8080 }, { address: '198.18.1.13', port: 8080 }] },
    { match: { kind: 'addr', address: '198.18.0.10', port: 81 }, method: 'NAT', scheduler: 'rr', interface: 'eth0',
      reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.12', port: 8080 }, { address: '198.18.1.13', port: 8080 }] },
  ],
  coreVips: [{ address: '198.18.0.10', interface: 'eth0' }, { address: '198.18.1.1', interface: 'eth1' }],
});
const model = { ...base, global: { ...base.global, forwardingWorkers: 2 } };

async function get(src: string, port: number): Promise<string> {
  const r = await t.exec('c', ['curl', '-s', '--max-time', '4', '--interface', src, `http://198.18.0.10:${port}/`], 10_000);
  if (r.code !== 0) assert.fail(`curl from ${src} to :${port} failed (${r.code}): ${r.stderr}\n${await why(src)}`);
  return r.stdout.trim();
}

/** What the director knows when a request failed: its non-zero counters and the client's connections. */
async function why(src: string): Promise<string> {
  const res = (await d.cmd({ cmd: 'lvs', conns: true })).result as { counters: Record<string, number>; conns: { source: string }[] };
  const counters = Object.entries(res.counters).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`).join(' ');
  const conns = res.conns.filter((c) => c.source.startsWith(`${src}:`)).map((c) => JSON.stringify(c)).join('\n');
  return `counters: ${counters}\nconnections of ${src}:\n${conns}`;
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
    await t.addr(r, 'eth0', `198.18.1.${11 + i}/24`);
    await t.ok(r, ['ip', 'route', 'add', 'default', 'via', '198.18.1.1']);
    t.spawn(r, [process.execPath, SERVER, r, `198.18.1.${11 + i}`, '8080']);
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

test('two workers: replies, persistence, placement, trace and aggregated counters', { skip }, async () => {
  const started = d.events.find((e) => e.type === 'forward.started');
  assert.equal(started?.workers, 2, 'two workers started');
  // Each client: three persistent requests and two plain ones, eight clients at a time.
  const servedBy = new Map<string, string>();
  for (let i = 0; i < CLIENTS.length; i += 8) {
    await Promise.all(CLIENTS.slice(i, i + 8).map(async (c) => {
      const names = [await get(c, 80), await get(c, 80), await get(c, 80)];
      assert.ok(names.every((n) => /^r[123]$/.test(n)), `answers ${names.join(',')}`);
      assert.equal(new Set(names).size, 1, `${c} kept one real server: ${names.join(',')}`);
      servedBy.set(c, names[0]!);
      for (const n of [await get(c, 81), await get(c, 81)]) assert.match(n, /^r[123]$/);
    }));
  }
  assert.ok(new Set(servedBy.values()).size > 1, 'clients spread over real servers');

  const res = (await d.cmd({ cmd: 'lvs', conns: true })).result as {
    services: { key: string; stats: { conns: number } }[];
    conns: { source: string; virtual: string; destination: string; template: boolean; worker: number }[];
    connsTotal: number;
  };
  assert.equal(res.services.find((s) => s.key === 'tcp:198.18.0.10:80')!.stats.conns, CLIENTS.length * 3, 'port 80 connections, summed over workers');
  assert.equal(res.services.find((s) => s.key === 'tcp:198.18.0.10:81')!.stats.conns, CLIENTS.length * 2, 'port 81 connections');
  assert.equal(res.conns.length, res.connsTotal, 'the listing holds every worker\'s records');
  const spec = fanoutSpec(model);
  const perWorker = [0, 0];
  for (const c of res.conns) {
    const client = c.source.replace(/:\d+$/, '');
    const want = fanoutWorker(spec, 4, [parseIPv4(client)! >>> 0], 2);
    assert.equal(c.worker, want, `${c.template ? 'template' : 'connection'} of ${client} on worker ${c.worker}, program says ${want}`);
    perWorker[c.worker]!++;
    if (c.template) assert.equal(NAME_OF[c.destination], servedBy.get(client), `template of ${client}`);
  }
  assert.ok(perWorker[0]! > 0 && perWorker[1]! > 0, `both workers hold connections: ${perWorker.join(' / ')}`);
  assert.equal(res.conns.filter((c) => c.template).length, CLIENTS.length, 'one template per client');

  // trace asks the worker that owns the client: the template is found there.
  for (const c of CLIENTS.slice(0, 6)) {
    const tr = (await d.cmd({ cmd: 'trace', flow: `tcp ${c}:40000 198.18.0.10:80` })).result as { persistence: { hit: boolean; dest: string | null } | null; dest: string | null };
    assert.equal(tr.persistence?.hit, true, `trace of ${c} finds its template`);
    assert.equal(NAME_OF[tr.dest ?? ''], servedBy.get(c), `trace of ${c} names its real server`);
  }
});

test('one client port reused towards :80 and then :81 (the earlier connections still in the table): every reply comes from the VIP:port asked', { skip }, async () => {
  // Each connection ends with an RST (SO_LINGER 0), so the client can bind the same port again
  // at once while the director still holds the closed connections: with rr over three real
  // servers, some :81 connection has the same RIP:rport → CIP:cport reply tuple as an earlier one.
  const src = '198.18.0.147';
  const py = `
import socket, sys, struct
out = []
for vport in (80, 81, 81, 81, 80):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.settimeout(3)
    s.bind(('${src}', 47123))
    try:
        s.connect(('198.18.0.10', vport))
        s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')
        data = b''
        while not data.endswith(b'\\n') or b'\\r\\n\\r\\n' not in data:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
        out.append('%d=%s' % (vport, data.split(b'\\r\\n\\r\\n', 1)[1].decode().strip()))
    except OSError as e:
        out.append('%d=error:%s' % (vport, e))
    s.close()
print(' '.join(out))
`;
  const r = await t.exec('c', ['python3', '-c', py], 30_000);
  assert.equal(r.code, 0, r.stderr);
  const answers = r.stdout.trim().split(' ');
  assert.equal(answers.length, 5, r.stdout);
  for (const a of answers) assert.match(a, /^8[01]=r[123]$/, `every connection answered: ${r.stdout.trim()}`);
  const on81 = answers.filter((a) => a.startsWith('81=')).map((a) => a.slice(3));
  assert.equal(new Set(on81).size, 3, `rr over three real servers on :81: ${on81.join(',')}`);
});
