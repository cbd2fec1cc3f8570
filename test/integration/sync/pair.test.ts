/**
 * Two directors' connection sync in process: each a SyncSubsystem over an in-memory
 * multicast segment (MemorySyncNet), driving real Pipelines with their WorkerSync (the
 * worker side) through a forward double, VRRP transitions as bus events, a manual clock.
 * Checks the roles keepalived gives the sync daemons, the batching and flush timing, that
 * the BACKUP's tables hold the MASTER's connections, that the roles swap back, and the
 * drop counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/events/bus.js';
import type { LvsdEvent } from '../../../src/events/types.js';
import { CommandRegistry } from '../../../src/control/registry.js';
import { ManualClock } from '../../../src/lib/clock.js';
import type { LvsSyncDaemon, Model } from '../../../src/model/types.js';
import type { ChangeSet } from '../../../src/model/changes.js';
import { SyncSubsystem, type SyncForwardPort, type SyncStatus } from '../../../src/sync/subsystem.js';
import { MemorySyncNet } from '../../../src/sync/ports.js';
import { WorkerSync } from '../../../src/sync/worker-sync.js';
import type { SyncRules } from '../../../src/sync/rules.js';
import { fanoutSpec, fanoutWorker } from '../../../src/forward/fanout-program.js';
import { A_TX, type Pipeline } from '../../../src/forward/pipeline.js';
import { frame } from '../../unit/forward/lib/frames.js';
import { MAC, Runner, standardPipeline, standardSpec } from '../../unit/forward/lib/topo.js';
import { makeModel } from '../../unit/forward/lib/model.js';

const VIP = '198.18.0.10';

/** The forwarding subsystem as sync sees it: N in-process pipelines (the "workers"). */
class ForwardDouble implements SyncForwardPort {
  readonly pipelines: Pipeline[];
  readonly runners: Runner[];
  readonly syncs: (WorkerSync | null)[];
  currentModel: Model;
  now = 1;
  constructor(n: number, model: Model) {
    this.pipelines = Array.from({ length: n }, () => standardPipeline().pl);
    this.runners = this.pipelines.map((p) => new Runner(p));
    this.syncs = this.pipelines.map(() => null);
    this.currentModel = model;
  }
  get workerCount(): number {
    return this.pipelines.length;
  }
  setSync(s: { readonly rings: readonly SharedArrayBuffer[]; readonly master: boolean; readonly rules: SyncRules } | null): void {
    this.pipelines.forEach((pl, i) => {
      const ring = s?.rings[i];
      const cur = this.syncs[i];
      if (!s || !ring) { this.syncs[i] = null; pl.syncSink = null; return; }
      if (cur && cur.ring.sab === ring) { cur.set({ ring, master: s.master, rules: s.rules }); return; }
      const ws = new WorkerSync(pl, { ring, master: s.master, rules: s.rules });
      this.syncs[i] = ws;
      pl.syncSink = ws;
    });
  }
  postSyncEntries(index: number, bytes: Uint8Array): boolean {
    const ws = this.syncs[index];
    if (!ws) return false;
    ws.apply(bytes, this.now);
    return true;
  }
  /** The worker a client's frames reach (the fanout program's choice). */
  workerOf(client: string): number {
    const w = client.split('.').reduce((a, x) => ((a << 8) | Number(x)) >>> 0, 0);
    return fanoutWorker(fanoutSpec(this.currentModel), 4, [w], this.pipelines.length);
  }
  conns(): number {
    return this.pipelines.reduce((s, p) => s + p.conns.conns, 0);
  }
}

const CFG: LvsSyncDaemon = { interface: 'eth1', instance: 'VI_1', syncId: 51, maxLen: null, group: '224.0.0.81', family: 'ipv4', port: 8848, ttl: 1 };

function model(cfg: LvsSyncDaemon | null): Model {
  const m = makeModel(standardSpec());
  return { ...m, global: { ...m.global, lvsSyncDaemon: cfg } };
}

function director(net: MemorySyncNet, clock: ManualClock, name: string, o: { cfg?: LvsSyncDaemon | null; workers?: number } = {}) {
  const bus = new EventBus();
  const events: LvsdEvent[] = [];
  bus.onAny((e) => events.push(e));
  const m = model(o.cfg === undefined ? CFG : o.cfg);
  const fwd = new ForwardDouble(o.workers ?? 1, m);
  const sync = new SyncSubsystem({ bus, registry: new CommandRegistry(), forward: fwd, sockets: net.port(name), clock });
  const vrrp = (to: 'MASTER' | 'BACKUP' | 'FAULT', from = 'BACKUP') =>
    bus.emit({ type: 'vrrp.transition', instance: 'VI_1', from: from as 'BACKUP', to, reason: 'master_down_timer', priority: 100, masterAddress: null });
  return { bus, events, fwd, sync, vrrp, model: m, roles: () => events.filter((e) => e.type === 'sync.role').map((e) => (e as { to: string }).to) };
}

