/**
 * Connection sync inside a worker, on two in-process pipelines of the standard topology:
 * the master's pipeline reports connections into its ring as ip_vs_sync_conn decides; the
 * entries are applied to the backup's pipeline as ip_vs_proc_conn does; the backup then
 * forwards the same connections (same real server, replies to the client's MAC) without a
 * reset. A manual tick clock throughout.
 */
import { test } from 'node:test';
import { PerformanceObserver } from 'node:perf_hooks';
import assert from 'node:assert/strict';
import { A_DROP, A_TX } from '../../../src/forward/pipeline.js';
import { STRIDE, CONTROL, DEADLINE, DEST, FLAGS, F_INACTIVE, F_NOOUTPUT, F_TEMPLATE, PORTS_D } from '../../../src/forward/conn-table.js';
import { TCP_STATE_NAMES } from '../../../src/forward/proto/tcp.js';
import { WorkerSync } from '../../../src/sync/worker-sync.js';
import { SyncRing, WORKER_SYNC_COUNTERS } from '../../../src/sync/ring.js';
import {
  createSyncEntry, readEntry, writeEntry, type SyncEntry, IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_TEMPLATE, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_NOOUTPUT,
} from '../../../src/sync/codec.js';
import { DEFAULT_SYNC_RULES } from '../../../src/sync/rules.js';
import { frame, mac } from '../forward/lib/frames.js';
import { CLIENT, MAC, Runner, TUN_MAC, standardPipeline, standardSpec, tunPipeline } from '../forward/lib/topo.js';
import type { ModelSpec } from '../forward/lib/model.js';

const VIP = '198.18.0.10';
const ip4 = (s: string) => s.split('.').reduce((a, x) => ((a << 8) | Number(x)) >>> 0, 0);

function node(spec?: ModelSpec, master = true) {
  const { pl } = standardPipeline(spec);
  const ring = SyncRing.create(1024);
  const ws = new WorkerSync(pl, { ring: ring.sab, master, rules: DEFAULT_SYNC_RULES });
  pl.syncSink = ws;
  return { pl, ws, ring, run: new Runner(pl) };
}

const counters = (r: SyncRing) => Object.fromEntries(WORKER_SYNC_COUNTERS.map((n, i) => [n, r.counters[i]!]).filter(([, v]) => v !== 0));

/** Takes the ring's entries, decoded (copies), and the batch the main thread would post to a worker. */
function take(ring: SyncRing): { entries: SyncEntry[]; batch: Uint8Array } {
  const parts: Uint8Array[] = [];
  ring.drain((b, off, len) => {
    const p = new Uint8Array((len + 3) & ~3);
    p.set(b.subarray(off, off + len));
    parts.push(p);
  });
  const batch = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  const entries: SyncEntry[] = [];
  for (const p of parts) {
    batch.set(p, at);
    const e = createSyncEntry();
    assert.ok(readEntry(new DataView(p.buffer), 0, p.length, e).ok);
    entries.push(e);
    at += p.length;
  }
  return { entries, batch };
}

const fromClient = (sport: number, flags: string, seq = 2, vip = VIP, payload: number[] = [1, 2, 3]) =>
  frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: vip, l4: { proto: 'tcp', sport, dport: 80, flags, seq, ack: 1, payload: flags.includes('S') ? [] : payload } });
const fromReal = (rs: string, rsMac: string, dport: number, flags: string, rport = 8080) =>
  frame({ dstMac: MAC.eth1, srcMac: rsMac, src: rs, dst: CLIENT, l4: { proto: 'tcp', sport: rport, dport, flags, seq: 9, ack: 2, payload: flags.includes('S') ? [] : [4, 5] } });

/** Opens a NAT connection through a node: SYN, SYN-ACK, ACK; returns the real server it went to. */
function handshake(n: ReturnType<typeof node>, sport: number, now = 1): { rs: string; rsMac: string } {
  const syn = n.run.run(fromClient(sport, 'S', 1), 0, now);
  assert.equal(syn.action, A_TX);
  const rsMacBytes = [...syn.out!.subarray(0, 6)];
  const rs11 = mac(MAC.rs11).every((b, i) => b === rsMacBytes[i]);
  const rs = rs11 ? '198.18.1.11' : '198.18.1.12';
  const rsMac = rs11 ? MAC.rs11 : MAC.rs12;
  assert.equal(n.run.run(fromReal(rs, rsMac, sport, 'SA'), 1, now).action, A_TX);
  assert.equal(n.run.run(fromClient(sport, 'A'), 0, now).action, A_TX);
  return { rs, rsMac };
}