/** Opens a NAT connection on a director's worker w and sends `extra` data packets: ESTABLISHED and reported at packet 3. */
function connect(fwd: ForwardDouble, client: string, sport: number, extra = 1): void {
  const w = fwd.workerOf(client);
  const run = fwd.runners[w]!;
  const c = (flags: string) => frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: client, dst: VIP, l4: { proto: 'tcp', sport, dport: 80, flags, seq: 2, ack: 1, payload: flags === 'S' ? [] : [1] } });
  const syn = run.run(c('S'), 0, fwd.now);
  assert.equal(syn.action, A_TX);
  const toRs11 = [...syn.out!.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':') === MAC.rs11;
  const rs = toRs11 ? '198.18.1.11' : '198.18.1.12';
  const rsMac = toRs11 ? MAC.rs11 : MAC.rs12;
  run.run(frame({ dstMac: MAC.eth1, srcMac: rsMac, src: rs, dst: client, l4: { proto: 'tcp', sport: 8080, dport: sport, flags: 'SA', seq: 9, ack: 2 } }), 1, fwd.now);
  run.run(c('A'), 0, fwd.now);
  for (let i = 0; i < extra; i++) run.run(c('PA'), 0, fwd.now);
}

const settle = async (s: SyncSubsystem) => { for (let i = 0; i < 5; i++) { await s.settled(); await new Promise((r) => setImmediate(r)); } };

test('roles as keepalived drives the sync daemons: backup at start, master with the instance, backup again when it leaves MASTER (FAULT too)', async () => {
  const net = new MemorySyncNet();
  const clock = new ManualClock();
  const a = director(net, clock, 'a');
  await a.sync.start(a.model);
  assert.deepEqual(a.roles(), ['backup']);
  a.vrrp('MASTER');
  await settle(a.sync);
  a.vrrp('FAULT', 'MASTER');
  await settle(a.sync);
  a.vrrp('BACKUP', 'FAULT');
  await settle(a.sync);
  assert.deepEqual(a.roles(), ['backup', 'master', 'backup'], 'BACKUP after FAULT changes nothing');
  const ev = a.events.find((e) => e.type === 'sync.role' && e.to === 'master') as Extract<LvsdEvent, { type: 'sync.role' }>;
  assert.deepEqual([ev.from, ev.reason, ev.instance, ev.vrrpState, ev.group, ev.port, ev.syncId], ['backup', 'vrrp', 'VI_1', 'MASTER', '224.0.0.81', 8848, 51]);
  // Another instance's transitions are not ours.
  a.bus.emit({ type: 'vrrp.transition', instance: 'VI_2', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 100, masterAddress: null });
  await settle(a.sync);
  assert.equal(a.sync.status().role, 'backup');
  await a.sync.stop('shutdown');
  assert.deepEqual(a.roles().at(-1), 'off');
  assert.equal(net.receiverCount, 0);
});

test('without an instance both roles run at once (keepalived\'s checker starts IPVS_MASTER_BACKUP)', async () => {
  const net = new MemorySyncNet();
  const a = director(net, new ManualClock(), 'a', { cfg: { ...CFG, instance: null, syncId: 0 } });
  await a.sync.start(a.model);
  assert.deepEqual(a.roles(), ['master+backup']);
  await a.sync.stop('shutdown');
});