test('master: a connection is reported at its 3rd client packet (ESTABLISHED), every 50 packets, and at once on each closing state', () => {
  const a = node();
  const { rs } = handshake(a, 40000);
  assert.equal(a.ring.pending, 0, 'SYN and ACK: not yet (SYN_RECV not synced, ESTABLISHED waits for the threshold)');
  a.run.run(fromClient(40000, 'PA'), 0, 2);
  const first = take(a.ring).entries;
  assert.equal(first.length, 1);
  const e = first[0]!;
  assert.equal(TCP_STATE_NAMES[e.state], 'ESTABLISHED');
  assert.equal(e.flags & IP_VS_CONN_F_INACTIVE, 0, 'active');
  assert.equal(e.flags & 7, 0, 'IP_VS_CONN_F_MASQ');
  assert.deepEqual([e.caddr[0], e.cport, e.vaddr[0], e.vport, e.daddr[0], e.dport], [ip4(CLIENT), 40000, ip4(VIP), 80, ip4(rs), 8080]);
  assert.equal(e.timeoutS, 900, 'cp->timeout: the ESTABLISHED timeout');
  assert.ok(e.hasMac, 'lvsd sends the client-side MAC');
  assert.deepEqual([e.macHi, e.macLo], [0x0200, 0x000000fe]);
  for (let i = 0; i < 49; i++) a.run.run(fromClient(40000, 'PA'), 0, 3);
  assert.equal(a.ring.pending, 0, 'packets 4..52: nothing');
  a.run.run(fromClient(40000, 'PA'), 0, 3);
  assert.equal(take(a.ring).entries.length, 1, 'packet 53');
  a.run.run(fromClient(40000, 'FA'), 0, 4);
  const fin = take(a.ring).entries;
  assert.equal(fin.length, 1);
  assert.equal(TCP_STATE_NAMES[fin[0]!.state], 'CLOSE_WAIT');
  assert.equal(fin[0]!.timeoutS, 60);
  assert.equal(counters(a.ring).entries_recorded, 3);
});

test('backup: a synced connection is inserted bound to the same real server, active, with the master\'s timeout, and forwarded without a reset', () => {
  const a = node();
  const b = node(undefined, false);
  const { rs, rsMac } = handshake(a, 40001);
  a.run.run(fromClient(40001, 'PA'), 0, 2);
  const { batch } = take(a.ring);
  b.ws.apply(batch, 100);
  assert.deepEqual(counters(b.ring), { conns_inserted: 1 });
  const rows = b.pl.listConns();
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.state, 'ESTABLISHED');
  assert.equal(rows[0]!.destination, `${rs}:8080`);
  // Not expired faster than the master would: 900 s from the sync (ip_vs_proc_conn sets cp->timeout).
  const e = b.pl.conns.e;
  let r = -1;
  b.pl.conns.forEach((x) => { r = x; });
  assert.equal(e[r * STRIDE + DEADLINE]! - 100, 9000);
  const d = b.pl.destTable.list[e[r * STRIDE + DEST]!]!;
  assert.deepEqual([d.activeConns, d.inactiveConns], [1, 0], 'counted active (the entry was not INACTIVE)');
  // The backup takes over: the client's next packet goes to the same real server, not a RST.
  const cont = b.run.run(fromClient(40001, 'PA', 5), 0, 101);
  assert.equal(cont.action, A_TX);
  assert.deepEqual([...cont.out!.subarray(0, 6)], mac(rsMac), 'to the same real server');
  // The real server's reply goes to the MAC the client's frames came from on the master.
  const reply = b.run.run(fromReal(rs, rsMac, 40001, 'PA'), 1, 101);
  assert.equal(reply.action, A_TX);
  assert.deepEqual([...reply.out!.subarray(0, 6)], mac(MAC.router));
  assert.equal(b.pl.counters().rsts_sent, 0);
});

test('backup: an update moves state, activity and timeout; a FIN state shortens the deadline', () => {
  const a = node();
  const b = node(undefined, false);
  handshake(a, 40002);
  a.run.run(fromClient(40002, 'PA'), 0, 2);
  b.ws.apply(take(a.ring).batch, 10);
  a.run.run(fromClient(40002, 'FA'), 0, 3);
  b.ws.apply(take(a.ring).batch, 20);
  assert.deepEqual(counters(b.ring), { conns_inserted: 1, updated: 1 });
  let r = -1;
  b.pl.conns.forEach((x) => { r = x; });
  const e = b.pl.conns.e;
  assert.equal(TCP_STATE_NAMES[e[r * STRIDE + PORTS_D]! & 255], 'CLOSE_WAIT');
  assert.equal(e[r * STRIDE + DEADLINE], 20 + 600);
  const d = b.pl.destTable.list[e[r * STRIDE + DEST]!]!;
  assert.deepEqual([d.activeConns, d.inactiveConns], [0, 1], 'CLOSE_WAIT is inactive: the counts moved with the flag');
  assert.ok(e[r * STRIDE + FLAGS]! & F_INACTIVE);
  // The backup expires it on the entry's timeout.
  b.pl.advance(20 + 600 + 1);
  assert.equal(b.pl.conns.conns, 0);
});

/** One synced connection entry for the backup, built by hand. */
function manual(o: Partial<SyncEntry> & { rs?: string; dport?: number; sport?: number; vip?: string; client?: string }): Uint8Array {
  const e = createSyncEntry();
  Object.assign(e, { fam: 4, proto: 6, flags: 0, state: 1, cport: o.sport ?? 41000, vport: 80, dport: o.dport ?? 8080, timeoutS: 900, ...o });
  e.caddr[0] = ip4(o.client ?? CLIENT);
  e.vaddr[0] = ip4(o.vip ?? VIP);
  e.daddr[0] = ip4(o.rs ?? '198.18.1.11');
  const buf = new Uint8Array(96);
  const n = writeEntry(new DataView(buf.buffer), 0, e);
  return buf.slice(0, (n + 3) & ~3);
}

test('backup: a connection moved to another real server is replaced; the late INACTIVE report of the old one is ignored (ip_vs_proc_conn)', () => {
  const b = node(undefined, false);
  b.ws.apply(manual({ rs: '198.18.1.11' }), 1);
  b.ws.apply(manual({ rs: '198.18.1.12' }), 2);
  assert.equal(b.pl.listConns()[0]!.destination, '198.18.1.12:8080');
  b.ws.apply(manual({ rs: '198.18.1.11', flags: IP_VS_CONN_F_INACTIVE, state: 5 }), 3);
  assert.equal(b.pl.listConns()[0]!.destination, '198.18.1.12:8080');
  assert.equal(b.pl.listConns()[0]!.state, 'ESTABLISHED');
  assert.deepEqual(counters(b.ring), { conns_inserted: 2, replaced: 1, stale: 1 });
  assert.equal(b.pl.conns.conns, 1);
});

test('backup: no such service or real server here: not inserted, counted', () => {
  const b = node(undefined, false);
  b.ws.apply(manual({ vip: '198.18.0.99' }), 1);
  b.ws.apply(manual({ rs: '198.18.1.77' }), 1);
  b.ws.apply(manual({ dport: 9999 }), 1);
  assert.deepEqual(counters(b.ring), { no_service: 1, no_dest: 2 });
  assert.equal(b.pl.conns.conns, 0);
});

test('backup: the forwarding method comes from the real server here (ip_vs_bind_dest), DR gets NOOUTPUT', () => {
  const b = node(undefined, false);
  // A DR entry (as a kernel master with DR would send) for the DR service of the topology.
  b.ws.apply(manual({ vip: '198.18.0.11', rs: '198.18.1.21', dport: 80, flags: IP_VS_CONN_F_DROUTE | IP_VS_CONN_F_NOOUTPUT }), 1);
  // A MASQ-flagged entry for the same kind of service: the dest's DR wins.
  b.ws.apply(manual({ vip: '198.18.0.11', rs: '198.18.1.21', dport: 80, sport: 41001 }), 1);
  const rows = b.pl.listConns();
  assert.deepEqual(rows.map((r) => r.method), ['Route', 'Route']);
  b.pl.conns.forEach((r) => assert.ok(b.pl.conns.e[r * STRIDE + FLAGS]! & F_NOOUTPUT));
});

test('backup: a version 0 entry (timeout 0) gets the state\'s timeout; a template without one 3 minutes', () => {
  const b = node(undefined, false);
  b.ws.apply(manual({ timeoutS: 0, state: 4 }), 10);
  let r = -1;
  b.pl.conns.forEach((x) => { r = x; });
  assert.equal(b.pl.conns.e[r * STRIDE + DEADLINE], 10 + 1200, 'FIN_WAIT: 120 s');
  const p = node(persistentSpec(), false);
  p.ws.apply(manual({ flags: IP_VS_CONN_F_TEMPLATE, cport: 0, state: 0, timeoutS: 0 }), 10);
  let t = -1;
  p.pl.conns.forEach((x) => { t = x; });
  assert.equal(p.pl.conns.templates, 1);
  assert.equal(p.pl.conns.e[t * STRIDE + DEADLINE], 10 + 1800, '3 min');
});