test('the MASTER\'s connections reach the BACKUP\'s table: full messages at once, a partial one after 2 s; then the roles swap and sync runs the other way', async () => {
  const net = new MemorySyncNet();
  const clock = new ManualClock();
  const a = director(net, clock, 'a');
  const b = director(net, clock, 'b');
  await a.sync.start(a.model);
  await b.sync.start(b.model);
  a.vrrp('MASTER');
  await settle(a.sync);
  for (let i = 0; i < 5; i++) connect(a.fwd, `198.18.100.${10 + i}`, 40000 + i);
  clock.advance(20);
  assert.equal(net.sent.length, 0, '5 entries: a partial message waits');
  assert.equal(a.sync.status().pendingEntries, 5);
  clock.advance(1960);
  assert.equal(net.sent.length, 0);
  clock.advance(40);
  assert.equal(net.sent.length, 1, 'sent when 2 s old (IPVS_SYNC_FLUSH_TIME)');
  assert.equal(b.fwd.conns(), 5);
  // 100 more: (1472 - 8) / 44 = 33 entries per message (each with the client MAC option).
  for (let i = 0; i < 100; i++) connect(a.fwd, `198.18.101.${i}`, 41000 + i);
  clock.advance(20);
  assert.equal(net.sent.length, 1 + 3, 'three full messages at the next drain');
  clock.advance(2000);
  assert.equal(net.sent.length, 5);
  assert.equal(b.fwd.conns(), 105);
  const sa = a.sync.status();
  const sb = b.sync.status();
  assert.deepEqual([sa.counters.messagesSent, sa.counters.entriesSent], [5, 105]);
  assert.deepEqual([sb.counters.messagesReceived, sb.counters.entriesReceived, sb.workers.conns_inserted], [5, 105, 105]);
  assert.ok(net.sent.every((m) => m.msg.byteLength <= 1472));
  // Failover: b becomes MASTER, a BACKUP (e.g. a came back and lost, or preempted later).
  b.vrrp('MASTER');
  a.vrrp('BACKUP', 'MASTER');
  await settle(a.sync);
  await settle(b.sync);
  assert.equal(a.sync.status().role, 'backup');
  assert.equal(b.sync.status().role, 'master');
  // b's clients keep sending on their synced connections: b reports them at its threshold
  // packet (in_pkts was set to sync_threshold by the sync, so 50 packets later).
  const before = a.fwd.conns();
  connect(b.fwd, '198.18.102.1', 42000);
  clock.advance(2020);
  assert.equal(a.fwd.conns(), before + 1, 'a new connection on b reaches a');
  for (const s of [a.sync, b.sync]) await s.stop('shutdown');
});

test('the BACKUP places each entry in the worker the fanout program sends that client to', async () => {
  const net = new MemorySyncNet();
  const clock = new ManualClock();
  const a = director(net, clock, 'a', { workers: 2 });
  const b = director(net, clock, 'b', { workers: 2 });
  await a.sync.start(a.model);
  await b.sync.start(b.model);
  a.vrrp('MASTER');
  await settle(a.sync);
  const clients = Array.from({ length: 40 }, (_, i) => `198.18.103.${i + 1}`);
  clients.forEach((c, i) => connect(a.fwd, c, 43000 + i));
  clock.advance(2020);
  assert.equal(b.fwd.conns(), 40);
  const perWorker = b.fwd.pipelines.map((p) => p.listConns().map((r) => r.source.split(':')[0]!));
  for (const c of clients) assert.ok(perWorker[b.fwd.workerOf(c)]!.includes(c), `${c} on its worker`);
  assert.ok(perWorker.every((l) => l.length > 0), 'both workers got some');
  for (const s of [a.sync, b.sync]) await s.stop('shutdown');
});

test('received messages: another syncid, garbage and cut messages are counted by reason; a backup with syncid 0 takes every syncid', async () => {
  const net = new MemorySyncNet();
  const clock = new ManualClock();
  const a = director(net, clock, 'a');
  const b = director(net, clock, 'b', { cfg: { ...CFG, syncId: 52 } });
  const c = director(net, clock, 'c', { cfg: { ...CFG, syncId: 0 } });
  for (const d of [a, b, c]) await d.sync.start(d.model);
  a.vrrp('MASTER');
  await settle(a.sync);
  connect(a.fwd, '198.18.104.1', 44000);
  clock.advance(2020);
  const sb: SyncStatus = b.sync.status();
  assert.equal(sb.dropped.syncid, 1);
  assert.equal(b.fwd.conns(), 0);
  assert.equal(c.fwd.conns(), 1, 'syncid 0 accepts all (ip_vs_process_message)');
  const sender = await net.port('x').openSender({ interface: 'eth1', family: 'ipv4', group: '224.0.0.81', port: 8848, ttl: 1 }, () => {});
  sender.send(Uint8Array.of(1, 2));
  sender.send(Uint8Array.of(0, 0, 0, 44, 1, 1, 0, 0));
  assert.deepEqual([c.sync.status().dropped.header_short, c.sync.status().dropped.bad_size], [1, 1]);
  for (const d of [a, b, c]) await d.sync.stop('shutdown');
});

test('a reload that changes lvs_sync_daemon restarts the roles with the new settings; one that removes it stops sync', async () => {
  const net = new MemorySyncNet();
  const clock = new ManualClock();
  const a = director(net, clock, 'a');
  await a.sync.start(a.model);
  const changes = {} as ChangeSet;
  await a.sync.apply(model({ ...CFG, port: 8850 }), changes);
  assert.deepEqual(a.roles(), ['backup', 'off', 'backup']);
  assert.equal(a.sync.status().port, 8850);
  await a.sync.apply(model(null), changes);
  assert.deepEqual(a.roles().at(-1), 'off');
  assert.equal(a.sync.status().configured, false);
  assert.equal(a.fwd.syncs.every((s) => s === null), true, 'workers told: sync off');
  await a.sync.stop('shutdown');
});