test('backup: an entry without the client MAC (a kernel master): replies wait for the client\'s next packet, which gives it', () => {
  const b = node(undefined, false);
  b.ws.apply(manual({ sport: 41002 }), 1);
  const early = b.run.run(fromReal('198.18.1.11', MAC.rs11, 41002, 'PA'), 1, 2);
  assert.equal(early.action, A_DROP);
  assert.equal(b.pl.counters().no_client_mac, 1);
  assert.equal(b.run.run(fromClient(41002, 'PA', 5), 0, 2).action, A_TX);
  assert.deepEqual(counters(b.ring), { conns_inserted: 1 });
  assert.equal(b.pl.counters().client_mac_learnt, 1);
  const reply = b.run.run(fromReal('198.18.1.11', MAC.rs11, 41002, 'PA'), 1, 3);
  assert.equal(reply.action, A_TX);
  assert.deepEqual([...reply.out!.subarray(0, 6)], mac(MAC.router));
});

/** Entries as one worker batch (each 4-byte aligned). */
function batchOf(list: SyncEntry[]): Uint8Array {
  const buf = new Uint8Array(list.length * 84);
  const dv = new DataView(buf.buffer);
  let at = 0;
  for (const e of list) at += (writeEntry(dv, at, e) + 3) & ~3;
  return buf.slice(0, at);
}

function persistentSpec(): ModelSpec {
  const s = standardSpec();
  s.services[0] = { ...s.services[0]!, persistenceTimeoutS: 300, persistenceGranularity: 24 };
  return s;
}

test('persistence: the template is reported with each report of its connection and restored on the backup, linked; a new connection of the client keeps its real server', () => {
  const a = node(persistentSpec());
  const b = node(persistentSpec(), false);
  const { rs } = handshake(a, 42000);
  a.run.run(fromClient(42000, 'PA'), 0, 2);
  const { entries } = take(a.ring);
  // SYN, ACK, data: the template is reported with each (sync_period > 0: ip_vs_sync_conn_needed
  // skips the period for templates), the connection at the data packet, before its template.
  assert.deepEqual(entries.map((e) => (e.flags & IP_VS_CONN_F_TEMPLATE ? 'T' : 'C')).join(''), 'TTCT');
  const t = entries[3]!;
  assert.deepEqual([t.caddr[0], t.cport, t.vaddr[0], t.vport, t.timeoutS], [ip4('198.18.100.0'), 0, ip4(VIP), 80, 300]);
  assert.equal(t.hasMac, false);
  a.run.run(fromClient(42000, 'PA'), 0, 2);
  assert.equal(take(a.ring).entries.length, 1, 'the next packet: the template only');
  // The backup gets them as the main thread batches them for a worker: templates first.
  const tmplFirst = batchOf([t, entries[2]!]);
  b.ws.apply(tmplFirst, 5);
  assert.deepEqual(counters(b.ring), { templates_inserted: 1, conns_inserted: 1, linked: 1 });
  const rows = b.pl.listConns();
  assert.equal(rows.filter((x) => x.template).length, 1);
  let linked = 0;
  b.pl.conns.forEach((x) => { if (b.pl.conns.e[x * STRIDE + CONTROL]! > 0 && !(b.pl.conns.e[x * STRIDE + FLAGS]! & F_TEMPLATE)) linked++; });
  assert.equal(linked, 1, 'the synced connection is controlled by the synced template');
  // A new connection from the same client network on the backup (now MASTER) goes to the same real server.
  for (let i = 0; i < 5; i++) {
    const syn = b.run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: '198.18.100.9', dst: VIP, l4: { proto: 'tcp', sport: 43000 + i, dport: 80, flags: 'S', seq: 1 } }), 0, 6);
    assert.equal(syn.action, A_TX);
    assert.deepEqual([...syn.out!.subarray(0, 6)], mac(rs === '198.18.1.11' ? MAC.rs11 : MAC.rs12));
  }
  // Linked: the template is not expired while the synced connection lives.
  b.pl.advance(5 + 3000 + 10);
  assert.equal(b.pl.conns.templates, 1);
});

test('the master\'s per-packet sync path does not allocate: no GC and a flat heap over 100,000 client packets (connections and templates reported)', async () => {
  const a = node(persistentSpec());
  const ports = [44000, 44001, 44002, 44003];
  for (const p of ports) handshake(a, p);
  // IPv4 NAT to a persistent service (its template is reported with every packet), and DR.
  const frames = [...ports.map((p) => Uint8Array.from(fromClient(p, 'PA'))), Uint8Array.from(fromClient(44010, 'S', 1, '198.18.0.11'))];
  a.run.run(fromClient(44010, 'S', 1, '198.18.0.11'), 0, 2);
  frames[frames.length - 1] = Uint8Array.from(fromClient(44010, 'PA', 2, '198.18.0.11'));
  const buf = a.run.buf;
  const noop = () => {};
  const once = (n: number) => {
    for (let i = 0; i < n; i++) {
      const f = frames[i % frames.length]!;
      a.pl.resetScratch();
      buf.set(f, 0);
      a.pl.process(buf, 0, f.length, false, 0, 2);
      if ((i & 511) === 0) a.ring.drain(noop);
    }
  };
  once(50_000);
  const recordedBefore = a.ring.counters[0]!;
  let gcs = 0;
  const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  try {
    let clean = false;
    let last = '';
    for (let attempt = 0; attempt < 3 && !clean; attempt++) {
      await new Promise((r) => setTimeout(r, 5));
      gcs = 0;
      const before = process.memoryUsage().heapUsed;
      once(100_000);
      const grew = process.memoryUsage().heapUsed - before;
      await new Promise((r) => setTimeout(r, 5));
      clean = gcs === 0 && grew < 64 * 1024;
      last = `${gcs} GC(s), heap +${grew} bytes`;
    }
    assert.ok(clean, `${last} over 100,000 packets`);
  } finally {
    obs.disconnect();
  }
  assert.ok(a.ring.counters[0]! - recordedBefore > 50_000, 'entries were recorded while measuring');
});

test('backup: a template for the same client on another real server replaces the old one (the master made a new one after invalidating it)', () => {
  const b = node(persistentSpec(), false);
  const tmpl = (rs: string) => manual({ flags: IP_VS_CONN_F_TEMPLATE, sport: 0, state: 0, timeoutS: 300, rs, client: '198.18.100.0' });
  b.ws.apply(tmpl('198.18.1.11'), 1);
  b.ws.apply(tmpl('198.18.1.11'), 2);
  assert.deepEqual(counters(b.ring), { templates_inserted: 1, updated: 1 });
  b.ws.apply(tmpl('198.18.1.12'), 3);
  assert.deepEqual(counters(b.ring), { templates_inserted: 2, updated: 1, replaced: 1 });
  // New connections of that client network go where the master sends them now.
  for (let i = 0; i < 4; i++) {
    const syn = b.run.run(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst: VIP, l4: { proto: 'tcp', sport: 45000 + i, dport: 80, flags: 'S', seq: 1 } }), 0, 4);
    assert.deepEqual([...syn.out!.subarray(0, 6)], mac(MAC.rs12));
  }
});

test('master: TUN connections are reported as TUNNEL, except to a real server of the other family (an entry has one address family)', () => {
  const pl = tunPipeline();
  const ring = SyncRing.create(1024);
  pl.syncSink = new WorkerSync(pl, { ring: ring.sab, master: true, rules: DEFAULT_SYNC_RULES });
  const run = new Runner(pl);
  const send = (dst: string, sport: number, flags: string) =>
    run.run(frame({ dstMac: TUN_MAC.eth0, srcMac: TUN_MAC.router, src: CLIENT, dst, l4: { proto: 'tcp', sport, dport: 80, flags, seq: 1, ack: 1, payload: flags === 'S' ? [] : [1] } }), 0, 1);
  // Three client packets: the connection reaches the threshold (DR-like input-only tracking).
  for (const f of ['S', 'A', 'PA']) assert.equal(send('198.18.0.12', 44000, f).action, A_TX);
  for (const f of ['S', 'A', 'PA']) assert.equal(send('198.18.0.17', 44001, f).action, A_TX, 'IPv4 inside IPv6 is forwarded');
  const { entries } = take(ring);
  assert.equal(entries.length, 1, 'only the same-family connection');
  const e = entries[0]!;
  assert.equal(e.fam, 4);
  assert.equal(e.flags & 7, 2, 'IP_VS_CONN_F_TUNNEL');
  assert.ok([ip4('198.18.1.41'), ip4('198.18.1.42')].includes(e.daddr[0]!), 'a real server of the service');
  assert.deepEqual([e.caddr[0], e.vaddr[0], e.vport], [ip4(CLIENT), ip4('198.18.0.12'), 80]);
  assert.deepEqual(counters(ring), { entries_recorded: 1, unsupported_family: 1 });
});
